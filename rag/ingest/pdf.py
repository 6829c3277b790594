"""Text of a PDF, page by page, in reading order (pypdf), ready for the same cleaning as text files.

PDF text arrives as hard-wrapped lines, hyphenated at line ends, with the running header and
footer (journal name, "Page 3 of 9") repeated on every page. Lines of one paragraph are joined
(the sentence splitter treats a line break as the end of a sentence), hyphenation is undone, and
a line that opens or closes most pages is dropped as a running header or footer. A PDF without a
text layer (a scan) is refused with a message that says so, like any other unreadable file.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import Any

from rag.ingest.extracted import Extracted

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 40  # fewer extractable characters than this over the whole file: a scan
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–]\s*\d{1,4}\s*[-–]$", re.IGNORECASE)
_END = re.compile(r"[.!?:;\"”’)\]]$")


class NoTextLayer(ValueError):
    pass


def read_pdf(raw: bytes, name: str) -> Extracted:
    """Each page's text (paragraphs joined, running headers and footers removed) and the
    document's metadata. Raises ``ValueError`` for a damaged or encrypted file, ``NoTextLayer``
    for a scan."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as e:
                raise ValueError(f"{name}: encrypted PDF") from e
        raw_pages = [page.extract_text() or "" for page in reader.pages]
        meta: Any = reader.metadata or {}
    except PdfReadError as e:
        raise ValueError(f"{name}: not a readable PDF ({e})") from e
    if sum(len(p.strip()) for p in raw_pages) < MIN_TEXT_CHARS:
        raise NoTextLayer(f"{name}: PDF has no text layer (a scan?); run OCR on it first")
    pages = [reflow(p) for p in drop_running_lines([p.split("\n") for p in raw_pages])]
    title = _meta(meta, "/Title")
    if title.lower() in ("untitled",) or title.lower().endswith((".doc", ".docx", ".pdf")):
        title = ""  # a file name or a word processor's placeholder, not the article's title
    # No date from /CreationDate: that is when the file was made (printed, exported), which the
    # product would otherwise show and answer as the article's publication date.
    return Extracted(pages, title, _meta(meta, "/Author"), "", paged=True)


def _meta(meta: object, key: str) -> str:
    try:
        value = meta.get(key)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - broken metadata is no metadata
        return ""
    return " ".join(str(value).split()) if value else ""


def drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Without lines that open or close at least half of the pages (and at least two) and bare
    page numbers: running headers and footers, not article text."""

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split()).lower())

    edges: Counter[str] = Counter()
    for lines in pages:
        body = [ln for ln in lines if ln.strip()]
        for ln in set(body[:2] + body[-2:]):
            edges[key(ln)] += 1
    repeated = {k for k, n in edges.items() if n >= max(2, len(pages) / 2)}
    out = []
    for lines in pages:
        out.append([ln for ln in lines if key(ln) not in repeated and not _PAGE_NUMBER.match(ln.strip())])
    return out


def reflow(lines: list[str]) -> str:
    """Hard-wrapped lines to paragraphs: a line is joined to the next unless it ends a sentence
    and is short of the usual line width, or the next line starts a new block."""
    lines = [" ".join(ln.split()) for ln in lines]
    widths = sorted(len(ln) for ln in lines if ln)
    full = widths[int(len(widths) * 0.8)] if widths else 0
    out: list[str] = []
    for ln in lines:
        if not ln:
            if out and out[-1]:
                out.append("")
            continue
        prev = out[-1] if out else ""
        joinable = (
            prev and (not _END.search(prev) or len(prev) >= 0.9 * full) and not ln.startswith(("•", "-", "*", "|"))
        )
        if joinable and len(prev) >= 0.6 * full:
            if prev.endswith("-") and ln[:1].islower():
                out[-1] = prev[:-1] + ln
            else:
                out[-1] = prev + " " + ln
        else:
            out.append(ln)
    return "\n".join(out)
