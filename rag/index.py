"""The persisted index: FAISS vectors, passage metadata and a manifest, kept consistent on disk.

Layout of ``index_dir``::

    CURRENT                 name of the live generation (replaced atomically)
    gen-<time>-<rand>/      manifest.json, chunks.jsonl, vectors.npy, faiss.index

A build writes a whole new generation into a temporary folder, renames it into place, and only
then swaps ``CURRENT``. A crash at any point leaves either the old or the new generation live,
never a mix. The previous generation is kept as a fallback; older ones are removed. Nothing is
pickled: JSON, ``.npy`` (loaded with ``allow_pickle=False``) and FAISS's own binary format.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from rag import ann
from rag.chunking import chunk_document
from rag.embedding import Embedder
from rag.loading import (
    MAX_FILE_BYTES,
    UnreadableFile,
    article_paths,
    content_hash,
    document_from_bytes,
    read_file,
)
from rag.types import Chunk

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHUNKER_VERSION = 2  # bump when cleaning or chunking changes their output for the same files and settings
FILES = ("manifest.json", "chunks.jsonl", "vectors.npy", "faiss.index")


class IndexError_(RuntimeError):
    """Base for index problems the user should see as one clear line."""


class CorruptIndex(IndexError_):
    pass


class IndexWriteError(IndexError_):
    pass


@dataclass
class Index:
    """A loaded generation: everything retrieval needs, in memory (vectors memory-mapped)."""

    path: Path
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: faiss.Index

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query_vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the ``k`` nearest passages; scores are exact cosines."""
        return ann.search(self.faiss_index, self.vectors, query_vecs, k)

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest.get("docs", {})


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unreadable files, with the reason
    embedded: dict[str, int] = field(default_factory=dict)  # source -> passages embedded this run
    reused: int = 0
    rebuilt_reason: str | None = None
    seconds: float = 0.0
    wrote: bool = False
    write_error: str | None = None  # the index could not be updated; the previous one is in use

    @property
    def n_embedded(self) -> int:
        return sum(self.embedded.values())

    def summary(self) -> str:
        if self.write_error:
            return f"index NOT updated ({self.write_error}); answering from the previous index"
        if not self.wrote:
            return "index up to date"
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed"]
        return (
            f"indexed {', '.join(parts)}, {len(self.unchanged)} unchanged; "
            f"embedded {self.n_embedded} passages, reused {self.reused} ({self.seconds:.1f} s)"
            + (f"; rebuilt: {self.rebuilt_reason}" if self.rebuilt_reason else "")
        )


# --- on-disk store --------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_file(path: Path, write: Callable[[Path], None]) -> None:
    write(path)
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


