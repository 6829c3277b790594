"""Retrieval recall@1/3/5 on a QA set for several passage sizes and retrieval modes.

    python benchmarks/chunk_sweep.py ../shared/eval/dev.jsonl [--sizes 300,450,600,800,1000]

Builds a throw-away index per size (same loader, chunker, embedder and retriever as the product)
and prints one row per (size, overlap, mode). Follow-up questions are made standalone the same
way the product does it, so the figures match ``rag eval``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rag.answer.retrieval import Retriever
from rag.answer.rewriting import rewrite_followup
from rag.evaluation.metrics import load_jsonl, retrieval_hits
from rag.index.store import IndexStore
from rag.index.sync import sync_index
from rag.machine import cpu_report
from rag.models.embedding import Embedder
from rag.settings import default_docs_dir


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("qa", type=Path)
    ap.add_argument("--docs", type=Path, default=default_docs_dir())
    ap.add_argument("--sizes", default="300,450,600,800,1000")
    ap.add_argument("--overlaps", default="0,1")
    args = ap.parse_args()
    items = [it for it in load_jsonl(args.qa) if it["type"] != "unanswerable"]
    emb = Embedder()
    print(f"{'size':>5} {'ovl':>3} {'mode':>7} {'passages':>8} {'R@1':>6} {'R@3':>6} {'R@5':>6}")
    for size in [int(s) for s in args.sizes.split(",")]:
        for ovl in [int(o) for o in args.overlaps.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                index, _ = sync_index(args.docs, IndexStore(Path(tmp)), emb, size, ovl)
                for mode, w in [
                    ("dense", 1),
                    ("bm25", 1),
                    ("rrf", 1),
                    ("rrf", 2),
                    ("hybrid", 1),
                    ("hybrid", 1.5),
                    ("hybrid", 2),
                ]:
                    r = Retriever(index, emb, mode=mode, bm25_weight=w)
                    hits = {1: 0, 3: 0, 5: 0}
                    for it in items:
                        q = rewrite_followup(it["question"], it.get("history"))
                        got = [(p.chunk.source, p.chunk.text) for p in r.retrieve(q, 5)]
                        for k, ok in retrieval_hits(it, got).items():
                            hits[k] += ok
                    n = len(items)
                    print(
                        f"{size:>5} {ovl:>3} {mode + (str(w) if mode == 'hybrid' else ''):>7} {len(index):>8} "
                        + " ".join(f"{100 * hits[k] / n:>5.1f}%" for k in (1, 3, 5)),
                        flush=True,
                    )


if __name__ == "__main__":
    main()
