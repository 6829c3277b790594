"""Preparing pending articles for the index: read, clean, chunk and embed, in this process
(``LocalPreparer``) or on Ray workers (``rag.index.ray_workers``), which share these steps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.ingest.chunking import chunk_document
from rag.ingest.loading import MAX_FILE_BYTES, UnreadableFile, document_from_bytes, read_file
from rag.models.embedding import Embedder
from rag.types import Chunk


@dataclass(frozen=True)
class Pending:
    """An article that is new or changed since the live index: to load, chunk and embed.

    ``known`` holds the ids of passages the live index already has vectors for (from the
    article's previous version), so an edit re-embeds only the passages whose text changed."""

    source: str
    path: Path
    known: frozenset[str] = frozenset()


@dataclass
class Prepared:
    """One pending article loaded and chunked, with vectors for its passages not in ``known``
    (rows in passage order); or the reason it could not be read."""

    source: str
    entry: dict | None = None  # its manifest entry
    chunks: list[Chunk] = field(default_factory=list)
    vectors: np.ndarray | None = None
    error: str | None = None


class Preparer(Protocol):
    """Turns pending articles into prepared ones: in this process (``LocalPreparer``) or on a Ray
    cluster (``rag.index.ray_workers.RayPreparer``). Order of the results does not matter."""

    def __call__(self, pending: list[Pending]) -> Iterable[Prepared]: ...


def load_and_chunk(item: Pending, chunk_size: int, chunk_overlap: int, max_file_bytes: int) -> Prepared:
    """Read, clean and chunk one article; no embedding. Runs wherever the preparer runs."""
    try:
        raw = read_file(item.path, item.source, max_file_bytes)
        doc = document_from_bytes(raw, item.source, item.path.suffix)
    except UnreadableFile as e:
        return Prepared(item.source, error=str(e))
    chunks = chunk_document(doc, chunk_size, chunk_overlap)
    entry = {
        "hash": doc.content_hash,
        "title": doc.title,
        "title_is_label": doc.title_is_label,
        "author": doc.author,
        "date": doc.date,
        "pages": len(doc.page_starts) or None,
        "chunks": len(chunks),
        "chars": len(doc.text),
    }
    return Prepared(item.source, entry, chunks)


def new_texts(item: Pending, prepared: Prepared) -> list[str]:
    """The passages of ``prepared`` that need a vector, in order."""
    return [c.text for c in prepared.chunks if c.id not in item.known]


@dataclass
class LocalPreparer:
    """Loads and chunks in this process, then embeds every new passage in one ``encode`` call (so
    batches stay full and long texts are grouped)."""

    embedder: Embedder
    chunk_size: int
    chunk_overlap: int
    max_file_bytes: int = MAX_FILE_BYTES
    show_progress: bool = False

    def __call__(self, pending: list[Pending]) -> list[Prepared]:
        done = [load_and_chunk(p, self.chunk_size, self.chunk_overlap, self.max_file_bytes) for p in pending]
        texts = [new_texts(p, d) for p, d in zip(pending, done, strict=True)]
        vecs = self.embedder.encode([t for ts in texts for t in ts], show_progress=self.show_progress)
        at = 0
        for d, ts in zip(done, texts, strict=True):
            d.vectors, at = vecs[at : at + len(ts)], at + len(ts)
        return done
