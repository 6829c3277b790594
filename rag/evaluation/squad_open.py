"""The open-setting SQuAD evaluation: ``rag eval --squad PATH`` (test titles) and the data the
answer scorer is fitted and calibrated on (``rag.training.scorer``).

The index holds the paragraphs of every *indexed* title of the committed split (one file per
paragraph). For one part of the split it asks three kinds of question:

- answerable: questions of the part's indexed titles;
- other-title: questions of the part's held-out titles (nothing in the index answers them);
- near-miss: answerable questions asked with every paragraph holding their answer excluded from
  retrieval, the way an article collection that is *about* the subject can still lack the fact;
- swapped-entity (reported, never fitted on): an answerable question with its main named entity
  replaced by another one of the same title (``rag.evaluation.squad.entity_swaps``), the near miss of a news
  archive: the passage that answered the original question is still there, about someone else.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.evaluation.metrics import norm
from rag.evaluation.squad import (
    SquadQuestion,
    answer_sources,
    entity_swaps,
    indexed_titles,
    iter_part,
    load_split,
    load_squad,
    sample,
    write_corpus,
)
from rag.types import Answer

KINDS = ("answerable", "other_title", "near_miss", "swapped")

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


@dataclass
class Case:
    kind: str
    q: SquadQuestion
    exclude: set[str] = field(default_factory=set)  # sources retrieval may not return
    gold: set[str] = field(default_factory=set)  # paragraphs that hold the answer
    asked: str = ""  # what is asked, when it is not the SQuAD question itself (swapped entity)

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"

    @property
    def question(self) -> str:
        return self.asked or self.q.question


def open_pipeline(squad: Path, work_dir: Path, show_progress: bool = False, **overrides: object) -> Pipeline:
    """A pipeline over the open-setting corpus (built once under ``work_dir``, then reused)."""
    from rag.pipeline import Pipeline

    titles = load_squad(squad)
    docs = write_corpus(titles, indexed_titles(load_split()), Path(work_dir) / "docs")
    overrides.setdefault("generator", "none")
    pipe = Pipeline(None, None, docs_dir=docs, index_dir=Path(work_dir) / "index", **overrides)
    pipe.sync(show_progress=show_progress)
    return pipe


def make_cases(squad: Path, part: str, n: int, seed: int = 0, swapped: bool = False) -> list[Case]:
    """``n`` questions of each kind from one part of the split (all when ``n`` is 0); the
    swapped-entity kind only when asked for (reported on the test titles; on the fusion and
    calibration titles, negatives of the answer-or-decline decision, ``rag.training.scorer``)."""
    titles = load_squad(squad)
    split = load_split()
    indexed = list(iter_part(titles, split, part, "indexed"))
    held = list(iter_part(titles, split, part, "held_out"))
    cases = [Case("answerable", q, gold=answer_sources(q, titles[q.title])) for q in sample(indexed, n, seed)]
    cases += [Case("other_title", q) for q in sample(held, n, seed + 1)]
    cases += [Case("near_miss", q, answer_sources(q, titles[q.title])) for q in sample(indexed, n, seed + 2)]
    if swapped:
        cases += [Case("swapped", q, asked=asked) for q, asked in entity_swaps(indexed, n or len(indexed), seed + 3)]
    return cases


SHORT_GOLD_WORDS = 4  # the "short" gold answer: a bold span is expected for these


def has_short_gold(answers: list[str]) -> bool:
    """Is some gold answer short enough that a bold span should give it? For longer ones (a reason,
    a clause), "the span contains the gold answer" cannot measure a span's precision."""
    return min(len(a.split()) for a in answers) <= SHORT_GOLD_WORDS


def contains_gold(text: str, answers: list[str]) -> bool:
    t = norm(text)
    return any(norm(a) and norm(a) in t for a in answers)


def judge(case: Case, ans: Answer, seconds: float) -> dict:
    """One row of figures for one answer."""
    row: dict = {"id": case.q.id, "kind": case.kind, "refused": ans.abstained, "seconds": seconds}
    row["answer"] = ans.plain_text
    row["cited"] = [[c.source, c.start, c.end] for c in ans.citations]
    if case.kind == "swapped":
        row["asked"] = case.question
    if not case.answerable:
        return row
    golds = case.q.answers
    gold_sources = case.gold or {case.q.source}
    row["sentence_hit"] = contains_gold(ans.best_sentence, golds)
    row["correct"] = not ans.abstained and contains_gold(ans.plain_text, golds)
    row["cited_gold"] = not ans.abstained and any(c.source in gold_sources for c in ans.citations)
    row["words"] = len(ans.plain_text.split()) if not ans.abstained else None
    row["short_gold"] = has_short_gold(golds)
    row["short_shown"] = ans.short_answer is not None
    row["short_hit"] = ans.short_answer is not None and contains_gold(ans.short_answer, golds)
    row["generated"] = any(s.kind == "generated" for s in ans.sentences)
    return row


