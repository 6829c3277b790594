"""Input checks before retrieval (rag/answer/questions.py): clear errors, nothing cut silently."""

from __future__ import annotations

import pytest

from rag.answer.questions import InvalidQuestion, check_history, check_question


def test_questions_are_cleaned_or_refused_with_the_reason() -> None:
    assert check_question("  How many\x00 missiles?\n", 100) == "How many missiles?"
    for bad, why in ((None, "text"), ("   ", "empty"), ("?!", "no words"), ("x" * 101, "101 characters")):
        with pytest.raises(InvalidQuestion, match=why):
            check_question(bad, 100)


def test_history_turns_are_checked_and_list_content_joined() -> None:
    turns = check_history([{"role": "user", "content": [{"text": "Which"}, "treaty?"]}])
    assert turns == [{"role": "user", "content": "Which treaty?"}]
    assert check_history([]) is None and check_history(None) is None
    with pytest.raises(InvalidQuestion, match="turn 0"):
        check_history([{"role": "robot", "content": "hi"}])
    with pytest.raises(InvalidQuestion, match="list"):
        check_history("hello")


def test_pictographs_leave_the_question_and_meaningful_signs_stay() -> None:
    assert check_question("By how much 🚀 has spending risen? 🌏", 100) == "By how much has spending risen?"
    assert check_question("Was it 30°C, €5 or ©2024 👨\u200d👩\u200d👧?", 100) == "Was it 30°C, €5 or ©2024 ?"
