"""Bringing the index in line with the articles folder, in four steps with one job each:

    plan_sync          hash every article; unchanged ones are reused, the rest become ``Pending``
    Preparer           load, clean, chunk and embed the pending ones: ``LocalPreparer`` in this
                       process, ``rag.index.ray_workers.RayPreparer`` on a Ray cluster
    assemble           reused and new passages and vectors, in folder order
    commit_generation  FAISS over the vectors, one atomic generation (``rag.index.store.IndexStore``)

``sync_index`` runs them under the store's writer lock.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.index import ann
from rag.index.preparing import LocalPreparer, Pending, Prepared, Preparer
from rag.index.store import (
    CHUNKER_VERSION,
    FORMAT_VERSION,
    BuildReport,
    CorruptIndex,
    Index,
    IndexStore,
    IndexWriteError,
    load_generation,
)
from rag.ingest.loading import (
    MAX_FILE_BYTES,
    UnreadableFile,
    article_paths,
    content_hash,
    read_file,
)
from rag.models.embedding import Embedder
from rag.types import Chunk

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)


def settings_signature(embedder: Embedder, chunk_size: int, chunk_overlap: int) -> dict:
    """What the stored vectors depend on: when any of it changes, nothing can be reused."""
    return {
        "embedder": embedder.id,
        "chunk_size": chunk_size,
        "chunk_overlap": chunk_overlap,
        "chunker": CHUNKER_VERSION,
    }


@dataclass
class SyncPlan:
    """What a sync will do, decided from file hashes alone, before anything is parsed."""

    current: Index | None  # the live generation to reuse from (None: build from scratch)
    broken: Path | None  # a corrupt live generation, removed once a new one is committed
    signature: dict
    order: list[str] = field(default_factory=list)  # readable articles in folder order
    unchanged: dict[str, dict] = field(default_factory=dict)  # source -> manifest entry kept as is
    pending: list[Pending] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.current is not None and self.broken is None and not self.pending and not self.removed


def open_live(store: IndexStore, existing: Index | None, report: BuildReport) -> tuple[Index | None, Path | None]:
    """The generation to update: ``existing``, the live one, or (when that is corrupt) the
    fallback generation; plus the broken generation's path, if any."""
    if existing is not None:
        return existing, None
    try:
        return store.load(), None
    except CorruptIndex as e:
        broken = None
        with contextlib.suppress(CorruptIndex):
            broken = store.current_generation()
        current = store.load_previous(broken)
        if current is not None:
            log.warning(
                "index at %s is unusable (%s); updating the previous generation %s instead",
                store.path,
                e,
                current.path.name,
            )
            report.rebuilt_reason = f"corrupt index ({e}); recovered from {current.path.name}"
        else:
            log.warning("index at %s is unusable (%s); rebuilding it", store.path, e)
            report.rebuilt_reason = f"corrupt index: {e}"
        return current, broken


def _vectors_still_valid(old: dict, new: dict) -> bool:
    """Only the cleaning/chunking version differs: a passage of the same text has the same vector."""
    return {k: v for k, v in old.items() if k != "chunker"} == {k: v for k, v in new.items() if k != "chunker"}


def plan_sync(
    docs_dir: Path,
    current: Index | None,
    broken: Path | None,
    signature: dict,
    max_file_bytes: int,
    report: BuildReport,
) -> SyncPlan:
    """Hash every article and compare with the live manifest: unchanged ones are reused as they
    are, new and changed ones become ``Pending``."""
    remake_all = False
    if current is not None and current.manifest.get("settings") != signature:
        if _vectors_still_valid(current.manifest.get("settings") or {}, signature):
            # Cleaning or chunking changed: every article is cleaned and chunked again, but a
            # passage whose text is the same keeps its vector (ids hash the text), so an upgrade
            # re-embeds only what the new version cut differently.
            report.rebuilt_reason = "cleaning or chunking changed; passages re-made, unchanged ones not re-embedded"
            log.warning("cleaning or chunking changed; re-making the passages of every article")
            remake_all = True
        else:
            report.rebuilt_reason = "settings or embedder changed"
            log.warning("index settings changed; rebuilding the index")
            current = None
    plan = SyncPlan(current, broken, signature)
    old_docs: dict[str, dict] = current.manifest["docs"] if current is not None else {}
    old_ids: dict[str, set[str]] = {}
    if current is not None:
        for c in current.chunks:
            old_ids.setdefault(c.source, set()).add(c.id)
    for path in article_paths(docs_dir):
        source = path.relative_to(docs_dir).as_posix()
        try:
            digest = content_hash(read_file(path, source, max_file_bytes))
        except UnreadableFile as e:
            log.warning("skipped %s", e)
            report.skipped.append(str(e))
            continue
        plan.order.append(source)
        if source in old_docs and old_docs[source]["hash"] == digest and not remake_all:
            plan.unchanged[source] = old_docs[source]
            report.unchanged.append(source)
        else:
            plan.pending.append(Pending(source, path, frozenset(old_ids.get(source, ()))))
    plan.removed = sorted(set(old_docs) - set(plan.order))
    return plan


