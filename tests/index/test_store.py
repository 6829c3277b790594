from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.index.store import CHUNKER_VERSION, IndexStore, IndexWriteError
from rag.index.sync import sync_index
from rag.models.embedding import Embedder
from tests.conftest import SEEDS


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, d / f.name)
    return d


def test_build_then_reload_from_disk(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")
    index, report = sync_index(docs, store, embedder)
    assert report.wrote and len(report.added) == 5 and report.n_embedded == len(index)
    again = store.load()
    assert again is not None and len(again) == len(index)
    assert [c.id for c in again.chunks] == [c.id for c in index.chunks]
    assert again.faiss_index.ntotal == len(index)
    # vectors are the real normalized embeddings of the passages (bf16 batches differ in low bits)
    probe = embedder.encode([index.chunks[3].text])[0]
    assert float(again.vectors[3] @ probe) > 0.999
    assert float(again.vectors[4] @ probe) < 0.99
    assert np.allclose(np.linalg.norm(again.vectors, axis=1), 1.0, atol=1e-3)
    assert set(again.manifest["docs"]) == {f.name for f in SEEDS.glob("*.txt")}
    # nothing changed: nothing written, nothing embedded
    _, report2 = sync_index(docs, store, embedder)
    assert not report2.wrote and report2.n_embedded == 0


def test_only_the_changed_article_is_re_embedded(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")
    index, _ = sync_index(docs, store, embedder)
    target = docs / "004_9ccf596f5a5ca5a0.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\nA new closing paragraph about the Quad summit.\n")
    (docs / "001_0dc30543c454f561.txt").unlink()
    (docs / "new_article.md").write_text("# Rice prices\n\nRice prices in Osaka rose by 12 percent in May.\n")
    updated, report = sync_index(docs, store, embedder)
    assert report.changed == ["004_9ccf596f5a5ca5a0.txt"]
    assert report.added == ["new_article.md"] and report.removed == ["001_0dc30543c454f561.txt"]
    assert set(report.embedded) == {"004_9ccf596f5a5ca5a0.txt", "new_article.md"}
    # only the passages whose text changed: the edited article's last passage(s), not all of it
    n_004 = sum(1 for c in updated.chunks if c.source == "004_9ccf596f5a5ca5a0.txt")
    assert 1 <= report.embedded["004_9ccf596f5a5ca5a0.txt"] < n_004
    assert not any(c.source == "001_0dc30543c454f561.txt" for c in updated.chunks)
    # reused vectors are the same vectors
    old = {c.id: index.vectors[i] for i, c in enumerate(index.chunks)}
    for i, c in enumerate(updated.chunks):
        if c.id in old:
            assert np.array_equal(updated.vectors[i], old[c.id])
    assert updated.faiss_index.ntotal == len(updated.chunks)


def test_changed_settings_force_a_full_rebuild(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")
    sync_index(docs, store, embedder, chunk_size=600)
    index, report = sync_index(docs, store, embedder, chunk_size=400)
    assert report.rebuilt_reason and report.n_embedded == len(index)
    assert index.manifest["settings"]["chunk_size"] == 400


def test_new_cleaning_remakes_passages_but_reuses_the_vectors_of_unchanged_ones(
    docs: Path, tmp_path: Path, embedder: Embedder
) -> None:
    store = IndexStore(tmp_path / "index")
    index, _ = sync_index(docs, store, embedder)
    manifest = json.loads((index.path / "manifest.json").read_text())
    manifest["settings"]["chunker"] = CHUNKER_VERSION - 1  # as an older version of rag wrote it
    (index.path / "manifest.json").write_text(json.dumps(manifest))
    again, report = sync_index(docs, store, embedder)
    assert report.rebuilt_reason and "re-made" in report.rebuilt_reason
    assert report.n_embedded == 0 and report.reused == len(index) and len(report.changed) == len(manifest["docs"])
    assert again.manifest["settings"]["chunker"] == CHUNKER_VERSION
    assert np.array_equal(again.vectors, index.vectors)
    _, report = sync_index(docs, store, embedder)
    assert not report.wrote  # and then it is up to date


def test_crash_between_write_and_rename_keeps_the_old_index(
    docs: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IndexStore(tmp_path / "index")
    before, _ = sync_index(docs, store, embedder)
    (docs / "extra.txt").write_text("Extra\nA brand new article about fishing rights near Hokkaido.\n")

    def crash(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")  # the process dies / the disk fills here

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(IndexWriteError, match="previous index is unchanged"):
        sync_index(docs, store, embedder)
    monkeypatch.undo()
    survivor = store.load()
    assert survivor is not None and [c.id for c in survivor.chunks] == [c.id for c in before.chunks]
    assert not list(store.path.glob(".tmp-*")), "the half-written generation is cleaned up"
    after, report = sync_index(docs, store, embedder)
    assert report.added == ["extra.txt"] and len(after) > len(before)


def test_corrupt_index_is_rebuilt_with_a_warning(docs: Path, tmp_path: Path, embedder: Embedder, caplog) -> None:
    store = IndexStore(tmp_path / "index")
    index, _ = sync_index(docs, store, embedder)
    faiss_file = index.path / "faiss.index"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # truncated
    with caplog.at_level(logging.WARNING):
        rebuilt, report = sync_index(docs, store, embedder)
    assert "unusable" in caplog.text and "rebuilding" in caplog.text
    assert report.rebuilt_reason and len(rebuilt) == len(index)
    (store.path / "CURRENT").write_text("garbage\n")
    rebuilt2, report2 = sync_index(docs, store, embedder)
    assert report2.rebuilt_reason and len(rebuilt2) == len(index)


def test_a_killed_builds_leftovers_are_removed_by_the_next_sync(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    """A build killed while writing leaves a temporary generation (at scale, gigabytes of
    vectors); the next sync removes it at once, even when it has nothing to write."""
    store = IndexStore(tmp_path / "index")
    sync_index(docs, store, embedder)
    leftover = store.path / ".tmp-killed0000"
    leftover.mkdir()
    (leftover / "vectors.npy").write_bytes(b"\0" * 4096)
    (store.path / ".CURRENT-killed00").write_text("gen-x\n")
    _, report = sync_index(docs, store, embedder)
    assert not report.wrote
    assert not leftover.exists() and not (store.path / ".CURRENT-killed00").exists()
    assert store.load() is not None


def test_a_generation_a_killed_build_never_made_live_is_removed(docs: Path, tmp_path: Path, embedder: Embedder) -> None:
    """Killed between renaming its generation into place and swapping CURRENT, a build leaves a
    third generation; the next sync keeps only the live one and one fallback."""
    store = IndexStore(tmp_path / "index")
    sync_index(docs, store, embedder)
    (docs / "extra.txt").write_text("A second build. It adds this short article about a port.", encoding="utf-8")
    sync_index(docs, store, embedder)
    live = store.current_generation()
    assert live is not None
    orphan = store.path / "gen-99991231235959-orphan00"
    shutil.copytree(live, orphan)
    _, report = sync_index(docs, store, embedder)
    gens = sorted(p.name for p in store.path.glob("gen-*"))
    assert not report.wrote and len(gens) == 2 and live.name in gens
    assert store.load().path == live
