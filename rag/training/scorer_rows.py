"""The rows the answer score is fitted on: every candidate sentence of every question as a row of
``rag.answer.scoring.FEATURES`` with its label, gathered from SQuAD titles or news clusters once
and cached (``--reuse`` refits from the cache in seconds)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.entity_conflict import conflict_flags
from rag.answer.scoring import FEATURES, candidate_features, read_candidates
from rag.evaluation.squad_open import Case, contains_gold, has_short_gold, make_cases, open_pipeline

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


def squad_rows(
    a: argparse.Namespace, fusion_reader: str
) -> tuple[list[dict], list[dict], dict[str, list[dict]], int, int | None]:
    """The SQuAD fusion and calibration rows and their entity-swapped questions (the decision's
    negatives), gathered once per reader and reused with --reuse; with max_short_words and top_k."""
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
    return fusion, calib, swapped, max_short_words, top_k
