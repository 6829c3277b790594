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

from rag.index import ann
from rag.types import Chunk

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHUNKER_VERSION = (
    6  # bump when cleaning or chunking changes their output (text, title, author, date) for the same files
)
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


def _write_file(path: Path, write: Callable[[Path], object]) -> None:
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

    def load_or_previous(self) -> Index | None:
        """The live generation, or the newest one before it when the live one is broken."""
        try:
            return self.load()
        except CorruptIndex:
            return self.load_previous(None)

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
            sizes = {n: (tmp / n).stat().st_size for n in FILES if n != "manifest.json"}
            manifest = dict(manifest, files=sizes)
            text = json.dumps(manifest, indent=1)
            _write_file(tmp / "manifest.json", lambda p: p.write_text(text, "utf-8"))
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
        self.sweep_leftovers()

    def drop_old_generations(self) -> None:
        """Keep the live generation and the newest other one (the fallback); remove the rest,
        e.g. a generation a killed build renamed into place but never made live. Only call it
        when the live generation loads: while it is broken, every other one may be needed."""
        try:
            live = self.current_generation()
        except CorruptIndex:
            return
        if live is not None and live.is_dir():
            self._collect_garbage({live.name})

    def sweep_leftovers(self) -> None:
        """Remove what killed builds left: temporary generations (a full one holds all the
        vectors) and pointer files. Call it holding ``lock()``: every writer holds it, so no
        other build is in progress."""
        for pointer in self.path.glob(".CURRENT-*"):
            with contextlib.suppress(OSError):
                pointer.unlink(missing_ok=True)
        for tmp in self.path.glob(".tmp-*"):
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