def assemble(
    plan: SyncPlan, prepared: Iterable[Prepared], dim: int, report: BuildReport
) -> tuple[list[Chunk], np.ndarray, dict[str, dict]]:
    """Passages, vectors and manifest entries of the new generation, in folder order: reused rows
    from the live generation, new rows from the preparer."""
    current = plan.current
    old_row = {c.id: row for row, c in enumerate(current.chunks)} if current is not None else {}
    old_rows: dict[str, list[int]] = {}
    if current is not None:
        for row, c in enumerate(current.chunks):
            old_rows.setdefault(c.source, []).append(row)
    by_source = {p.source: p for p in prepared}
    old_docs = current.manifest["docs"] if current is not None else {}
    chunks: list[Chunk] = []
    take_old: list[tuple[int, int]] = []  # (new row, old row)
    fresh: list[np.ndarray] = []
    fresh_rows: list[int] = []
    docs: dict[str, dict] = {}
    for source in plan.order:
        if source in plan.unchanged:
            docs[source] = plan.unchanged[source]
            for row in old_rows.get(source, []):
                take_old.append((len(chunks), row))
                chunks.append(current.chunks[row])  # type: ignore[union-attr]
            continue
        done = by_source.get(source)
        if done is None:
            raise IndexWriteError(f"{source} was not prepared; the previous index is unchanged")
        if done.entry is None:
            log.warning("skipped %s", done.error)
            report.skipped.append(str(done.error))
            continue
        docs[source] = done.entry
        (report.changed if source in old_docs else report.added).append(source)
        n_new = 0
        for c in done.chunks:
            if c.id in old_row:
                take_old.append((len(chunks), old_row[c.id]))
            else:
                fresh_rows.append(len(chunks))
                n_new += 1
            chunks.append(c)
        if n_new:
            if done.vectors is None or len(done.vectors) != n_new:
                raise IndexWriteError(
                    f"{source}: {n_new} passages need vectors, the preparer returned "
                    f"{0 if done.vectors is None else len(done.vectors)}"
                )
            fresh.append(done.vectors)
            report.embedded[source] = n_new
    vectors = np.zeros((len(chunks), dim), dtype=np.float32)
    if take_old:
        new_rows, rows = zip(*take_old, strict=True)
        vectors[list(new_rows)] = current.vectors[list(rows)]  # type: ignore[union-attr]
    if fresh_rows:
        vectors[fresh_rows] = np.concatenate(fresh)
    report.reused = len(take_old)
    return chunks, vectors, docs


def commit_generation(
    store: IndexStore,
    plan: SyncPlan,
    chunks: list[Chunk],
    vectors: np.ndarray,
    docs: dict[str, dict],
    approx_threshold: int,
) -> Index:
    """FAISS over the vectors, then one atomic generation; the broken one (if any) is dropped."""
    previous = plan.current.faiss_index if plan.current is not None else None
    faiss_index = ann.build(vectors, approx_threshold, previous)
    manifest = {
        "format": FORMAT_VERSION,
        "settings": plan.signature,
        "dim": int(vectors.shape[1]),
        "count": len(chunks),
        "index_type": type(faiss_index).__name__,
        "nprobe": int(getattr(faiss_index, "nprobe", 0)) or None,
        "docs": docs,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    gen = store.commit(manifest, chunks, vectors, faiss_index)
    if plan.broken is not None and plan.broken.is_dir():  # never kept as the fallback
        shutil.rmtree(plan.broken, ignore_errors=True)
    return load_generation(gen)


def sync_index(
    docs_dir: Path,
    store: IndexStore,
    embedder: Embedder,
    chunk_size: int = 600,
    chunk_overlap: int = 1,
    approx_threshold: int = 50_000,
    show_progress: bool = False,
    max_file_bytes: int = MAX_FILE_BYTES,
    existing: Index | None = None,
    preparer: Preparer | None = None,
) -> tuple[Index, BuildReport]:
    """Bring the index in line with the articles folder, embedding only what is new.

    Unchanged articles (same bytes) keep their passages and vectors; a changed article is
    re-chunked and only passages whose text is new are embedded. Changed settings or embedder
    force a full rebuild. A missing or corrupt index is rebuilt with a one-line warning.
    ``preparer`` does the loading, chunking and embedding (default: in this process).
    """
    t0 = time.perf_counter()
    report = BuildReport()
    with store.lock():
        store.sweep_leftovers()
        current, broken = open_live(store, existing, report)
        if broken is None and current is not None:
            store.drop_old_generations()
        if current is not None:
            embedder.follow((current.manifest.get("settings") or {}).get("embedder"))
        signature = settings_signature(embedder, chunk_size, chunk_overlap)
        plan = plan_sync(docs_dir, current, broken, signature, max_file_bytes, report)
        if plan.up_to_date:
            report.seconds = time.perf_counter() - t0
            return plan.current, report  # type: ignore[return-value]
        if preparer is None:
            preparer = LocalPreparer(embedder, chunk_size, chunk_overlap, max_file_bytes, show_progress)
        prepared = preparer(plan.pending) if plan.pending else []
        chunks, vectors, docs = assemble(plan, prepared, embedder.dim, report)
        report.removed = sorted(set(plan.current.manifest["docs"] if plan.current else ()) - set(docs))
        index = commit_generation(store, plan, chunks, vectors, docs, approx_threshold)
        report.wrote = True
        report.seconds = time.perf_counter() - t0
        return index, report


def preparer_for(settings: Settings, embedder: Embedder, show_progress: bool = False) -> Preparer | None:
    """Loading, chunking and embedding on Ray when ``ray_address`` is set; None (in this
    process) otherwise. Ray is imported only then."""
    if not settings.ray_address:
        return None
    from rag.index.ray_workers import RayPreparer

    return RayPreparer(
        embedder,
        settings.chunk_size,
        settings.chunk_overlap,
        settings.max_file_mb * 2**20,
        address=settings.ray_address,
        workers=settings.ray_workers,
        show_progress=show_progress,
    )
