"""Question analysis (rag/answer/analysis.py): one pass decides how a question is answered."""

from __future__ import annotations

import pytest

from rag.answer.analysis import QuestionAnalyzer
from rag.answer.questions import InvalidQuestion

ANALYZER = QuestionAnalyzer(max_question_chars=2000, decomposes=True)


def test_a_question_about_an_article_itself_goes_to_its_byline() -> None:
    a = ANALYZER.run("Who wrote the story about the port strike?", None)
    assert a.about == "author" and a.parts == [a.question] and a.link is None


def test_a_question_asking_two_things_is_split() -> None:
    a = ANALYZER.run("When was the bridge opened and who designed it?", None)
    assert a.parts == ["When was the bridge opened?", "Who designed it?"] and a.about is None


def test_a_subject_named_by_a_clause_is_bridged_only_when_decomposing() -> None:
    question = "Who heads the agency whose report criticised the plan?"
    bridged = ANALYZER.run(question, None)
    assert bridged.link is not None and bridged.link.inner == "Which agency's report criticised the plan?"
    whole = QuestionAnalyzer(2000, decomposes=False).run(question, None)
    assert whole.link is None and whole.parts == [question]
    assert QuestionAnalyzer(2000, decomposes=False).run(
        "When was the bridge opened and who designed it?", None
    ).parts == ["When was the bridge opened and who designed it?"]


def test_the_question_and_conversation_are_checked_first() -> None:
    a = ANALYZER.run("  When did the talks end?  ", [{"role": "user", "content": ["Talks", "began"]}])
    assert a.question == "When did the talks end?"
    assert a.history == [{"role": "user", "content": "Talks began"}]
    for bad in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidQuestion):
            ANALYZER.run(bad, None)
    with pytest.raises(InvalidQuestion, match="top_k"):
        ANALYZER.run("When did the talks end?", None, top_k=0)
