"""Faults: a killed indexer, damaged index files, a folder we may not write to, a full disk.
Each gives a clear message and either recovers or refuses, and the last good index survives."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.faults import kill_loop
from rag.index.store import CorruptIndex, IndexStore, load_generation
from rag.index.sync import sync_index
from rag.models.embedding import Embedder
from rag.pipeline import Components, Pipeline
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow  # generator, servers, browsers or subprocesses: not in the fast loop


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    shutil.copytree(SEEDS, d)
    return d


def rag_cli(*args: str, env: dict | None = None, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.app.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "RAG_GENERATOR": "none", **(env or {})},
        preexec_fn=preexec,
    )


@pytest.mark.parametrize("seed", [1, 5, 7])
def test_sigkill_at_random_points_never_leaves_a_mixed_index(seed: int, embedder: Embedder) -> None:
    """A reduced round count for CI, over three seeds (each kills at other stages and moments);
    ``python -m benchmarks.faults --rounds 100 --seed S`` runs the full loop."""
    report = kill_loop(rounds=8, n_articles=12, seed=seed, embedder=embedder)
    print(report.summary())
    assert not report.failures, report.failures
    assert report.rounds == 8 and report.kills >= 3  # some rounds finish before their kill


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_damaged_generation_falls_back_to_the_previous_one(
    docs: Path, tmp_path: Path, embedder: Embedder, caplog
) -> None:
    store = IndexStore(tmp_path / "index")
    first, _ = sync_index(docs, store, embedder)
    (docs / "extra.txt").write_text("Extra\nA new article about fishing rights near Hokkaido and salmon quotas.\n")
    second, _ = sync_index(docs, store, embedder)
    assert second.path != first.path and first.path.is_dir()  # the previous generation is kept
    # vectors.npy replaced by a pickle whose loading would run code
    marker = tmp_path / "pwned"
    np.save(second.path / "vectors.npy", np.array([_Payload(str(marker))], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptIndex):
        load_generation(second.path)
    assert not marker.exists(), "the index loader unpickled data"
    with caplog.at_level(logging.WARNING):
        recovered, report = sync_index(docs, store, embedder)
    assert "updating the previous generation" in caplog.text and "recovered" in (report.rebuilt_reason or "")
    assert report.added == ["extra.txt"] and report.n_embedded < len(recovered) // 2  # incremental, not a rebuild
    assert not second.path.exists() and not marker.exists()
    assert {c.id for c in recovered.chunks} == {c.id for c in second.chunks}


@pytest.mark.parametrize(
    "damage", ["truncated-chunks", "bad-json", "old-manifest", "missing-faiss", "dangling-current"]
)
def test_each_kind_of_damage_is_reported_and_repaired(
    damage: str, docs: Path, tmp_path: Path, embedder: Embedder, caplog
) -> None:
    store = IndexStore(tmp_path / "index")
    index, _ = sync_index(docs, store, embedder)
    assert [p for p in store.path.glob("gen-*")] == [index.path]  # no fallback: this is the rebuild path
    gen = index.path
    if damage == "truncated-chunks":
        data = (gen / "chunks.jsonl").read_bytes()
        (gen / "chunks.jsonl").write_bytes(data[: len(data) // 2])
    elif damage == "bad-json":
        (gen / "manifest.json").write_text("{not json")
    elif damage == "old-manifest":
        m = json.loads((gen / "manifest.json").read_text())
        m["format"] = 0
        (gen / "manifest.json").write_text(json.dumps(m))
    elif damage == "missing-faiss":
        (gen / "faiss.index").unlink()
    else:
        (store.path / "CURRENT").write_text("gen-20000101000000-deadbeef\n")
    with pytest.raises(CorruptIndex):
        store.load()
    with caplog.at_level(logging.WARNING):
        repaired, report = sync_index(docs, store, embedder)
    assert "unusable" in caplog.text and report.rebuilt_reason
    assert len(repaired) == len(index) and store.load() is not None


def test_read_only_index_folder_refuses_to_write_and_keeps_answering(docs: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    assert rag_cli("index", "--docs", str(docs), "--index", str(index_dir)).returncode == 0
    before = sorted(os.listdir(index_dir))
    (docs / "extra.txt").write_text("Extra\nA new article about the Kobe container port and its 2.5 million boxes.\n")
    for p in [index_dir, *index_dir.iterdir()]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    # root ignores permission bits; run as root *without* the capability that lets it
    no_override = [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ]

    def run(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "rag.app.cli", *args]
        if os.geteuid() == 0:
            cmd = no_override + ["--"] + cmd
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, "RAG_GENERATOR": "none"}
        )

    try:
        out = run("index", "--docs", str(docs), "--index", str(index_dir))
        assert out.returncode == 1 and "cannot write the index" in out.stderr and "Traceback" not in out.stderr
        assert "previous index is unchanged" in out.stderr
        asked = run(
            "ask",
            "By how much has Indo-Pacific defense spending risen?",
            "--docs",
            str(docs),
            "--index",
            str(index_dir),
        )
        assert asked.returncode == 0 and "18%" in asked.stdout, asked.stderr
        assert "answering from the index as it is" in asked.stderr
    finally:
        for p in [index_dir, *index_dir.iterdir()]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert sorted(os.listdir(index_dir)) == before


def _limit_file_size() -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_full_disk_during_a_commit_keeps_the_previous_index(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    index_dir = tmp_path / "index"
    good, _ = sync_index(docs, IndexStore(index_dir), embedder)
    for i in range(3):
        (docs / f"more_{i}.txt").write_text(f"Article {i}\n" + "The Osaka expo drew visitors from many nations. " * 200)
    out = rag_cli("index", "--docs", str(docs), "--index", str(index_dir), preexec=_limit_file_size)
    assert out.returncode == 1 and "cannot write the index" in out.stderr and "Traceback" not in out.stderr
    assert not list(index_dir.glob(".tmp-*")), "the half-written generation is removed"
    survivor = IndexStore(index_dir).load()
    assert survivor is not None and [c.id for c in survivor.chunks] == [c.id for c in good.chunks]
    # asking still works: the pipeline answers from the previous index and says why
    asked = rag_cli(
        "ask",
        "By how much has Indo-Pacific defense spending risen?",
        "--docs",
        str(docs),
        "--index",
        str(index_dir),
        preexec=_limit_file_size,
    )
    assert asked.returncode == 0 and "18%" in asked.stdout, asked.stderr
    assert "answering from the index as it is" in asked.stderr


def test_deleted_article_disappears_from_answers(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    pipe = Pipeline(
        docs_dir=docs, index_dir=tmp_path / "index", generator="none", components=Components(embedder=embedder)
    )
    assert pipe.query("What has Japan supplied to the Philippines?").citations[0].source == "004_9ccf596f5a5ca5a0.txt"
    (docs / "004_9ccf596f5a5ca5a0.txt").unlink()
    report = pipe.sync()
    assert report.removed == ["004_9ccf596f5a5ca5a0.txt"]
    ans = pipe.query("What has Japan supplied to the Philippines?")
    assert all(c.source != "004_9ccf596f5a5ca5a0.txt" for c in ans.citations)
    assert "radar" not in ans.text


def test_pickle_free_formats_on_disk(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    index, _ = sync_index(docs, IndexStore(tmp_path / "index"), embedder)
    names = sorted(p.name for p in index.path.iterdir())
    assert names == ["chunks.jsonl", "faiss.index", "manifest.json", "vectors.npy"]
    with open(index.path / "vectors.npy", "rb") as f:
        header = f.read(128)
    assert b"'descr': '<f4'" in header  # a plain float32 array, nothing for pickle
    rows = [json.loads(line) for line in (index.path / "chunks.jsonl").read_text().splitlines()]
    assert len(rows) == len(index) and all(isinstance(r["text"], str) and r["end"] > r["start"] for r in rows)
