"""Smoke tests: the benchmark code runs end to end at tiny sizes (full runs stay out of the suite)."""
from __future__ import annotations

from pathlib import Path

from benchmarks.corpus import write_corpus
from benchmarks.indexing import print_table, run


def test_corpus_is_deterministic_and_realistic(tmp_path: Path) -> None:
    a = write_corpus(tmp_path / "a", 3, seed=7)
    b = write_corpus(tmp_path / "b", 3, seed=7)
    assert [p.read_text() for p in a] == [p.read_text() for p in b]
    sizes = [len(p.read_text()) for p in a]
    assert all(1000 < s < 12000 for s in sizes)


def test_indexing_benchmark_runs(capsys) -> None:  # noqa: ANN001
    r = run(4, with_langchain=False)
    assert r["rag"]["passages"] > 4 and r["rag"]["passages_per_s"] > 0 and r["raw_encode"]["passages_per_s"] > 0
    assert r["incremental"]["embedded"] >= 1 and r["incremental"]["share_of_full"] < 1
    print_table(r)
    assert "rag index" in capsys.readouterr().out


def test_retrieval_scale_benchmark_runs() -> None:
    from benchmarks.retrieval_scale import run as scale

    rows = scale([3000], n_queries=20, approx_threshold=1000)
    r = rows[0]
    assert r["product_index"] == "IndexHNSWFlat" and 0.0 <= r["recall_at_10"] <= 1.0
    assert r["exact_p50_ms"] > 0 and r["product_mb"] > r["exact_mb"] * 0.5
