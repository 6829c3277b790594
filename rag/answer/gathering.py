"""Evidence for one question: retrieval, the passages' candidate sentences, and (with the reader)
their calibrated answer scores, best first.

A follow-up is tried both as asked and with the conversation's words added; the reading whose
best sentence scores higher is kept. An ordinal pointing into the last answer's list ("the second
one") is replaced by the item first, in both readings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rag.answer.evidence import Evidence, Grounder
from rag.answer.retrieval import Retriever
from rag.answer.rewriting import standalone
from rag.answer.scoring import Scorer, score_candidates
from rag.models.reader import Reader


@dataclass
class Gatherer:
    """Built for the live index (its retriever and term statistics), so it is made per question."""

    retriever: Retriever
    grounder: Grounder
    reader: Reader | None
    scorer: Scorer | None
    top_k: int

    def run(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
        clock: dict[str, float] | None = None,
    ) -> Evidence:
        """``clock`` gains the seconds of each stage (retrieval, grounding, reading), so a
        benchmark can say where an answer's time goes."""
        clock = {} if clock is None else clock
        asked, query = standalone(question, history)
        tries = [query] if query == asked or self.reader is None else [asked, query]
        best: Evidence | None = None
        for q in tries:
            t = time.perf_counter()
            passages = self.retriever.retrieve(q, top_k or self.top_k, exclude=exclude)
            t = lap(clock, "retrieval", t)
            cands = self.grounder.candidates(q, passages, asked=asked)
            t = lap(clock, "grounding", t)
            if self.reader is not None and self.scorer is not None:
                cands = score_candidates(self.reader, self.scorer, q, cands, passages)
            lap(clock, "reading", t)
            ev = Evidence(question, q, passages, cands)
            if best is None or ev.support > best.support:
                best = ev
        assert best is not None
        return best


def lap(clock: dict[str, float], stage: str, since: float) -> float:
    """Adds the seconds since ``since`` to ``clock[stage]``; returns now."""
    now = time.perf_counter()
    clock[stage] = clock.get(stage, 0.0) + now - since
    return now
