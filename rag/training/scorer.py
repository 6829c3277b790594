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
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from rag.answer.entity_conflict import conflict_flags
from rag.answer.scoring import (
    FEATURES,
    SCORER_FILE,
    Decision,
    Scorer,
    candidate_features,
    fit,
    never_answers,
    read_candidates,
)
from rag.evaluation.squad import load_split, part_titles
from rag.evaluation.squad_open import Case, contains_gold, has_short_gold, make_cases, open_pipeline
from rag.settings import default_cache_dir
from rag.training.reader import DEFAULT_SQUAD, reader_titles

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

log = logging.getLogger("rag.training.scorer")


def gather_rows(pipe: Pipeline, cases: list[Case]) -> list[dict]:
    """Per question: its candidates' features, labels, and reader spans (no scorer involved)."""
    if pipe.reader is None:
        raise ValueError("fitting the answer scorer needs a reader (RAG_READER is 'none')")
    reader = pipe.reader
    out = []
    t0 = time.time()
    for i, case in enumerate(cases):
        q = case.question
        passages = pipe.retriever.retrieve(q, pipe.settings.top_k, exclude=case.exclude or None)
        cands = pipe.grounder.candidates(q, passages, asked=q)
        if cands:
            read_candidates(reader, q, cands, passages)
        x = candidate_features(cands, passages, q)
        conflict = conflict_flags(q, [c.text for c in cands], [passages[c.passage_index].chunk.text for c in cands])
        y = np.array([case.answerable and contains_gold(c.text, case.q.answers) for c in cands], dtype=bool)
        span_hit = np.array([case.answerable and contains_gold(c.span_text, case.q.answers) for c in cands], dtype=bool)
        words = np.array([len(c.span_text.split()) for c in cands])
        short_gold = case.answerable and has_short_gold(case.q.answers)
        margin = np.array([c.reader_span - c.reader_null for c in cands])
        out.append(
            {
                "kind": case.kind,
                "short_gold": short_gold,
                "x": x,
                "y": y,
                "span_hit": span_hit,
                "words": words,
                "margin": margin,
                "conflict": np.array(conflict, dtype=bool),
                "question": q,
                "sents": [c.text for c in cands],
                "spans": [c.span_text for c in cands],
            }
        )
        if (i + 1) % 200 == 0:
            log.warning("%d/%d questions (%.0f s)", i + 1, len(cases), time.time() - t0)
    return out


def _encode(rows: list[dict]) -> list[dict]:
    return [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()} for r in rows]


def _decode(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        d = {k: (np.asarray(v) if isinstance(v, list) and k not in ("sents", "spans") else v) for k, v in r.items()}
        d["x"] = d["x"].reshape(-1, len(FEATURES))
        out.append(d)
    return out


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


def _reader_tag(reader: str) -> str:
    """The part of a cached rows file's name that says which reader read them."""
    return "" if reader == "packaged" else "-" + Path(reader).name


def news_parts(a: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """The news fit and calibration clusters' rows (gathered once, then reused with --reuse)."""
    from rag.evaluation.news import part_clusters
    from rag.pipeline import Pipeline
    from rag.training.news_rows import news_rows

    tag = _reader_tag(a.reader)
    cache = a.work / f"news-rows{tag}-f{len(FEATURES)}-other12.json"
    if a.reuse and cache.is_file():
        saved = json.loads(cache.read_text())
        return _decode(saved["fit"]), _decode(saved["calibration"])
    fit_dirs, cal_dirs = part_clusters(a.news, "fit"), part_clusters(a.news, "calibration")
    work = a.work / "news"
    base = Pipeline(None, None, docs_dir=fit_dirs[0], index_dir=work / fit_dirs[0].name, reader=a.reader)
    fit_rows, cal_rows = news_rows(base, fit_dirs, work, other=12), news_rows(base, cal_dirs, work, other=12)
    a.work.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"fit": _encode(fit_rows), "calibration": _encode(cal_rows)}))
    return fit_rows, cal_rows


def squad_fusion_rows(a: argparse.Namespace) -> list[dict]:
    """The SQuAD fusion titles' rows, entity-swapped questions among them (gathered once per reader)."""
    tag = _reader_tag(a.reader)
    cache = a.work / f"squad-fusion-rows{tag}-n{a.n}-f{len(FEATURES)}.json"
    if a.reuse and cache.is_file():
        return _decode(json.loads(cache.read_text()))
    pipe = open_pipeline(a.squad, a.work / "squad-open", show_progress=True, reader=a.reader)
    cases = make_cases(a.squad, "fusion", a.n, swapped=True)
    rows = gather_rows(pipe, cases)
    cache.write_text(json.dumps(_encode(rows)))
    return rows


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


def main() -> None:
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
    a = ap.parse_args()
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
    tag = _reader_tag(a.reader) + (f"-fusion-{Path(fusion_reader).name}" if fusion_reader != a.reader else "")
    cache = a.work / f"scorer-rows-n{a.n}{tag}-f{len(FEATURES)}-conflict.json"
    if a.reuse and cache.is_file():
        saved = json.loads(cache.read_text())
        fusion, calib = (_decode(saved["fusion"]), _decode(saved["calibration"]))
        swapped = {part: _decode(saved[f"{part}_swapped"]) for part in ("fusion", "calibration")}
        max_short_words = saved["max_short_words"]
        top_k = saved.get("top_k")  # older cached rows do not say (they were read at 5)
        for part, rows in (("fusion", fusion), ("calibration", calib)):
            if rows and "short_gold" not in rows[0]:  # older cached rows lack short_gold
                cases = make_cases(a.squad, part, a.n)
                if [c.question for c in cases] != [r["question"] for r in rows]:
                    raise ValueError(f"the saved {part} rows are not those of --n {a.n}: gather them again")
                for r, c in zip(rows, cases, strict=True):
                    r["short_gold"] = c.answerable and has_short_gold(c.q.answers)
    else:
        pipe = open_pipeline(a.squad, a.work, show_progress=True, reader=a.reader)
        pipes = {"calibration": pipe, "fusion": pipe}
        if fusion_reader != a.reader:
            pipes["fusion"] = open_pipeline(a.squad, a.work, reader=fusion_reader)
        fusion = gather_rows(pipes["fusion"], make_cases(a.squad, "fusion", a.n))
        calib = gather_rows(pipe, make_cases(a.squad, "calibration", a.n))
        # Entity-swapped questions: negatives of the answer-or-decline decision only.
        swapped = {
            part: gather_rows(
                pipes[part], [c for c in make_cases(a.squad, part, a.n, swapped=True) if c.kind == "swapped"]
            )
            for part in ("fusion", "calibration")
        }
        max_short_words, top_k = pipe.settings.max_short_words, pipe.settings.top_k
        cache.write_text(
            json.dumps(
                {
                    "fusion": _encode(fusion),
                    "calibration": _encode(calib),
                    **{f"{part}_swapped": _encode(rows) for part, rows in swapped.items()},
                    "max_short_words": max_short_words,
                    "top_k": top_k,
                }
            )
        )
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
