"""Question analysis, once per question: the checked question and conversation, and which way it
is answered — about an article itself (its byline or date), part by part ("…, and who …?"), in
two steps through a name it implies ("Who runs the company that …?"), or whole."""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer.bylines import metadata_field
from rag.answer.decompose import Bridge, bridge, split_question
from rag.answer.questions import InvalidQuestion, check_history, check_question


@dataclass(frozen=True)
class Analysis:
    question: str
    history: list[dict] | None
    parts: list[str]  # [question] unless it asks two things
    about: str | None = None  # "author" / "date": a question about the article itself
    link: Bridge | None = None  # a two-step question (tried first; answered whole if a step fails)
    top_k: int | None = None
    exclude: set[str] | None = None


@dataclass
class QuestionAnalyzer:
    max_question_chars: int
    decomposes: bool  # split and bridge questions (needs the reader and ``multipart`` on)

    def run(
        self, question: str, history: list[dict] | None, top_k: int | None = None, exclude: set[str] | None = None
    ) -> Analysis:
        question = check_question(question, self.max_question_chars)
        history = check_history(history)
        if top_k is not None and (not isinstance(top_k, int) or not 1 <= top_k <= 100):
            raise InvalidQuestion(f"top_k must be a whole number from 1 to 100, not {top_k!r}")
        parts = split_question(question) if self.decomposes else [question]
        if len(parts) == 1 and (about := metadata_field(question)) is not None:
            return Analysis(question, history, parts, about=about, top_k=top_k, exclude=exclude)
        if len(parts) == 1 and self.decomposes:
            link = bridge(question)
            return Analysis(question, history, parts, link=link, top_k=top_k, exclude=exclude)
        return Analysis(question, history, parts, top_k=top_k, exclude=exclude)
