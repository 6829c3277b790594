"""The vector search structure: exact up to a size, then an inverted file that tunes itself.

Up to ``approx_threshold`` passages an exact scan (``IndexFlatIP``) is both fastest to build and
fast enough (4-5 ms per query at 50k passages on one core here). Above it, an IVF index with 8-bit
scalar-quantized codes: 4x less memory than the float vectors (0.4 GB at 1M passages instead of
1.5 GB), built in minutes rather than the tens of minutes HNSW needs on two cores, and cheap to
rebuild on an incremental update because the trained centroids are reused.

How many lists to probe (``nprobe``) is not guessed: after building, the index searches a sample
of its own vectors and takes the smallest ``nprobe`` whose recall@10 against an exact scan reaches
``target_recall``. Candidates are then re-scored exactly against the stored float vectors, so the
scores downstream (fusion, thresholds) are true cosines whichever index found them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

import faiss
import numpy as np

log = logging.getLogger(__name__)

TARGET_RECALL = 0.97  # on the index's own vectors; fresh questions land a little lower
CALIBRATION_QUERIES = 200
TRAIN_POINTS_PER_LIST = 64


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest 4*sqrt(n) (faiss's guidance is
    4-16*sqrt(n)), at least 16."""
    return max(16, 2 ** round(math.log2(4 * math.sqrt(max(n, 1)))))


def is_exact(index: faiss.Index) -> bool:
    return isinstance(index, faiss.IndexFlat)


_omp_lock = threading.Lock()


@contextlib.contextmanager
def _threads_for(n_queries: int) -> Iterator[None]:
    """One OpenMP thread for a single query: splitting one scan over both cores is slower here
    (100k exact: 11-13 ms on one thread, 18-22 ms on two). Batches keep every thread."""
    if n_queries > 1:
        yield
        return
    with _omp_lock:
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)


def search(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` rows by inner product. An approximate index proposes 2k candidates; their exact
    scores against ``vectors`` decide the order (quantized scores can swap near-ties)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = min(k, index.ntotal)
    if k <= 0:
        n = len(queries)
        return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
    if is_exact(index):
        with _threads_for(len(queries)):
            return index.search(queries, k)
    with _threads_for(len(queries)):
        _, cand = index.search(queries, min(2 * k, index.ntotal))
    out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_r = np.full((len(queries), k), -1, dtype=np.int64)
    for qi, rows in enumerate(cand):
        rows = np.sort(rows[rows >= 0])  # ascending rows: sequential reads of a memmap
        if not len(rows):
            continue
        exact = np.asarray(vectors[rows], dtype=np.float32) @ queries[qi]
        order = np.argsort(-exact)[:k]
        out_s[qi, : len(order)] = exact[order]
        out_r[qi, : len(order)] = rows[order]
    return out_s, out_r


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int, block: int = 100_000) -> np.ndarray:
    """Exact top-``k`` rows for a few queries, in blocks (no second copy of a large matrix)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_r = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), block):
        scores = queries @ np.asarray(vectors[start : start + block], dtype=np.float32).T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], axis=1)
        r = np.concatenate([best_r, top + start], axis=1)
        keep = np.argsort(-s, axis=1)[:, :k]
        best_s, best_r = np.take_along_axis(s, keep, 1), np.take_along_axis(r, keep, 1)
    return best_r


def recall_at(index: faiss.Index, vectors: np.ndarray, rows: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Recall@k of ``search`` for stored vectors ``rows`` as queries, each one's own row excluded."""
    _, got = search(index, vectors, np.asarray(vectors[rows], dtype=np.float32), k + 1)
    hits = [
        len((set(g) - {r}) & (set(t) - {r})) / k
        for g, t, r in zip(got.tolist(), truth.tolist(), rows.tolist(), strict=True)
    ]
    return float(np.mean(hits))


def calibrate_nprobe(
    index: faiss.IndexIVF, vectors: np.ndarray, target: float = TARGET_RECALL, k: int = 10, seed: int = 0
) -> tuple[int, float]:
    """The smallest power-of-two ``nprobe`` reaching ``target`` recall@k; (nprobe, recall)."""
    n = len(vectors)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(CALIBRATION_QUERIES, n), replace=False))
    truth = exact_neighbours(vectors, np.asarray(vectors[rows], dtype=np.float32), k + 1)
    nprobe, recall = 1, 0.0
    while True:
        index.nprobe = nprobe
        recall = recall_at(index, vectors, rows, truth, k)
        if recall >= target or nprobe >= index.nlist:
            return nprobe, recall
        nprobe = min(2 * nprobe, index.nlist)


def build(
    vectors: np.ndarray,
    approx_threshold: int = 50_000,
    previous: faiss.Index | None = None,
    target_recall: float = TARGET_RECALL,
) -> faiss.Index:
    """The index for ``vectors`` (L2-normalized rows): exact, or a calibrated IVF-SQ8.

    ``previous`` (the live index) lends its trained centroids when it is an IVF of the size this
    collection calls for, so an incremental update only re-adds vectors."""
    n, dim = vectors.shape if vectors.ndim == 2 else (0, 0)
    index: Any
    if n <= approx_threshold:
        index = faiss.IndexFlatIP(dim)
        if n:
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index
    nlist = nlist_for(n)
    if isinstance(previous, faiss.IndexIVFScalarQuantizer) and previous.nlist == nlist and previous.d == dim:
        index = faiss.clone_index(previous)
        index.reset()
    else:
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        sample = np.random.default_rng(0).choice(n, min(n, TRAIN_POINTS_PER_LIST * nlist), replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
    for start in range(0, n, 100_000):  # in blocks: a float32 copy of 1M rows would be 1.5 GB more
        index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
    nprobe, recall = calibrate_nprobe(index, vectors, target_recall)
    index.nprobe = nprobe
    log.info("IVF index: %d lists, nprobe %d (recall@10 %.3f on its own vectors)", nlist, nprobe, recall)
    return index
