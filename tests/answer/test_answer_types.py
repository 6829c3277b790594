"""Question and span typing with the packaged spaCy pipeline (rag/answer/answer_types.py)."""

from __future__ import annotations

from rag.answer.answer_types import AGENT, MONEY, NUMBER, TIME, UNKNOWN, question_type, states_an_amount, type_features


def test_question_words_give_the_expected_entity_labels() -> None:
    assert question_type("How many votes did the candidate win?").labels == NUMBER
    assert question_type("How many votes did the candidate win?").counted == "votes"
    assert question_type("When was the treaty signed?").labels == TIME
    assert question_type("Who leads the ministry?").labels == AGENT
    assert question_type("What year did the war end?").labels == TIME
    assert question_type("What does the agreement cover?").labels is None  # not guessed from a word list


def test_a_number_must_count_what_the_question_counts() -> None:
    q = question_type("How many votes did the ruling party win?")
    s1 = "Article 9 of the constitution renounces war."
    s2 = "The ruling party won 412 votes in the lower house."
    a1, a2 = s1.index("9"), s2.index("412")
    (m1, c1), (m2, c2) = type_features(q, [s1, s2], [(a1 - 8, a1 + 1), (a2, a2 + 3)])
    assert c1 == 0.0 and (m2, c2) == (1.0, 1.0)


def test_untyped_questions_and_missing_spans_are_told_apart() -> None:
    assert type_features(question_type("What does it cover?"), ["It covers trade."], [(0, 2)]) == [(UNKNOWN, UNKNOWN)]
    assert type_features(question_type("When did it start?"), ["It started."], [None]) == [(0.0, UNKNOWN)]


def test_only_the_asking_wh_word_types_a_question() -> None:
    """A "when" or "who" that opens a relative or adverbial clause is not what the question asks."""
    assert question_type("What was the minister accused of when she resigned?").labels is None
    assert question_type("What should a manager do for staff who are late?").labels is None
    assert question_type("Who was mayor when the bridge opened?").labels == AGENT
    assert question_type("When the bridge opened, who was mayor?").labels == AGENT


def test_paying_and_currencies_ask_for_money() -> None:
    assert question_type("How much did the city pay for the new trams?").labels == MONEY
    assert question_type("How large is the rescue package in euros?").labels == MONEY
    assert question_type("How much of the forest has been cleared?").labels == NUMBER
    assert states_an_amount("The trams cost the city $240 million.")
    assert not states_an_amount("The city bought 40 new trams.")


def test_who_is_not_answered_by_a_name_the_question_gives() -> None:
    q = question_type("Who did Maria Lopez meet in Lisbon?")
    s = "Maria Lopez met Carlos Silva in Lisbon."
    (own,), (other,) = type_features(q, [s], [(0, 11)]), type_features(q, [s], [(16, 28)])
    assert own[0] == 0.0 and other[0] == 1.0


def test_how_long_is_answered_by_a_length_of_time_not_a_day_on_the_calendar() -> None:
    q = question_type("How long had the minister been in office when the talks began?")
    assert q.duration and q.labels is not None and TIME <= q.labels
    sents = ["She had taken office one week earlier.", "The talks began on October 28th.", "It has run since 2001."]
    spans = [
        (s.index(w), s.index(w) + len(w)) for s, w in zip(sents, ("one week", "October 28th", "2001"), strict=True)
    ]
    assert [m for m, _ in type_features(q, sents, spans)] == [1.0, 0.0, 1.0]


def test_how_many_weeks_counts_units_of_time() -> None:
    """spaCy labels "2 weeks" DATE, not CARDINAL: a count of a time unit must still match."""
    q = question_type("How many weeks does the festival run each year?")
    assert q.counted == "weeks" and q.duration
    s = "The festival runs for 2 weeks each year."
    assert type_features(q, [s], [(s.index("2"), s.index("2") + 7)]) == [(1.0, 1.0)]
    assert not question_type("How many votes did the candidate win?").duration