def summarize(rows: list[dict]) -> dict:
    def pct(xs: list[bool]) -> float | None:
        return round(100 * sum(xs) / len(xs), 1) if xs else None

    ans = [r for r in rows if r["kind"] == "answerable"]
    answered = [r for r in ans if not r["refused"]]
    short_gold = [r for r in answered if r["short_gold"]]
    shown = [r for r in short_gold if r["short_shown"]]
    secs = sorted(r["seconds"] for r in rows)
    return {
        "answerable": len(ans),
        "sentence_p@1": pct([r["sentence_hit"] for r in ans]),
        "accuracy": pct([r["correct"] for r in ans]),
        "gold_paragraph_cited": pct([r["cited_gold"] for r in ans]),
        "false_refusals": pct([r["refused"] for r in ans]),
        "refused_other_title": pct([r["refused"] for r in rows if r["kind"] == "other_title"]),
        "refused_near_miss": pct([r["refused"] for r in rows if r["kind"] == "near_miss"]),
        "refused_swapped_entity": pct([r["refused"] for r in rows if r["kind"] == "swapped"]),
        "median_answer_words": statistics.median([r["words"] for r in answered]) if answered else None,
        "short_shown_when_gold_short": pct([r["short_shown"] for r in short_gold]),
        "short_contains_gold": pct([r["short_hit"] for r in shown]),
        "generated_verified": pct([r["generated"] for r in answered]),
        "p50_s": round(secs[len(secs) // 2], 3) if secs else None,
    }


def run(
    pipe: Pipeline, cases: list[Case], progress: Callable[[int, int], None] | None = None
) -> tuple[dict, list[dict]]:
    rows = []
    for i, case in enumerate(cases):
        t0 = time.perf_counter()
        ans = pipe.query(case.question, exclude=case.exclude or None)
        rows.append(judge(case, ans, time.perf_counter() - t0))
        if progress:
            progress(i + 1, len(cases))
    return summarize(rows), rows


def run_followups(pipe: Pipeline, pairs: list, with_history: bool = True) -> dict:
    """Accuracy on SQuAD follow-ups (``rag.evaluation.squad.followup_pairs``): the pronoun question, asked
    with the first question and its answer sentence as history (or, as a baseline, without)."""
    correct = cited = refused = 0
    for f in pairs:
        ans = pipe.query(f.asked, history=f.history if with_history else None)
        ok = not ans.abstained and contains_gold(ans.plain_text, f.second.answers)
        correct += ok
        refused += ans.abstained
        cited += not ans.abstained and any(c.source == f.second.source for c in ans.citations)
    n = max(1, len(pairs))
    return {
        "followups": len(pairs),
        "accuracy": round(100 * correct / n, 1),
        "gold_paragraph_cited": round(100 * cited / n, 1),
        "refused": round(100 * refused / n, 1),
    }


def run_multipart(pipe: Pipeline, pairs: list) -> dict:
    """Two-part questions (``rag.evaluation.squad.multipart_pairs``): how often the answer holds both gold
    answers, each part's, and cites both gold paragraphs."""
    both = parts = cited = refused = 0
    for m in pairs:
        ans = pipe.query(m.asked)
        hits = [not ans.abstained and contains_gold(ans.plain_text, q.answers) for q in (m.first, m.second)]
        both += all(hits)
        parts += sum(hits)
        refused += ans.abstained
        sources = {c.source for c in ans.citations} if not ans.abstained else set()
        cited += m.first.source in sources and m.second.source in sources
    n = max(1, len(pairs))
    return {
        "questions": len(pairs),
        "both_parts_right": round(100 * both / n, 1),
        "parts_right": round(100 * parts / (2 * n), 1),
        "both_gold_paragraphs_cited": round(100 * cited / n, 1),
        "refused": round(100 * refused / n, 1),
    }