class IndexStore:
    """Reads and atomically writes generations under one folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def current_file(self) -> Path:
        return self.path / "CURRENT"

    def exists(self) -> bool:
        return self.current_file.is_file()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time (another process indexing the same folder waits). In a folder we
        may not write to, reading needs no lock: nothing can be committed there anyway."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            f = open(self.path / ".lock", "a+")
        except OSError as e:
            if not self.path.is_dir():
                raise IndexWriteError(f"cannot create the index folder {self.path}: {e.strerror or e}") from e
            yield
            return
        with f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def current_generation(self) -> Path | None:
        if not self.exists():
            return None
        name = self.current_file.read_text(encoding="utf-8").strip()
        if not name.startswith("gen-") or "/" in name:
            raise CorruptIndex(f"{self.current_file} does not name a generation")
        return self.path / name

    def load(self) -> Index | None:
        """The live generation, ``None`` when there is none, ``CorruptIndex`` when it is broken."""
        gen = self.current_generation()
        if gen is None:
            return None
        return load_generation(gen)

    def load_previous(self, broken: Path | None) -> Index | None:
        """The newest generation other than ``broken`` that loads: the fallback each commit keeps,
        so a damaged live generation costs an incremental update, not a rebuild."""
        for gen in sorted((p for p in self.path.glob("gen-*") if p.is_dir() and p != broken), reverse=True):
            try:
                return load_generation(gen)
            except CorruptIndex as e:
                log.info("generation %s is unusable too: %s", gen.name, e)
        return None

    def commit(self, manifest: dict, chunks: list[Chunk], vectors: np.ndarray, index: faiss.Index) -> Path:
        """Write a new generation and make it live; all or nothing."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".tmp-{uuid.uuid4().hex[:12]}"
        try:
            tmp.mkdir()
            _write_file(tmp / "chunks.jsonl", lambda p: _write_chunks(p, chunks))
            _write_file(tmp / "vectors.npy", lambda p: np.save(p, vectors, allow_pickle=False))
            _write_file(tmp / "faiss.index", lambda p: faiss.write_index(index, str(p)))
            manifest = dict(manifest, files={n: (tmp / n).stat().st_size for n in FILES if n != "manifest.json"})
            _write_file(tmp / "manifest.json", lambda p: p.write_text(json.dumps(manifest, indent=1), "utf-8"))
            _fsync_dir(tmp)
            final = self.path / f"gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
            os.rename(tmp, final)
            _fsync_dir(self.path)
            pointer = self.path / f".CURRENT-{uuid.uuid4().hex[:8]}"
            _write_file(pointer, lambda p: p.write_text(final.name + "\n", "utf-8"))
            os.replace(pointer, self.current_file)
            _fsync_dir(self.path)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise IndexWriteError(
                f"cannot write the index to {self.path}: {e.strerror or e}; the previous index is unchanged"
            ) from e
        self._collect_garbage(keep={final.name})
        return final

    def _collect_garbage(self, keep: set[str]) -> None:
        """Drop what crashed builds left (temporary folders and pointer files) and all but the
        newest previous generation. Runs under the writer's lock, after our own pointer swap."""
        gens = sorted((p for p in self.path.glob("gen-*") if p.is_dir() and p.name not in keep), reverse=True)
        for old in gens[1:]:
            shutil.rmtree(old, ignore_errors=True)
        for pointer in self.path.glob(".CURRENT-*"):
            pointer.unlink(missing_ok=True)
        for tmp in self.path.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                if time.time() - tmp.stat().st_mtime > 5:  # not a build in progress right now
                    shutil.rmtree(tmp, ignore_errors=True)


def _write_chunks(path: Path, chunks: list[Chunk]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks)


def load_generation(gen: Path) -> Index:
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise CorruptIndex(f"index format {manifest.get('format')} is not {FORMAT_VERSION}")
        for name, size in manifest["files"].items():
            actual = (gen / name).stat().st_size
            if actual != size:
                raise CorruptIndex(f"{name} is {actual} bytes, expected {size} (truncated?)")
        with open(gen / "chunks.jsonl", encoding="utf-8") as f:
            chunks = [Chunk.from_dict(json.loads(line)) for line in f]
        vectors = np.load(gen / "vectors.npy", mmap_mode="r", allow_pickle=False)
        index = faiss.read_index(str(gen / "faiss.index"))
    except CorruptIndex:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CorruptIndex(f"cannot read index {gen.name}: {e}") from e
    if not (len(chunks) == index.ntotal == len(vectors) == manifest.get("count")):
        raise CorruptIndex(
            f"index {gen.name} is inconsistent: {len(chunks)} passages, {index.ntotal} vectors in FAISS, "
            f"{len(vectors)} stored, manifest says {manifest.get('count')}"
        )
    return Index(gen, manifest, chunks, vectors, index)


