"""Fit the answer scorer: ``python -m rag.training.scorer [--squad PATH]``.

1. On the SQuAD ``fusion`` titles (never seen by the reader): every candidate sentence of every
   question becomes a row of ``rag.answer.scoring.FEATURES``; it is labelled 1 when the question is
   answerable and the sentence contains a gold answer, else 0 (other-title and near-miss
   questions give only 0s). A logistic regression is fitted on these rows.
2. On the ``calibration`` titles: the refusal threshold is the highest one whose false refusals
   on answerable questions stay within ``--max-false-refusals``; the short-answer threshold is
   the lowest reader span score (start + end logit) at which shown spans contain the gold answer at least
   ``--short-precision`` of the time, judged on the questions whose gold answer is short enough
   (``rag.evaluation.squad_open.SHORT_GOLD_WORDS``) for a few-word span to contain it.
3. The answer-or-decline decision (``rag.answer.scoring.Decision``): the best sentence's probability,
   whether it names another entity where the question names one its passage lacks
   (``rag.answer.entity_conflict``), and the reader's span logit in it, fitted on the fusion titles with
   entity-swapped questions among the negatives; its threshold on the calibration titles at the
   same false-refusal rate.
The result is written to ``rag/data/answer_scorer.json`` with these figures beside it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.scoring import (
    FEATURES,
    SCORER_FILE,
    Decision,
    Scorer,
    fit,
)
from rag.evaluation.squad import load_split, part_titles
from rag.settings import default_cache_dir
from rag.training.reader import DEFAULT_SQUAD, reader_titles
from rag.training.scorer_rows import news_parts, squad_fusion_rows, squad_rows
from rag.training.thresholds import choose_thresholds, stage1_probabilities

if TYPE_CHECKING:
    pass

log = logging.getLogger("rag.training.scorer")


def fit_decision(scorer: Scorer, fusion: list[dict], calib: list[dict], a: argparse.Namespace) -> Decision:
    """Answer or decline from the best sentence's probability and its entity conflict: fitted on
    the fusion titles (swapped-entity questions among the negatives), threshold on calibration at
    the scorer's false-refusal rate."""
    from sklearn.linear_model import LogisticRegression

    def tops(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        p, c, x, y, kinds = [], [], [], [], []
        for probs, r in zip(stage1_probabilities(scorer, rows), rows, strict=True):
            i = int(np.argmax(probs)) if len(probs) else -1
            p.append(float(probs[i]) if i >= 0 else 0.0)
            c.append(bool(r["conflict"][i]) if i >= 0 else False)
            x.append(r["x"][i] if i >= 0 else np.zeros(len(FEATURES)))
            y.append(r["kind"] == "answerable" and i >= 0 and bool(r["y"][i]))
            kinds.append(r["kind"])
        return np.array(p), np.array(c), np.array(x), np.array(y), kinds

    decision = Decision([], 0.0, 0.5, extras=[f for f in a.decision_extras.split(",") if f])
    p, c, x, y, _ = tops(fusion)
    lr = LogisticRegression(C=a.c, max_iter=2000).fit(decision.features(p, c, x), y)
    decision.weights, decision.bias = lr.coef_[0].tolist(), float(lr.intercept_[0])
    p, c, x, _, kinds = tops(calib)
    d = decision.probability(p, c, x)
    answerable = np.sort(d[[k == "answerable" for k in kinds]])
    k = int(np.floor(a.max_false_refusals * len(answerable)))
    decision.refuse_below = float(max(answerable[min(k, len(answerable) - 1)] - 1e-9, 0.0))

    def rate(kind: str, declined: np.ndarray) -> float:
        xs = [bool(x) for x, kk in zip(declined, kinds, strict=True) if kk == kind]
        return round(100 * sum(xs) / max(1, len(xs)), 1)

    with_decision = d < decision.refuse_below
    without = p < scorer.refuse_below
    scorer.info["decision"] = {
        "fitted_on": "fusion titles, with swapped-entity questions",
        "extras": decision.extras,
        "rows": len(y),
        "conflicts_among_answerable_tops": round(100 * float(np.mean(c[[kk == "answerable" for kk in kinds]])), 1),
        **{
            f"{name}_{kind}": rate(kind, declined)
            for name, declined in (("declined", with_decision), ("before", without))
            for kind in ("answerable", "other_title", "near_miss", "swapped")
        },
    }
    return decision


def fit_on_news(a: argparse.Namespace) -> None:
    """The scorer fitted on the news fit clusters (and the SQuAD fusion titles with --with-squad),
    its thresholds and its answer-or-decline decision chosen on the news calibration clusters."""
    news_rows, cal_rows = news_parts(a)
    fit_rows = news_rows + squad_fusion_rows(a) if a.with_squad else news_rows
    rows = [r for r in fit_rows if len(r["x"])]
    x, y = np.concatenate([r["x"] for r in rows]), np.concatenate([r["y"] for r in rows])
    drop = {f for f in a.without.split(",") if f}
    scorer = fit(x, y, a.c, [f for f in FEATURES if f not in drop])
    from rag.settings import default

    max_short_words = default("max_short_words")
    chosen = choose_thresholds(
        stage1_probabilities(scorer, cal_rows), cal_rows, a.max_false_refusals, a.short_precision, max_short_words
    )
    scorer.refuse_below, scorer.short_above = chosen["refuse_below"], chosen["short_above"]
    scorer.info = {
        "fitted_on": "news fit clusters (rag/data/news_split.json)"
        + (" and SQuAD v1.1 dev fusion titles (rag/data/squad_split.json)" if a.with_squad else ""),
        "rows": len(y),
        "positives": int(y.sum()),
        "thresholds_on": "news calibration clusters",
        "top_k": default("top_k"),
        "max_false_refusals": a.max_false_refusals,
        "short_precision": a.short_precision,
        **chosen["calibration"],
    }
    on_squad = a.with_squad and a.decision_with_squad
    scorer.decision = fit_decision(scorer, fit_rows if on_squad else news_rows, cal_rows, a)
    scorer.info["decision"]["fitted_on"] = "news fit clusters" + (" and SQuAD fusion titles" if on_squad else "")
    scorer.save(a.out)
    print({k: v for k, v in scorer.to_json().items() if k not in ("mean", "scale")})


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--work", type=Path, default=default_cache_dir() / "squad-open")
    ap.add_argument("--n", type=int, default=0, help="questions of each kind per part (0 = all)")
    ap.add_argument("--max-false-refusals", type=float, default=0.04)
    ap.add_argument("--short-precision", type=float, default=0.70)
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularization strength")
    ap.add_argument("--without", default="", help="comma-separated features to leave out (ablation)")
    ap.add_argument("--out", type=Path, default=SCORER_FILE)
    ap.add_argument("--reuse", action="store_true", help="reuse the rows gathered by the last run (refits in seconds)")
    ap.add_argument("--reader", default="packaged", help="the reader whose outputs are fused (a folder, or packaged)")
    ap.add_argument(
        "--fusion-reader",
        default="",
        help="the reader whose outputs the fusion rows hold (default: --reader). Needed when --reader was "
        "trained on the fusion titles too: their rows must come from a reader that never saw them",
    )
    ap.add_argument(
        "--decision-extras",
        default="reader_span",
        help="comma-separated FEATURES of the best sentence the answer-or-decline decision weighs too",
    )
    ap.add_argument(
        "--news",
        type=Path,
        default=None,
        help="a news collection (../shared/eval/news): fit on its fit clusters, thresholds on its calibration "
        "clusters (rag/data/news_split.json)",
    )
    ap.add_argument(
        "--with-squad",
        action="store_true",
        help="with --news: the SQuAD fusion rows of the last SQuAD run (--work) are fitted on too",
    )
    ap.add_argument(
        "--decision-with-squad",
        action="store_true",
        help="with --news --with-squad: the answer-or-decline decision is fitted on the SQuAD rows too",
    )
    return ap.parse_args()


def main() -> None:
    a = parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    if a.news is not None:
        return fit_on_news(a)
    fusion_reader = a.fusion_reader or a.reader
    trained_on = reader_titles(a.reader) & set(part_titles(load_split(), "fusion"))
    if fusion_reader == a.reader and trained_on:
        raise SystemExit(
            f"the reader {a.reader!r} was trained on fusion titles ({', '.join(sorted(trained_on))}): "
            "pass --fusion-reader, a reader trained without them (python -m rag.training.reader --parts reader --out DIR)"
        )
    fusion, calib, swapped, max_short_words, top_k = squad_rows(a, fusion_reader)
    x = np.concatenate([r["x"] for r in fusion if len(r["x"])])
    y = np.concatenate([r["y"] for r in fusion if len(r["x"])])
    drop = {f for f in a.without.split(",") if f}
    scorer = fit(x, y, a.c, [f for f in FEATURES if f not in drop])
    chosen = choose_thresholds(
        stage1_probabilities(scorer, calib), calib, a.max_false_refusals, a.short_precision, max_short_words
    )
    scorer.refuse_below, scorer.short_above = chosen["refuse_below"], chosen["short_above"]
    scorer.info = {
        "fitted_on": "SQuAD v1.1 dev, fusion titles (rag/data/squad_split.json)",
        "rows": len(y),
        "positives": int(y.sum()),
        "thresholds_on": "calibration titles",
        **({"top_k": top_k} if top_k is not None else {}),
        "max_false_refusals": a.max_false_refusals,
        "short_precision": a.short_precision,
        **chosen["calibration"],
    }
    scorer.decision = fit_decision(scorer, fusion + swapped["fusion"], calib + swapped["calibration"], a)
    scorer.save(a.out)
    print({k: v for k, v in scorer.to_json().items() if k not in ("mean", "scale")})


if __name__ == "__main__":
    main()
