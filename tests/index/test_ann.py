"""The vector search structure: exact below a size, a self-calibrating IVF index above it."""

from __future__ import annotations

import shutil
from pathlib import Path

import faiss
import numpy as np

from benchmarks.retrieval_scale import clustered
from rag.answer.retrieval import Retriever
from rag.index import ann
from rag.index.store import IndexStore
from rag.index.sync import sync_index
from rag.models.embedding import Embedder
from tests.conftest import SEEDS


def test_small_collections_get_an_exact_index() -> None:
    data, queries = clustered(2000, 5)
    index = ann.build(data, approx_threshold=5000)
    assert ann.is_exact(index) and index.ntotal == 2000
    scores, rows = ann.search(index, data, queries, 10)
    brute = queries @ data.T
    assert np.array_equal(rows[:, 0], brute.argmax(axis=1))
    assert np.allclose(scores[:, 0], brute.max(axis=1), atol=1e-5)


def test_large_collections_get_a_calibrated_ivf_with_exact_scores() -> None:
    data, queries = clustered(40_000, 50)
    index = ann.build(data, approx_threshold=10_000, target_recall=0.95)
    assert isinstance(index, faiss.IndexIVFScalarQuantizer)
    assert index.nlist == ann.nlist_for(40_000) and 1 <= index.nprobe <= index.nlist
    scores, rows = ann.search(index, data, queries, 10)
    truth = ann.exact_neighbours(data, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows.tolist(), truth.tolist(), strict=True)])
    assert recall >= 0.9, recall  # calibrated on stored vectors to 0.95; fresh queries land close
    # scores are the true cosines of the returned rows, best first
    for q, s, r in zip(queries, scores, rows, strict=True):
        assert np.allclose(s, data[r] @ q, atol=1e-5) and np.all(np.diff(s) <= 1e-6)
    # a single query (run on one thread) gives the batch's answer, and the thread count is restored
    before = faiss.omp_get_max_threads()
    s1, r1 = ann.search(index, data, queries[:1], 10)
    assert np.array_equal(r1[0], rows[0]) and faiss.omp_get_max_threads() == before


def test_calibration_raises_nprobe_when_the_data_has_no_structure() -> None:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal((30_000, 64), dtype=np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    index = ann.build(noise, approx_threshold=1000, target_recall=0.9)
    clustered_index = ann.build(clustered(30_000, 1)[0], approx_threshold=1000, target_recall=0.9)
    assert index.nprobe > clustered_index.nprobe  # no shortcut exists, so it probes more lists


def test_incremental_update_reuses_trained_centroids() -> None:
    data, _ = clustered(30_000, 1)
    first = ann.build(data, approx_threshold=1000)
    changed = data.copy()
    changed[:10] = clustered(10, 1, seed=99)[0]
    second = ann.build(changed, approx_threshold=1000, previous=first)
    c1 = faiss.vector_to_array(faiss.downcast_index(first.quantizer).codes)
    c2 = faiss.vector_to_array(faiss.downcast_index(second.quantizer).codes)
    assert np.array_equal(c1, c2) and second.ntotal == 30_000


def test_product_index_above_threshold_is_persisted_and_searched(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    store = IndexStore(tmp_path / "index")
    index, _ = sync_index(docs, store, embedder, approx_threshold=20)  # the seeds have ~90 passages
    assert isinstance(index.faiss_index, faiss.IndexIVFScalarQuantizer)
    assert index.manifest["index_type"] == "IndexIVFScalarQuantizer" and index.manifest["nprobe"] >= 1
    again = store.load()
    assert again is not None and again.faiss_index.nprobe == index.faiss_index.nprobe
    question = "By how much has Indo-Pacific defense spending risen?"
    hits = Retriever(again, embedder, mode="dense").retrieve(question, 3)
    assert hits and "18%" in hits[0].chunk.text
    assert (
        abs(hits[0].dense - float(again.vectors[again.chunks.index(hits[0].chunk)] @ embedder.encode_query(question)))
        < 1e-4
    )
