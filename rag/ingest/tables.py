"""Tables in articles: rewritten as one readable line per row for embedding and quoting, with the
cells kept so the source card can show the table again.

A pipe table (Markdown, or what trafilatura makes of an HTML ``<table>``) reads badly as text and
embeds worse: "| Defense | Existing security treaty | … |". Each row becomes a line that states
the row: ``Defense — Current Status: Existing security treaty; Potential Developments: …`` (the
first column names the row, the header names each other cell). The line is ordinary text of the
article, so a citation's character span still points at exactly what the user sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROW = re.compile(r"^\s*\|?(.+?)\|?\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class TableRow:
    """One row as it appears in the cleaned text: ``text[start:end]`` is its readable line."""

    start: int
    end: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]


def _cells(line: str) -> list[str]:
    m = _ROW.match(line)
    body = m.group(1) if m else line
    return [c.strip() for c in body.split("|")]


_ROW_LINE = re.compile(r"^[^:;]{1,80} — [^:;]{1,60}: ")


def is_row_line(line: str) -> bool:
    """Is this a table row as ``row_line`` wrote it ("Defense — Current Status: …")? Such a line
    states facts in cells without closing punctuation; it must not pass for a heading."""
    return bool(_ROW_LINE.match(line.strip()))


def _is_row(line: str) -> bool:
    s = line.strip()
    return s.count("|") >= 2 and (s.startswith("|") or s.endswith("|"))


def row_line(header: list[str] | tuple[str, ...], cells: list[str] | tuple[str, ...]) -> str:
    """The readable line of one row."""
    cells = list(cells) + [""] * (len(header) - len(cells))
    first, rest = cells[0], cells[1:]
    parts = [f"{h}: {c}" if h else c for h, c in zip(header[1:], rest, strict=False) if c]
    if not first:
        return "; ".join(parts)
    return f"{first} — {'; '.join(parts)}" if parts else first


def rewrite_pipe_tables(text: str) -> tuple[str, list[tuple[list[str], list[list[str]]]]]:
    """``text`` with every pipe table (a header row, a ``|---|`` separator, body rows) replaced by
    readable row lines, and the tables found (header, body rows) in order."""
    lines = text.split("\n")
    out: list[str] = []
    tables: list[tuple[list[str], list[list[str]]]] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and _is_row(lines[i]) and _SEPARATOR.match(lines[i + 1]):
            header = _cells(lines[i])
            j = i + 2
            body = []
            while j < len(lines) and _is_row(lines[j]):
                body.append(_cells(lines[j])[: len(header)])
                j += 1
            if body:
                tables.append((header, body))
                out.extend(row_line(header, r) for r in body)
                i = j
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out), tables


def locate_tables(text: str, found: list[tuple[list[str], list[list[str]]]]) -> tuple[Table, ...]:
    """Where each table's row lines ended up in the final cleaned ``text`` (found in order, after
    whitespace normalization and any chrome removal; a row that is no longer there is left out)."""
    tables = []
    pos = 0
    for header, body in found:
        rows = []
        for cells in body:
            line = " ".join(row_line(header, cells).split())
            at = text.find(line, pos)
            if at < 0:
                continue
            rows.append(TableRow(at, at + len(line), tuple(" ".join(c.split()) for c in cells)))
            pos = at + len(line)
        if rows:
            tables.append(Table(tuple(" ".join(h.split()) for h in header), tuple(rows)))
    return tuple(tables)
