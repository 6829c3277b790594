"""Follow-up questions made standalone for retrieval (rag/rewriting.py)."""

from __future__ import annotations

from rag.rewriting import is_followup, rewrite_followup

HISTORY = [
    {"role": "user", "content": "Which treaty anchors the alliance?"},
    {"role": "assistant", "content": "The 1951 Treaty of San Francisco [1]."},
]


def test_a_pronoun_question_carries_the_last_turn_without_markers() -> None:
    q = rewrite_followup("When was it signed?", HISTORY)
    assert q.startswith("When was it signed?") and "Treaty of San Francisco" in q and "[1]" not in q


def test_a_question_that_stands_alone_is_left_as_typed() -> None:
    assert rewrite_followup("How many missiles will Japan buy?", HISTORY) == "How many missiles will Japan buy?"
    assert rewrite_followup("When was it signed?", None) == "When was it signed?"
    assert is_followup("And Korea?", HISTORY) and not is_followup("And Korea?", [])
