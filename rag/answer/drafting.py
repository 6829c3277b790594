"""A generated answer: the model drafts from the best evidence, the draft streams as it is written,
and only the sentences the cited passages support are kept (nothing left: the best sentence is
quoted instead). Drafting stops as soon as the rest could only be dropped."""

from __future__ import annotations

import time
from collections import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answer.assembly import AnswerBuilder, first_paragraph
from rag.answer.evidence import Evidence
from rag.answer.prompting import draft_evidence, fit_messages, prompt_excerpts
from rag.answer.verification import DraftWatch, Verifier
from rag.models.generation import Generator
from rag.types import Answer

if TYPE_CHECKING:
    from rag.models.batching import Ticket


@dataclass
class Drafter:
    generator: Generator
    verifier: Verifier
    answers: AnswerBuilder
    min_support: float
    focus_margin: float
    max_prompt_tokens: int | None = None

    def run(
        self, ev: Evidence, ticket: Ticket | None, timings: dict[str, float], t0: float
    ) -> abc.Generator[str, None, Answer]:
        """Yields the draft's pieces, then returns the verified answer; ``timings`` gains
        first_token and draft."""
        t1 = time.perf_counter()
        draft = ""
        first_token: float | None = None
        watch = self.watch(ev)
        pieces = self.generator.stream(self.prompt(ev), ticket=ticket)
        try:
            for piece in pieces:
                if first_token is None:
                    first_token = time.perf_counter()
                draft += piece
                yield piece
                if "\n\n" in draft or watch.check(first_paragraph(draft)):
                    break  # one paragraph is all we asked for / the rest would be dropped
        finally:
            pieces.close()  # stops the model now, not at max_new_tokens
        if first_token is not None:
            timings["first_token"] = first_token - t0
        timings["draft"] = time.perf_counter() - t1
        if watch.stopped:
            notes = [watch.reason] if watch.reason else []
            return self.verified(ev, draft, checkable=watch.complete_text, notes=notes)
        return self.verified(ev, draft)

    def prompt(self, ev: Evidence) -> list[dict]:
        excerpts = prompt_excerpts(ev, self.min_support)
        return fit_messages(self.generator, ev.query, excerpts, self.max_prompt_tokens)

    def _evidence(self, ev: Evidence) -> tuple[list[int], list[str], list[list[tuple[int, int]]]]:
        return draft_evidence(ev, self.min_support, self.focus_margin)

    def watch(self, ev: Evidence) -> DraftWatch:
        _, texts, focus = self._evidence(ev)
        return DraftWatch(self.verifier, ev.query, texts, focus, asked=ev.question)

    def verified(
        self, ev: Evidence, draft: str, checkable: str | None = None, notes: list[str] | None = None
    ) -> Answer:
        """Keep the draft sentences the passages support. ``checkable`` is the part of the draft
        to verify when drafting was stopped early (its finished sentences)."""
        prompt_idx, texts, focus = self._evidence(ev)
        to_check = first_paragraph(draft) if checkable is None else checkable
        verdicts = self.verifier.verify(to_check, ev.query, texts, focus, asked=ev.question)
        return self.answers.verified(ev, draft, verdicts, prompt_idx, notes or [])
