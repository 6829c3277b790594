"""Retrieval recall on SQuAD v1.1 dev: an outside check that the dev-set choices generalize.

    python -m benchmarks.squad_retrieval ../shared/eval/external/squad-v1.1/dev-v1.1.json [-n 1000]
        [--encoders onnx:int8,onnx:float32,torch:float32] [--overlaps 0,1] [--weights 1.5]

Every paragraph becomes an article; a question's hit at k means a passage of its gold paragraph is
among the top k. For each encoder (backend:precision) and sentence overlap, one index is built and
recall@1/3/5 printed for dense and fused retrieval, with the passages and characters embedded and
the embedding seconds, so a faster encoder or less overlap is only kept where recall holds.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from rag.answer.retrieval import Retriever
from rag.index.store import IndexStore
from rag.index.sync import sync_index
from rag.machine import cpu_report
from rag.models.embedding import Embedder


def write_paragraphs(squad: Path, docs: Path, n: int) -> list[tuple[str, str]]:
    """Each SQuAD paragraph as an article (title line + text); (question, gold file) pairs, shuffled."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    docs.mkdir(parents=True, exist_ok=True)
    questions: list[tuple[str, str]] = []
    for a, art in enumerate(data):
        for p, para in enumerate(art["paragraphs"]):
            name = f"{a:03d}_{p:03d}.txt"
            (docs / name).write_text(art["title"].replace("_", " ") + "\n" + para["context"], "utf-8")
            questions += [(qa["question"], name) for qa in para["qas"]]
    random.Random(0).shuffle(questions)
    return questions[:n]


def recall(index, emb: Embedder, questions: list[tuple[str, str]], mode: str, weight: float) -> dict[int, float]:
    r = Retriever(index, emb, mode=mode, bm25_weight=weight)
    hits = {1: 0, 3: 0, 5: 0}
    for q, gold in questions:
        got = [p.chunk.source for p in r.retrieve(q, 5)]
        for k in hits:
            hits[k] += gold in got[:k]
    return {k: 100 * v / len(questions) for k, v in hits.items()}


def run(
    squad: Path, n: int, encoders: list[str], overlaps: list[int], weights: list[float], chunk_size: int = 600
) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        questions = write_paragraphs(squad, docs, n)
        for spec in encoders:
            backend, dtype = spec.split(":")
            emb = Embedder(backend=backend, dtype=dtype)
            emb.encode(["warm up"])
            for overlap in overlaps:
                t0 = time.perf_counter()
                index, _ = sync_index(
                    docs, IndexStore(Path(tmp) / f"index-{backend}-{dtype}-{overlap}"), emb, chunk_size, overlap
                )
                secs = time.perf_counter() - t0
                chars = sum(len(c.text) for c in index.chunks)
                for mode, w in [("dense", 1.0)] + [("hybrid", w) for w in weights]:
                    rec = recall(index, emb, questions, mode, w)
                    row = {
                        "encoder": spec,
                        "overlap": overlap,
                        "mode": mode if mode == "dense" else f"hybrid w={w:g}",
                        "passages": len(index),
                        "chars": chars,
                        "index_seconds": secs,
                        **{f"R@{k}": v for k, v in rec.items()},
                    }
                    rows.append(row)
                    print(
                        f"{spec:>14} overlap {overlap} {row['mode']:>12}  "
                        + " ".join(f"R@{k} {v:5.1f}%" for k, v in rec.items())
                        + f"   {len(index)} passages, {chars / 1e6:.2f} M chars, indexed in {secs:.1f} s",
                        flush=True,
                    )
    return rows


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--chunk-size", type=int, default=600)
    ap.add_argument("--encoders", default="onnx:int8,onnx:float32,torch:float32")
    ap.add_argument("--overlaps", default="0,1")
    ap.add_argument("--weights", default="1.5")
    args = ap.parse_args()
    print(
        f"SQuAD v1.1 dev, {args.n} questions (seed 0), every paragraph an article (the fusion weight 1.5 was chosen on this set)"
    )
    run(
        args.squad,
        args.n,
        args.encoders.split(","),
        [int(o) for o in args.overlaps.split(",")],
        [float(w) for w in args.weights.split(",")],
        args.chunk_size,
    )


if __name__ == "__main__":
    main()
