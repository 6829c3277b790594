"""Indexing on a real local Ray cluster (two workers) against the single-process build: same
passages, same vectors, the same incrementality, and a consistent index when a worker is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.corpus import write_corpus
from rag.index.store import IndexStore
from rag.index.sync import sync_index
from rag.models.embedding import Embedder

ray = pytest.importorskip("ray")
from rag.index.ray_workers import RayPreparer  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_ray():
    """One two-worker local Ray instance for the module (starting one costs ~4 s)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20)
    yield
    ray.shutdown()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "seeds", docs)
    write_corpus(docs / "generated", 24, seed=3)
    (docs / "broken.md").write_bytes(b"\x00\x01\x02" * 10)  # unreadable: skipped on both paths
    return docs


def ray_preparer(embedder: Embedder) -> RayPreparer:
    return RayPreparer(embedder, 600, 1, 20 * 2**20, workers=2)


def test_two_ray_workers_build_the_same_index_as_one_process(
    local_ray, corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    single, rep1 = sync_index(corpus, IndexStore(tmp_path / "single"), embedder)
    on_ray, rep2 = sync_index(corpus, IndexStore(tmp_path / "ray"), embedder, preparer=ray_preparer(embedder))
    assert len(on_ray) == len(single) > 100
    assert [(c.id, c.source, c.start, c.end) for c in on_ray.chunks] == [
        (c.id, c.source, c.start, c.end) for c in single.chunks
    ]
    cos = np.sum(np.asarray(on_ray.vectors) * np.asarray(single.vectors), axis=1)
    assert cos.min() > 0.999
    assert on_ray.manifest["docs"] == single.manifest["docs"]
    assert on_ray.manifest["settings"] == single.manifest["settings"]
    assert rep2.embedded == rep1.embedded and len(rep2.skipped) == len(rep1.skipped) == 1
    # the committed generation is a normal one: it loads and searches
    rows = IndexStore(tmp_path / "ray").load().search(embedder.encode([on_ray.chunks[7].text]), 1)[1]
    assert rows[0][0] == 7


def test_an_incremental_ray_run_embeds_only_the_changed_article(
    local_ray, corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    store = IndexStore(tmp_path / "ray")
    first, _ = sync_index(corpus, store, embedder, preparer=ray_preparer(embedder))
    target = corpus / "generated" / "article_00005.txt"
    target.write_text(
        target.read_text(encoding="utf-8") + "\n\nA closing paragraph added by the test.\n", encoding="utf-8"
    )
    updated, report = sync_index(corpus, store, embedder, preparer=ray_preparer(embedder))
    assert report.changed == ["generated/article_00005.txt"] and not report.added
    assert set(report.embedded) == {"generated/article_00005.txt"}
    assert 1 <= report.n_embedded <= 2  # the new last passage (and the one whose overlap changed)
    assert report.reused == len(updated) - report.n_embedded
    assert any("closing paragraph added" in c.text for c in updated.chunks)
    reference, _ = sync_index(corpus, IndexStore(tmp_path / "single"), embedder)
    assert [c.id for c in updated.chunks] == [c.id for c in reference.chunks]
    assert np.sum(np.asarray(updated.vectors) * np.asarray(reference.vectors), axis=1).min() > 0.999


def test_an_unreachable_cluster_is_a_clear_error_and_the_index_stays(
    corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    store = IndexStore(tmp_path / "idx")
    before, _ = sync_index(corpus, store, embedder)
    (corpus / "new.txt").write_text("A new article about trade talks. It has two sentences.")
    env = dict(os.environ, RAG_DOCS_DIR=str(corpus), RAG_INDEX_DIR=str(store.path))
    run = subprocess.run(
        [sys.executable, "-m", "rag.app.cli", "index", "--ray", "ray://127.0.0.1:9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert "cannot start or reach Ray at 'ray://127.0.0.1:9'" in run.stderr and "Traceback" not in run.stderr
    after = store.load()
    assert after.path == before.path and len(after) == len(before)


def _worker_pids() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "IndexWorker" in line and "ray::" in line]


def test_killing_a_worker_mid_run_leaves_a_consistent_index(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    write_corpus(docs, 160, seed=11)
    store = IndexStore(tmp_path / "index")
    env = dict(os.environ, RAG_DOCS_DIR=str(docs), RAG_INDEX_DIR=str(store.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.app.cli", "index", "--ray", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and killed is None:
        pids = _worker_pids()
        if len(pids) == 2:
            time.sleep(3)  # both loaded and embedding
            pids = _worker_pids()
            if pids:
                killed = pids[0]
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    out, err = proc.communicate(timeout=300)
    print(f"worker {killed} killed; rag index exited {proc.returncode}: {(out + err)[-300:]}")
    assert killed is not None, f"no Ray worker seen to kill:\n{err[-2000:]}"
    single, _ = sync_index(docs, IndexStore(tmp_path / "single"), embedder)
    if proc.returncode == 0:  # Ray restarted the worker and retried its batch
        index = store.load()
        assert [c.id for c in index.chunks] == [c.id for c in single.chunks]
        assert np.sum(np.asarray(index.vectors) * np.asarray(single.vectors), axis=1).min() > 0.999
    else:  # the run failed: it says so, and no half-written index is live
        assert "Ray" in err and "Traceback" not in err
        assert not store.exists()
    assert not list(store.path.glob(".tmp-*"))
