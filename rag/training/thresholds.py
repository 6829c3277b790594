"""The thresholds of the answer score, chosen on held-out rows: refuse below the highest
probability that keeps false refusals within a budget; show the reader's span as a short answer at
the lowest span score that keeps shown spans right often enough."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rag.answer.scoring import FEATURES, Scorer, never_answers


def stage1_probabilities(scorer: Scorer, rows: list[dict]) -> list[np.ndarray]:
    """Each row's first-stage probabilities, headings at 0 as in ``score_candidates``."""
    out = []
    for r in rows:
        p = scorer.probability(r["x"]) if len(r["x"]) else np.zeros(0)
        if len(r["x"]):
            p = np.where([never_answers(row) for row in r["x"]], 0.0, p)
        out.append(p)
    return out


class Top(NamedTuple):
    """One question's best sentence, as threshold choice sees it."""

    kind: str
    p: float  # its final probability
    right: bool  # it contains a gold answer
    span_right: bool  # its reader span contains a gold answer
    span_words: int
    span_score: float  # the reader span's start + end logit
    short_gold: bool  # some gold answer is short (rag.evaluation.squad_open.has_short_gold)


def best_sentences(probs: list[np.ndarray], rows: list[dict]) -> list[Top]:
    out = []
    for p, r in zip(probs, rows, strict=True):
        if len(r["x"]) == 0:
            out.append(Top(r["kind"], 0.0, False, False, 0, -np.inf, False))
            continue
        i = int(np.argmax(p))
        out.append(
            Top(
                r["kind"],
                float(p[i]),
                bool(r["y"][i]),
                bool(r["span_hit"][i]),
                int(r["words"][i]),
                float(r["x"][i][FEATURES.index("reader_span")]),
                bool(r["short_gold"]),
            )
        )
    return out


def choose_thresholds(
    probs: list[np.ndarray], rows: list[dict], max_false: float, short_precision: float, max_short_words: int
) -> dict:
    """The refusal threshold (false refusals within ``max_false``) and the short-answer
    threshold, given each row's final candidate probabilities."""
    top = best_sentences(probs, rows)
    ans = [t for t in top if t.kind == "answerable"]
    best = sorted(t.p for t in ans)
    k = int(np.floor(max_false * len(best)))
    refuse_below = best[k] - 1e-9 if k < len(best) else best[-1]
    refuse_below = float(max(refuse_below, 0.0))
    answered = [t for t in ans if t.p >= refuse_below]
    # The precision of a shown span is judged where "contains the gold answer" can judge it: on
    # questions with a short gold answer (a span of a few words cannot contain a gold clause).
    eligible = [t for t in answered if 0 < t.span_words <= max_short_words and t.short_gold]
    short_above, hits = float("inf"), 0
    for n, t in enumerate(sorted(eligible, key=lambda t: -t.span_score), 1):  # the lowest that keeps the precision
        hits += t.span_right
        if hits / n >= short_precision:
            short_above = t.span_score

    def rate(kind: str) -> float:
        xs = [t.p < refuse_below for t in top if t.kind == kind]
        return round(100 * sum(xs) / max(1, len(xs)), 1)

    short_gold = [t for t in answered if t.short_gold]
    return {
        "refuse_below": refuse_below,
        "short_above": short_above,
        "calibration": {
            "false_refusals": rate("answerable"),
            "refused_other_title": rate("other_title"),
            "refused_near_miss": rate("near_miss"),
            "sentence_p@1": round(100 * np.mean([t.right for t in ans]), 1),
            "short_shown_when_gold_short": round(
                100
                * np.mean([0 < t.span_words <= max_short_words and t.span_score >= short_above for t in short_gold]),
                1,
            ),
        },
    }
