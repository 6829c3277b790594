"""Retrieval recall on SQuAD v1.1 dev: an outside check that the dev-set choices generalize.

    python benchmarks/squad_retrieval.py ../shared/eval/external/squad-v1.1/dev-v1.1.json [-n 1000]

Every paragraph becomes an article; a question's hit at k means a passage of its gold paragraph is
among the top k. Prints recall@1/3/5 for dense, BM25 and fused retrieval at several BM25 weights.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from rag.embedding import Embedder
from rag.index import IndexStore, sync_index
from rag.retrieval import Retriever


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--chunk-size", type=int, default=600)
    ap.add_argument("--weights", default="0.5,1,1.5,2")
    args = ap.parse_args()
    data = json.loads(args.squad.read_text(encoding="utf-8"))["data"]
    questions: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for a, art in enumerate(data):
            for p, para in enumerate(art["paragraphs"]):
                name = f"{a:03d}_{p:03d}.txt"
                (docs / name).write_text(art["title"].replace("_", " ") + "\n" + para["context"], "utf-8")
                questions += [(qa["question"], name) for qa in para["qas"]]
        random.Random(0).shuffle(questions)
        questions = questions[: args.n]
        emb = Embedder()
        index, report = sync_index(docs, IndexStore(Path(tmp) / "index"), emb, args.chunk_size, 1, show_progress=True)
        print(f"{len(index)} passages from {len(report.added)} paragraphs; {len(questions)} questions")
        configs = [("dense", 1.0), ("bm25", 1.0), ("rrf", 1.0)] + [("hybrid", float(w)) for w in args.weights.split(",")]
        for mode, w in configs:
            r = Retriever(index, emb, mode=mode, bm25_weight=w)
            hits = {1: 0, 3: 0, 5: 0}
            for q, gold in questions:
                got = [p.chunk.source for p in r.retrieve(q, 5)]
                for k in hits:
                    hits[k] += gold in got[:k]
            label = f"{mode} w_bm25={w:g}" if mode in ("hybrid", "rrf") else mode
            print(f"{label:>16} " + " ".join(f"R@{k} {100 * v / len(questions):5.1f}%" for k, v in hits.items()), flush=True)


if __name__ == "__main__":
    main()
