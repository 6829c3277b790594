"""The news evaluation: ``rag eval --news DIR`` over a collection laid out like the shared one.

A collection is a folder of *clusters*, each a folder of related articles with its own
``questions.jsonl``. Each cluster is indexed on its own (a user points the tool at one folder of
related articles), the models are loaded once and shared, and follow-ups are asked with their
history. The figures are those of the eval README, computed by ``rag.evaluation.metrics.score`` (the same
definitions as the shared ``score.py``, ``all_of`` included), overall, by question type, and for
unanswerable questions by ``kind``.

Which clusters may be used for what is fixed in ``rag/data/news_split.json`` (``make_split``,
seed committed): ``fit`` clusters train the reader and fit the answer scorer, ``calibration``
clusters choose its thresholds, ``report`` clusters are only measured on.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.evaluation.metrics import load_jsonl, prediction, score
from rag.settings import PACKAGE_DIR

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

SPLIT_FILE = PACKAGE_DIR / "data" / "news_split.json"
PARTS = ("fit", "calibration", "report")


def clusters(root: Path) -> list[Path]:
    """The cluster folders of a collection: those holding a ``questions.jsonl``, in name order."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"news collection not found: {root}")
    found = sorted(p for p in root.iterdir() if p.is_dir() and (p / "questions.jsonl").is_file())
    if not found:
        raise FileNotFoundError(f"{root} holds no cluster folder with a questions.jsonl")
    return found


def make_split(names: list[str], seed: int = 7, calibration: int = 9, report: int = 9) -> dict:
    """Clusters shuffled with a fixed seed, then cut into report, calibration and fit (the rest)."""
    order = sorted(names)
    random.Random(seed).shuffle(order)
    return {
        "seed": seed,
        "parts": {
            "report": sorted(order[:report]),
            "calibration": sorted(order[report : report + calibration]),
            "fit": sorted(order[report + calibration :]),
        },
    }


def load_split(path: Path = SPLIT_FILE) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def part_clusters(root: Path, part: str | None, split: dict | None = None) -> list[Path]:
    """The collection's clusters of one part of the split (all when ``part`` is None or "all").
    A cluster the split does not name (another collection's) counts as "report": nothing was
    fitted or chosen on it."""
    found = clusters(root)
    if part in (None, "all"):
        return found
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)} or all, not {part!r}")
    parts = (split or load_split())["parts"]
    named = {name for names in parts.values() for name in names}
    return [p for p in found if p.name in parts[part] or (part == "report" and p.name not in named)]


@dataclass
class NewsRun:
    items: list[dict] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def cluster_pipeline(base: Pipeline, cluster: Path, work: Path) -> Pipeline:
    """A pipeline over one cluster, sharing ``base``'s loaded models."""
    from rag.pipeline import Components

    shared = Components(
        embedder=base.embedder,
        reader=base.reader,
        scorer=base.scorer,
        generator=base.generator,
    )
    pipe = type(base)(base.settings, shared, docs_dir=cluster, index_dir=work / cluster.name)
    pipe.sync()
    return pipe


def run_news(
    base: Pipeline,
    cluster_dirs: list[Path],
    work: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> NewsRun:
    """Every question of every cluster through ``Pipeline.query`` over its own cluster's index."""
    run = NewsRun()
    latencies: list[float] = []
    for k, cluster in enumerate(cluster_dirs):
        pipe = cluster_pipeline(base, cluster, work)
        items = load_jsonl(cluster / "questions.jsonl")
        for it in items:
            t0 = time.perf_counter()
            ans = pipe.query(it["question"], history=it.get("history"))
            latencies.append(time.perf_counter() - t0)
            pred = prediction(it, ans)
            pred["cluster"] = cluster.name
            run.predictions.append(pred)
        run.items += items
        if progress:
            progress(cluster.name, k + 1, len(cluster_dirs))
    run.summary, run.rows = summarize(run.items, run.predictions, latencies)
    return run


def summarize(items: list[dict], preds: list[dict], latencies: list[float] | None = None) -> tuple[dict, list[dict]]:
    """The eval README's figures, plus unanswerable questions declined by ``kind`` and latency."""
    out = score(items, {p["id"]: p for p in preds})
    summary, rows = out["summary"], out["rows"]
    kind_of = {it["id"]: it.get("kind") or "unstated" for it in items}
    by_kind: dict[str, list[bool]] = {}
    for r in rows:
        if r["type"] == "unanswerable":
            by_kind.setdefault(kind_of[r["id"]], []).append(r["abstain_ok"])
    summary["declined_by_kind"] = {k: round(100 * sum(v) / len(v), 1) for k, v in sorted(by_kind.items())}
    summary["false_abstain_by_type"] = {
        t: round(100 * sum(r["false_abstain"] for r in rows if r["type"] == t) / n, 1)
        for t, n in sorted(Counter(r["type"] for r in rows if r["type"] != "unanswerable").items())
    }
    summary["clusters"] = len({p.get("cluster") for p in preds})
    if latencies:
        lat = sorted(latencies)
        summary["latency_p50_s"] = round(lat[len(lat) // 2], 3)
        summary["latency_p90_s"] = round(lat[min(len(lat) - 1, int(0.9 * len(lat)))], 3)
    return summary, rows
