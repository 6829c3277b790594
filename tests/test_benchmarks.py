"""Smoke tests: every benchmark runs end to end at toy sizes (full runs stay out of the suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import answer_latency, bylines, indexing
from benchmarks.corpus import write_corpus
from rag.machine import cpu_report
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # generator, servers, browsers or subprocesses: not in the fast loop


def test_corpus_is_deterministic_and_realistic(tmp_path: Path) -> None:
    a = write_corpus(tmp_path / "a", 3, seed=7)
    b = write_corpus(tmp_path / "b", 3, seed=7)
    assert [p.read_text() for p in a] == [p.read_text() for p in b]
    sizes = [len(p.read_text()) for p in a]
    assert all(1000 < s < 12000 for s in sizes)


def test_indexing_benchmarks_run(capsys, embedder) -> None:
    r = indexing.throughput(4, with_langchain=False, embedder=embedder)
    assert r["rag"]["passages"] > 4 and r["raw_encode"]["passages"] == r["rag"]["passages"]
    assert 0 < r["rag"]["share_of_raw"] and len(r["raw_encode"]["runs"]) == 2
    indexing.print_throughput(r)
    inc = indexing.incremental(5, embedder=embedder)
    assert inc["embedded"] >= 1 and inc["seconds"] < inc["full_seconds"]
    indexing.print_incremental(inc)
    out = capsys.readouterr().out
    assert "rag index" in out and "1 of 5 articles changed" in out


def test_runner_writes_json_table_and_plot(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "cleaning,retrieval,incremental",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "retrieval p50 at" not in out.stdout  # quick sizes are not the targets' sizes
    assert "share of full build" in out.stdout and "quick run, not judged" in out.stdout
    assert "title accuracy, messy-holdout files" in out.stdout
    assert out.stdout.startswith(cpu_report()) and out.stdout.count(cpu_report()) == 2  # first, and by the table
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["machine"]["report"] == cpu_report() and results["machine"]["cores"] == os.cpu_count()
    kinds = {r["product_index"] for r in results["retrieval"]}
    assert kinds == {"IndexFlatIP", "IndexIVFScalarQuantizer"}  # 10k exact, 60k approximate
    assert all(0.9 <= r["recall_at_10"] <= 1.0 for r in results["retrieval"])
    png = (tmp_path / "retrieval_latency.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_start_to_answer_is_measured_from_a_fresh_process(tmp_path: Path) -> None:
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_CACHE_DIR": str(tmp_path / "cache")}
    r = answer_latency.start_to_answer("none", env)
    assert r["seconds"] > r["in_process_s"] > 0 and not r["abstained"]
    assert 100 < r["rss_mb"] < 3000  # this process's own peak, not the test runner's
    qs, source = answer_latency.questions(tmp_path / "missing.jsonl")
    assert source == "built-in questions" and len(qs) >= 5


def test_byline_questions_on_the_messy_articles_are_never_answered_wrong(embedder) -> None:
    counts = bylines.run(embedder, bylines=True)
    n = sum(counts.values())
    assert n == len(bylines.questions_all()) and counts["wrong"] == 0 and counts["right"] >= 0.95 * n
