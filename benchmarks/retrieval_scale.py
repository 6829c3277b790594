"""Dense retrieval at 10k / 100k / 1M passages: exact scan vs the index the product builds itself.

    python -m benchmarks.retrieval_scale [--sizes 10000,100000,1000000] [--kinds clustered,uniform]

Embedding a million real passages would take hours here, so vectors are synthetic (dim 384, like
MiniLM), of two kinds:

- ``clustered`` (the one the targets are judged on): passages belong to documents (10 each) and
  documents to topics (20 each); a passage is topic + document + own direction with variance
  shares 0.25 / 0.30 / 0.45. Same-document passages then have cosine ~0.55 and same-topic ~0.25,
  unrelated ~0; a query (a new passage of a random document) has top-1 cosine ~0.59 and top-10
  ~0.51 at 1M. MiniLM on SQuAD's 2,067 paragraphs gives 0.59 / 0.41 for questions, 0.66 / 0.49
  passage-to-passage: real embeddings have this kind of neighbourhood structure.
- ``uniform``: i.i.d. random unit vectors, queries = a stored vector plus noise. There is no
  structure: the 2nd..10th neighbours are within ~0.03 cosine of thousands of others, so any
  approximate index must scan nearly everything to find them. The product's index calibrates
  itself, so here it probes many lists: slower, not wrong. A worst case, not a target.

For each size: single-query latency p50/p99 (one query at a time, as a user asks, with the
threads the product uses), recall@10 of the product's index against the exact scan on fresh
queries, build time, and memory (bytes of the serialized FAISS index, which is what it occupies).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from rag.index import ann
from rag.machine import cpu_report

DIM = 384
BLOCK = 100_000


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(n: int, n_queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_docs, n_topics = max(1, n // 10), max(1, n // 200)
    topics = _unit(rng.standard_normal((n_topics, DIM), dtype=np.float32))
    docs = _unit(rng.standard_normal((n_docs, DIM), dtype=np.float32))
    doc_topic = rng.integers(0, n_topics, n_docs)
    a, b, c = np.sqrt([0.25, 0.30, 0.45]).astype(np.float32)

    def passages(doc_ids: np.ndarray) -> np.ndarray:
        own = _unit(rng.standard_normal((len(doc_ids), DIM), dtype=np.float32))
        return _unit(a * topics[doc_topic[doc_ids]] + b * docs[doc_ids] + c * own).astype(np.float32)

    data = np.empty((n, DIM), np.float32)
    for i in range(0, n, BLOCK):
        data[i : i + BLOCK] = passages(np.arange(i, min(n, i + BLOCK)) // 10)
    return data, np.ascontiguousarray(passages(rng.integers(0, n_docs, n_queries)))


def uniform(n: int, n_queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = np.empty((n, DIM), np.float32)
    for i in range(0, n, BLOCK):
        data[i : i + BLOCK] = _unit(rng.standard_normal((min(BLOCK, n - i), DIM), dtype=np.float32))
    picks = rng.choice(n, n_queries, replace=False)
    noisy = data[picks] + 0.05 * rng.standard_normal((n_queries, DIM), dtype=np.float32)
    return data, np.ascontiguousarray(_unit(noisy), dtype=np.float32)


KINDS = {"clustered": clustered, "uniform": uniform}


def index_bytes(index: faiss.Index) -> int:
    return int(faiss.serialize_index(index).nbytes)


def timed_search(
    index: faiss.Index, data: np.ndarray, queries: np.ndarray, k: int = 10
) -> tuple[list[float], np.ndarray]:
    lat, rows = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, r = ann.search(index, data, q[None, :], k)
        lat.append(time.perf_counter() - t0)
        rows.append(r[0])
    return lat, np.array(rows)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def run(
    sizes: list[int], kinds: list[str] | None = None, n_queries: int = 200, approx_threshold: int = 50_000
) -> list[dict]:
    rows = []
    for kind in kinds or ["clustered"]:
        for n in sizes:
            data, queries = KINDS[kind](n, n_queries)
            exact = faiss.IndexFlatIP(DIM)
            exact.add(data)
            lat_e, ids_e = timed_search(exact, data, queries)
            row = {
                "kind": kind,
                "n": n,
                "exact_p50_ms": 1000 * pct(lat_e, 0.5),
                "exact_p99_ms": 1000 * pct(lat_e, 0.99),
                "exact_mb": index_bytes(exact) / 1e6,
            }
            del exact
            t0 = time.perf_counter()
            product = ann.build(data, approx_threshold)
            row["build_s"] = time.perf_counter() - t0
            row["product_index"] = type(product).__name__
            row["nlist"] = int(getattr(product, "nlist", 0))
            row["nprobe"] = int(getattr(product, "nprobe", 0))
            lat_p, ids_p = timed_search(product, data, queries)
            row["recall_at_10"] = float(
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids_p.tolist(), ids_e.tolist(), strict=True)])
            )
            row.update(
                product_p50_ms=1000 * pct(lat_p, 0.5),
                product_p99_ms=1000 * pct(lat_p, 0.99),
                product_mb=index_bytes(product) / 1e6,
            )
            rows.append(row)
            print(format_row(row), flush=True)
            del data, product
    return rows


def format_row(r: dict) -> str:
    probe = f" nprobe {r['nprobe']}/{r['nlist']}" if r["nlist"] else ""
    return (
        f"{r['kind']:<9} {r['n']:>9,}  exact p50 {r['exact_p50_ms']:7.2f} ms p99 {r['exact_p99_ms']:7.2f} ms "
        f"{r['exact_mb']:6.0f} MB | {r['product_index']:<26} p50 {r['product_p50_ms']:6.2f} ms "
        f"p99 {r['product_p99_ms']:6.2f} ms recall@10 {r['recall_at_10']:.3f} {r['product_mb']:6.0f} MB "
        f"built {r['build_s']:5.1f} s{probe}"
    )


def plot(rows: list[dict], path: Path) -> None:
    """Latency p50 against index size, exact vs the product's index, one line per data kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for kind in sorted({r["kind"] for r in rows}):
        rs = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n"])
        ns = [r["n"] for r in rs]
        if kind == "clustered" or len({r["kind"] for r in rows}) == 1:
            ax.plot(ns, [r["exact_p50_ms"] for r in rs], "o-", color="#6b7280", label="exact scan (IndexFlatIP)")
        ax.plot(ns, [r["product_p50_ms"] for r in rs], "s-", label=f"rag's index, {kind} vectors")
    ax.axhline(15, color="#dc2626", lw=0.8, ls="--", label="target at 1M (15 ms)")
    ax.axhline(5, color="#f59e0b", lw=0.8, ls="--", label="target at 100k (5 ms)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages in the index")
    ax.set_ylabel("single-query latency p50 (ms)")
    ax.set_title("Dense retrieval latency vs index size (2 CPU cores)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--kinds", default="clustered,uniform")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = ap.parse_args()
    rows = run([int(s) for s in args.sizes.split(",")], args.kinds.split(","), args.queries)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval_scale.json").write_text(json.dumps(rows, indent=1))
    plot(rows, args.out / "retrieval_latency.png")


if __name__ == "__main__":
    main()