# --- building -------------------------------------------------------------------------------
def settings_signature(embedder: Embedder, chunk_size: int, chunk_overlap: int) -> dict:
    """What the stored vectors depend on: when any of it changes, nothing can be reused."""
    return {
        "embedder": embedder.id,
        "chunk_size": chunk_size,
        "chunk_overlap": chunk_overlap,
        "chunker": CHUNKER_VERSION,
    }


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
) -> tuple[Index, BuildReport]:
    """Bring the index in line with the articles folder, embedding only what is new.

    Unchanged articles (same bytes) keep their passages and vectors; a changed article is
    re-chunked and only passages whose text is new are embedded. Changed settings or embedder
    force a full rebuild. A missing or corrupt index is rebuilt with a one-line warning.
    """
    t0 = time.perf_counter()
    report = BuildReport()
    with store.lock():
        current = existing
        broken: Path | None = None
        if current is None:
            try:
                current = store.load()
            except CorruptIndex as e:
                with contextlib.suppress(CorruptIndex):
                    broken = store.current_generation()
                current = store.load_previous(broken)
                if current is not None:
                    log.warning("index at %s is unusable (%s); updating the previous generation %s instead",
                                store.path, e, current.path.name)
                    report.rebuilt_reason = f"corrupt index ({e}); recovered from {current.path.name}"
                else:
                    log.warning("index at %s is unusable (%s); rebuilding it", store.path, e)
                    report.rebuilt_reason = f"corrupt index: {e}"
        signature = settings_signature(embedder, chunk_size, chunk_overlap)
        if current is not None and current.manifest.get("settings") != signature:
            report.rebuilt_reason = "settings or embedder changed"
            log.warning("index settings changed; rebuilding the index")
            current = None

        old_docs: dict[str, dict] = current.manifest["docs"] if current else {}
        old_rows: dict[str, list[int]] = {}
        if current is not None:
            for row, c in enumerate(current.chunks):
                old_rows.setdefault(c.source, []).append(row)

        new_docs: dict[str, dict] = {}
        plan: list[tuple[str, list[Chunk] | None]] = []  # (source, new chunks or None = reuse)
        for path in article_paths(docs_dir):
            source = path.relative_to(docs_dir).as_posix()
            try:
                raw = read_file(path, source, max_file_bytes)
                digest = content_hash(raw)
                if source in old_docs and old_docs[source]["hash"] == digest:
                    new_docs[source] = old_docs[source]
                    plan.append((source, None))
                    report.unchanged.append(source)
                    continue
                doc = document_from_bytes(raw, source, path.suffix)
            except UnreadableFile as e:
                log.warning("skipped %s", e)
                report.skipped.append(str(e))
                continue
            chunks = chunk_document(doc, chunk_size, chunk_overlap)
            new_docs[source] = {
                "hash": digest, "title": doc.title, "title_is_label": doc.title_is_label, "author": doc.author,
                "date": doc.date, "pages": len(doc.page_starts) or None, "chunks": len(chunks), "chars": len(doc.text),
            }
            plan.append((source, chunks))
            (report.changed if source in old_docs else report.added).append(source)
        report.removed = sorted(set(old_docs) - set(new_docs))

        if current is not None and not report.added and not report.changed and not report.removed and broken is None:
            report.seconds = time.perf_counter() - t0
            return current, report

        # Gather reused vectors and the passages that need embedding.
        old_by_id: dict[str, int] = {}
        if current is not None:
            old_by_id = {c.id: row for row, c in enumerate(current.chunks)}
        all_chunks: list[Chunk] = []
        sources_rows: list[tuple[str, int]] = []  # ("old", row) or ("new", i)
        to_embed: list[Chunk] = []
        for source, chunks in plan:
            if chunks is None:
                for row in old_rows.get(source, []):
                    all_chunks.append(current.chunks[row])  # type: ignore[union-attr]
                    sources_rows.append(("old", row))
                continue
            for c in chunks:
                all_chunks.append(c)
                if c.id in old_by_id:
                    sources_rows.append(("old", old_by_id[c.id]))
                else:
                    sources_rows.append(("new", len(to_embed)))
                    to_embed.append(c)
        for c in to_embed:
            report.embedded[c.source] = report.embedded.get(c.source, 0) + 1
        report.reused = len(all_chunks) - len(to_embed)

        new_vecs = embedder.encode([c.text for c in to_embed], show_progress=show_progress)
        vectors = np.zeros((len(all_chunks), embedder.dim), dtype=np.float32)
        old_idx = [(i, r) for i, (kind, r) in enumerate(sources_rows) if kind == "old"]
        new_idx = [(i, r) for i, (kind, r) in enumerate(sources_rows) if kind == "new"]
        if old_idx:
            vectors[[i for i, _ in old_idx]] = current.vectors[[r for _, r in old_idx]]  # type: ignore[union-attr]
        if new_idx:
            vectors[[i for i, _ in new_idx]] = new_vecs[[r for _, r in new_idx]]

        faiss_index = ann.build(vectors, approx_threshold, current.faiss_index if current is not None else None)
        manifest = {
            "format": FORMAT_VERSION,
            "settings": signature,
            "dim": int(embedder.dim),
            "count": len(all_chunks),
            "index_type": type(faiss_index).__name__,
            "nprobe": int(getattr(faiss_index, "nprobe", 0)) or None,
            "docs": new_docs,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        gen = store.commit(manifest, all_chunks, vectors, faiss_index)
        if broken is not None and broken.is_dir():  # never kept as the fallback
            shutil.rmtree(broken, ignore_errors=True)
        report.wrote = True
        report.seconds = time.perf_counter() - t0
        return load_generation(gen), report
