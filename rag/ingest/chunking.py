"""Splitting articles into passages that a citation can point at exactly.

Passages are runs of whole sentences (never a cut mid-sentence, so a quoted passage reads well),
packed up to ``size`` characters, with the last ``overlap`` sentences repeated at the start of the
next passage so that a fact spanning a boundary is still whole in one of them. Each passage keeps
character offsets into the cleaned article: ``document.text[c.start:c.end] == c.text``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import blingfire

from rag.types import Chunk, Document

_LINE = re.compile(r"[^\n]+")
# A full stop glued to the next sentence ("…towards its defence.According to…"), as scraped pages
# often are: the sentence splitter sees one word there, so a quote would run on into the next fact.
_GLUED_STOP = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_WORD_BREAK = re.compile(r"\s+")


def chunk_id(source: str, text: str) -> str:
    """Stable: the same text of the same article always gets the same id."""
    return hashlib.sha1(f"{source}\x00{text}".encode()).hexdigest()[:16]


def _split_long(text: str, start: int, end: int, limit: int) -> Iterable[tuple[int, int]]:
    """A 'sentence' longer than ``limit`` (tables, lists without stops) is cut at word breaks."""
    while end - start > limit:
        cut = start + limit
        breaks = [m.start() for m in _WORD_BREAK.finditer(text, start + limit // 2, cut)]
        if breaks:
            cut = breaks[-1]
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def sentence_spans(text: str, max_len: int = 0) -> list[tuple[int, int]]:
    """(start, end) of every sentence; a line break always ends a sentence (headings, list items)."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        body = line.group(0)
        if not body.strip():
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(body)
        if not offsets:
            offsets = [(0, len(body))]
        for a, b in _unglue(body, offsets):
            a, b = line.start() + a, line.start() + b
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b <= a:
                continue
            if max_len and b - a > max_len:
                spans.extend(_split_long(text, a, b, max_len))
            else:
                spans.append((a, b))
    return spans


def _unglue(body: str, offsets: list[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    for a, b in offsets:
        for m in _GLUED_STOP.finditer(body, a, b):
            yield a, m.start()
            a = m.start()
        yield a, b


def chunk_document(doc: Document, size: int = 600, overlap: int = 1) -> list[Chunk]:
    """Pack sentences into passages of at most ``size`` characters (one over-long sentence excepted)."""
    sents = sentence_spans(doc.text, max_len=size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sents):
        j = i + 1
        while j < len(sents) and sents[j][1] - sents[i][0] <= size:
            j += 1
        start, end = sents[i][0], sents[j - 1][1]
        text = doc.text[start:end]
        chunks.append(
            Chunk(
                chunk_id(doc.source, text),
                doc.source,
                doc.title,
                text,
                start,
                end,
                doc.author,
                doc.date,
                _pages(doc, start, end),
                tuple(b - start for b in doc.page_starts if start < b < end),
                _table_rows(doc, start, end),
            )
        )
        if j >= len(sents):
            break
        # Repeat the last `overlap` sentences, but always move forward by at least one.
        i = max(i + 1, j - overlap)
    return chunks


def _pages(doc: Document, start: int, end: int) -> tuple[int, int] | None:
    first = doc.page_at(start)
    return None if first is None else (first, doc.page_at(max(start, end - 1)) or first)


def _table_rows(doc: Document, start: int, end: int) -> tuple:
    return tuple(
        (r.start - start, r.end - start, t.header, r.cells)
        for t in doc.tables
        for r in t.rows
        if start <= r.start and r.end <= end
    )


def chunk_documents(docs: Iterable[Document], size: int = 600, overlap: int = 1) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d, size, overlap)]
