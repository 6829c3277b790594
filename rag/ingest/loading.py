"""Reading article files into clean ``Document``s.

Articles come from the web, so they arrive mis-encoded, wrapped in HTML or Markdown, or as files
that are not text at all. A bad file is skipped with a warning naming it; the rest still load.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.ingest.chrome import PAGE_BREAK, Cleaned, clean_title, label_of, strip_chrome
from rag.ingest.decoding import UnreadableFile, decode_bytes, repair_mojibake
from rag.ingest.extracted import Extracted
from rag.ingest.tables import locate_tables, rewrite_pipe_tables
from rag.settings import default
from rag.types import Document

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_FILE_BYTES = default("max_file_mb") * 2**20


# --- markup ---------------------------------------------------------------------------------
_BLOCK_TAGS = "p,div,br,li,h1,h2,h3,h4,h5,h6,tr,section,article,header,footer,blockquote,pre,table,ul,ol"


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per line; scripts, styles and templates dropped."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(html)
    for node in tree.css("script, style, noscript, template, iframe, svg, head"):
        node.decompose()
    title_node = HTMLParser(html).css_first("title")
    for table in tree.css("table"):
        table.replace_with(_pipe_table(table))
    for node in tree.css(_BLOCK_TAGS):
        node.insert_after("\n")
    body = tree.body if tree.body is not None else tree.root
    text = body.text(separator="", deep=True) if body is not None else ""
    if title_node is not None and title_node.text().strip() and not text.strip().startswith(title_node.text().strip()):
        text = title_node.text().strip() + "\n" + text
    return text


def _pipe_table(table: Any) -> str:
    """An HTML table as pipe-table text (first row as the header), which ``rag.ingest.tables`` rewrites."""
    rows = []
    for tr in table.css("tr"):
        cells = [" ".join(td.text(deep=True, separator=" ").split()).replace("|", "/") for td in tr.css("th, td")]
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    if len(rows) < 2:
        return "\n" + "\n".join(r.strip("| ") for r in rows) + "\n"
    width = rows[0].count("|") - 1
    return "\n" + "\n".join([rows[0], "|" + "---|" * width, *rows[1:]]) + "\n"


def extract_html(html: str) -> Extracted:
    """The article of a web page as a browser saves it (navigation, footer, comments, cookie
    banners and all): trafilatura's main-text extraction with title, author and date; the
    page's visible text when trafilatura finds no article (a fragment, a bare page)."""
    doc: Any
    try:
        import trafilatura

        doc = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_tables=True,
            include_comments=False,
            include_images=False,
            deduplicate=False,
            # The publication date the page states, not a guess from any date-like text (a
            # copyright year became "2025-01-01"): a date here is shown and answered as the article's.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as e:  # noqa: BLE001 - a library failure on odd markup: fall back, don't lose the file
        log.debug("trafilatura failed (%s); using the page's visible text", e)
        doc = None
    text = (doc.text or "") if doc is not None else ""
    if len(text) < 400:  # nothing found, or perhaps a fragment of a short page: compare with all of it
        fallback = html_to_text(html)
        if not text.strip() or len(text) < 0.2 * len(fallback.strip()) and len(fallback) < 2000:
            return Extracted([fallback])
    title = doc.title or ""  # doc is set: text is not empty
    if title and title.lower() not in text[: len(title) + 200].lower():
        text = title + "\n" + text  # the headline belongs to what the reader sees (and what is searched)
    return Extracted([text], title, doc.author or "", doc.date or "")  # type: ignore[union-attr]


def markdown_to_text(md: str) -> str:
    """Markdown rendered to HTML (markdown-it, CommonMark) and then to plain text."""
    from markdown_it import MarkdownIt

    return html_to_text(MarkdownIt("commonmark").enable("table").render(md))


# --- whitespace -----------------------------------------------------------------------------
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# "computing,biotechnology,and energy": a comma glued to the next word, a common scraping defect.
# Words on both sides (two letters or more) keep "V(x,y,z)" and "1,300" as they are.
_GLUED_COMMA = re.compile(r"(?<=[a-z]{2}),(?=[A-Za-z]{2})")


def normalize_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_GLUED_COMMA.sub(", ", _SPACES.sub(" ", line)).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def extract(raw_text: str, suffix: str = ".txt") -> Extracted:
    suffix = suffix.lower()
    if suffix in (".html", ".htm"):
        return extract_html(raw_text)
    if suffix in (".md", ".markdown"):
        return Extracted([markdown_to_text(raw_text)])
    return Extracted([raw_text])


