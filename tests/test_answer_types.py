"""Question and span typing with the packaged spaCy pipeline (rag/answer_types.py)."""

from __future__ import annotations

from rag.answer_types import AGENT, NUMBER, TIME, UNKNOWN, question_type, type_features


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
