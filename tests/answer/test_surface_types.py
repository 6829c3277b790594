"""The wording-based answer kinds of the no-reader and draft-checking paths (rag/answer/surface_types.py)."""

from __future__ import annotations

from rag.answer.surface_types import answer_type, has_answer_type


def test_question_wording_gives_the_kind_of_answer() -> None:
    assert answer_type("How many missiles will Japan buy?") == "number"
    assert answer_type("When did the talks begin?") == "time"
    assert answer_type("What percentage of GDP goes to defense?") == "percent"
    assert answer_type("Where is the base?") == "place"
    assert answer_type("Why does the alliance matter?") is None


def test_a_sentence_has_the_kind_only_beyond_the_question_s_own_words() -> None:
    q = "How many missiles will Japan buy in 2026?"
    assert has_answer_type("number", "Japan will buy 120 missiles.", q)
    assert not has_answer_type("number", "Japan will buy missiles in 2026.", q)  # only the question's number
    assert has_answer_type("percent", "Spending rose by 18% last year.", "By what percent did it rise?")
    assert not has_answer_type("percent", "Spending rose sharply.", "By what percent did it rise?")
    assert has_answer_type(None, "Anything at all.", "Why?")
