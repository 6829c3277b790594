"""The installed ``rag`` command, run as a user would: a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # generator, servers, browsers or subprocesses: not in the fast loop


def rag(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "RAG_GENERATOR": "none", **(env or {})},
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    (d / "docs").mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, d / "docs" / f.name)
    return d


def test_index_then_ask(workdir: Path) -> None:
    out = rag("index", "--docs", str(workdir / "docs"), "--index", str(workdir / "index"))
    assert out.returncode == 0, out.stderr
    assert "5 added" in out.stdout and "passages" in out.stdout
    assert (workdir / "index" / "CURRENT").is_file()
    out = rag(
        "ask",
        "By how much has Indo-Pacific defense spending risen?",
        "--docs",
        str(workdir / "docs"),
        "--index",
        str(workdir / "index"),
    )
    assert out.returncode == 0, out.stderr
    assert "18%" in out.stdout and "Sources:" in out.stdout
    assert "[1] 002_ef4fb084e8f28a11.txt" in out.stdout
    again = rag("index", "--docs", str(workdir / "docs"), "--index", str(workdir / "index"))
    assert "up to date" in again.stdout


def test_eval_writes_predictions_and_figures(workdir: Path) -> None:
    qa = workdir / "qa.jsonl"
    items = [
        {
            "id": "t1",
            "question": "In what year was the Treaty of San Francisco signed?",
            "answer": "1951",
            "aliases": [],
            "sources": ["000_61f95b61063c0a65.txt"],
            "type": "numeric",
            "evidence": ["Since the 1951 Treaty of San Francisco, the U.S. has provided a security umbrella for Japan"],
        },
        {
            "id": "t2",
            "question": "What is the boiling point of mercury?",
            "answer": "",
            "aliases": [],
            "sources": [],
            "evidence": [],
            "type": "unanswerable",
        },
    ]
    qa.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    out = rag(
        "eval",
        str(qa),
        "--out",
        str(workdir / "pred.jsonl"),
        "--docs",
        str(workdir / "docs"),
        "--index",
        str(workdir / "index"),
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    assert summary["accuracy"] == 100.0 and summary["abstain_on_unanswerable"] == 100.0
    assert summary["recall@5"] == 100.0 and summary["citation_hit"] == 100.0
    preds = [json.loads(line) for line in (workdir / "pred.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == ["t1", "t2"]
    assert preds[0]["citations"][0]["source"] == "000_61f95b61063c0a65.txt" and "[1]" not in preds[0]["answer"]


@pytest.mark.parametrize(
    "args",
    [
        ("ask",),
        ("eval", "/no/such/file.jsonl"),
        ("index", "--docs", "/no/such/dir"),
        ("frobnicate",),
        ("ask", "q", "--top-k", "0"),
    ],
)
def test_bad_arguments_give_usage_errors_not_tracebacks(args: tuple[str, ...]) -> None:
    out = rag(*args)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    assert ("Usage" in out.stderr) or ("error" in out.stderr.lower())


def test_empty_question_is_a_clear_error(workdir: Path) -> None:
    out = rag("ask", "   ", "--docs", str(workdir / "docs"), "--index", str(workdir / "index"))
    assert out.returncode == 1 and "question is empty" in out.stderr and "Traceback" not in out.stderr


def test_index_workers_need_ray(workdir: Path) -> None:
    out = rag("index", "--docs", str(workdir / "docs"), "--index", str(workdir / "index"), "--workers", "2")
    assert out.returncode == 2 and "--workers applies to --ray" in out.stderr
