"""Dense retrieval latency and memory at 10k / 100k / 1M passages: exact vs approximate.

    python -m benchmarks.retrieval_scale [--sizes 10000,100000,1000000] [--queries 200]

Vectors are random unit vectors (dim 384, like MiniLM); queries are stored vectors plus noise, so
each has true near neighbours. For each size: the exact index (``IndexFlatIP``) and the index the
product builds itself (``rag.index.build_faiss``, approximate above ``approx_threshold``), single-
query latency p50/p99, the approximate index's recall@10 against exact, and index memory.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from rag.index import build_faiss

DIM = 384


def unit_vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - i), DIM), dtype=np.float32)
        out[i : i + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def index_bytes(index: faiss.Index) -> int:
    return int(faiss.serialize_index(index).nbytes)


def latencies(index: faiss.Index, queries: np.ndarray, k: int = 10) -> tuple[list[float], np.ndarray]:
    lat, ids = [], []
    faiss.omp_set_num_threads(1)  # one query at a time, as a user asks
    for q in queries:
        t0 = time.perf_counter()
        _, rows = index.search(q[None, :], k)
        lat.append(time.perf_counter() - t0)
        ids.append(rows[0])
    faiss.omp_set_num_threads(0)
    return lat, np.array(ids)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run(sizes: list[int], n_queries: int = 200, approx_threshold: int = 200_000) -> list[dict]:
    rows = []
    for n in sizes:
        data = unit_vectors(n, seed=n)
        rng = np.random.default_rng(1)
        picks = rng.choice(n, n_queries, replace=False)
        noisy = data[picks] + 0.05 * rng.standard_normal((n_queries, DIM), dtype=np.float32)
        queries = np.ascontiguousarray(noisy / np.linalg.norm(noisy, axis=1, keepdims=True), dtype=np.float32)
        exact = faiss.IndexFlatIP(DIM)
        exact.add(data)
        lat_e, ids_e = latencies(exact, queries)
        row = {"n": n, "exact_p50_ms": 1000 * pct(lat_e, .5), "exact_p99_ms": 1000 * pct(lat_e, .99),
               "exact_mb": index_bytes(exact) / 1e6}
        t0 = time.perf_counter()
        product = build_faiss(data, approx_threshold)
        row["product_index"] = type(product).__name__
        row["build_s"] = time.perf_counter() - t0
        lat_p, ids_p = latencies(product, queries)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids_p, ids_e)])
        row.update(product_p50_ms=1000 * pct(lat_p, .5), product_p99_ms=1000 * pct(lat_p, .99),
                   recall_at_10=float(recall), product_mb=index_bytes(product) / 1e6)
        rows.append(row)
        print(f"{n:>9,} exact p50 {row['exact_p50_ms']:7.2f} ms p99 {row['exact_p99_ms']:7.2f} ms {row['exact_mb']:7.0f} MB | "
              f"{row['product_index']:<14} p50 {row['product_p50_ms']:6.2f} ms p99 {row['product_p99_ms']:6.2f} ms "
              f"recall@10 {recall:.3f} {row['product_mb']:6.0f} MB (built in {row['build_s']:.0f} s)", flush=True)
        del data, exact, product
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/retrieval_scale.json"))
    args = ap.parse_args()
    rows = run([int(s) for s in args.sizes.split(",")], args.queries)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