def assemble(found: Extracted) -> tuple[str, Cleaned, tuple[int, ...], list]:
    """Clean text from extracted pages: mojibake repaired, whitespace normalized, tables
    rewritten as row lines, site chrome dropped; with the offsets where pages begin."""
    lines: list[str] = []
    tables: list = []
    for n, page in enumerate(found.pages, 1):
        page, page_tables = rewrite_pipe_tables(normalize_whitespace(repair_mojibake(page)))
        tables += page_tables
        if found.paged:
            lines.append(f"{PAGE_BREAK}{n}")
        lines.extend(page.split("\n"))
    cleaned = strip_chrome(lines)
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    pending_page = False
    for line in cleaned.lines:
        if line.startswith(PAGE_BREAK):
            pending_page = True
            continue
        if not line.strip():
            if out and out[-1]:
                out.append("")
                pos += 1
            continue
        if out:
            pos += 1  # the newline before this line
        if pending_page:
            starts.append(pos)
            pending_page = False
        out.append(line)
        pos += len(line)
    text = "\n".join(out).strip()
    if found.paged and starts and starts[0] != 0:
        starts[0] = 0
    return text, cleaned, tuple(starts), tables


def clean_text(raw_text: str, suffix: str = ".txt") -> str:
    """The cleaned text of a file's decoded contents (what every offset points into)."""
    return assemble(extract(raw_text, suffix))[0]


def _iso_date(value: str) -> str:
    if not value:
        return ""
    try:
        from dateutil import parser

        return parser.parse(value, fuzzy=True, default=None).date().isoformat()  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError, ImportError):
        return value


# --- public ---------------------------------------------------------------------------------
def too_big(name: str, size: int, limit: int) -> str:
    """The one wording of a size refusal (indexing, uploads): MiB, as file managers show them."""
    return f"{name}: {size / 2**20:.1f} MB is over the {limit / 2**20:.0f} MB limit"


def read_file(path: Path, name: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableFile(too_big(name, size, max_bytes))
        return path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"{name}: cannot read ({e.strerror or e})") from e


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def document_from_bytes(raw: bytes, source: str, suffix: str = ".txt") -> Document:
    if suffix.lower() == ".pdf":
        found = _extract_pdf(raw, source)
    else:
        found = extract(decode_bytes(raw, source), suffix)
    text, cleaned, page_starts, tables = assemble(found)
    if not text:
        raise UnreadableFile(f"{source}: no text after cleaning")
    title, is_label = cleaned.title, cleaned.title_is_label
    if found.title and (is_label or not found.paged):  # the page's own title beats a guess from lines
        title, is_label = clean_title(found.title), False
    return Document(
        source=source,
        title=title[:200] or label_of(text),
        text=text,
        content_hash=content_hash(raw),
        author=(found.author or cleaned.author)[:120],
        date=_iso_date(found.date or cleaned.date),
        title_is_label=is_label,
        page_starts=page_starts,
        tables=locate_tables(text, tables),
    )


def _extract_pdf(raw: bytes, source: str) -> Extracted:
    from rag.ingest.pdf import read_pdf

    if not raw.startswith(b"%PDF"):
        raise UnreadableFile(f"{source}: not a PDF file")
    try:
        return read_pdf(raw, source)
    except ValueError as e:  # NoTextLayer included: its message names the file and the reason
        raise UnreadableFile(str(e)) from e
    except Exception as e:
        raise UnreadableFile(f"{source}: damaged PDF ({type(e).__name__}: {e})") from e


def load_document(path: Path, source: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """One file to a Document, or ``UnreadableFile`` saying why not."""
    name = source or path.name
    return document_from_bytes(read_file(path, name, max_bytes), name, path.suffix)


def article_paths(docs_dir: Path) -> list[Path]:
    """Supported files under ``docs_dir`` (recursively), hidden files excluded, in stable order."""
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"articles folder not found: {docs_dir}")
    return sorted(
        p
        for p in docs_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(docs_dir).parts)
    )


def iter_documents(docs_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> Iterator[Document]:
    """Every readable article under ``docs_dir``; unreadable ones are logged and skipped."""
    for path in article_paths(docs_dir):
        source = path.relative_to(docs_dir).as_posix()
        try:
            yield load_document(path, source, max_bytes)
        except UnreadableFile as e:
            log.warning("skipped %s", e)


def load_documents(docs_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    return list(iter_documents(docs_dir, max_bytes))
