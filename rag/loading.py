"""Reading article files into clean ``Document``s.

Articles come from the web, so they arrive mis-encoded, wrapped in HTML or Markdown, or as files
that are not text at all. A bad file is skipped with a warning naming it; the rest still load.
"""
from __future__ import annotations

import codecs
import hashlib
import itertools
import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import ftfy

from rag.types import Document

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_FILE_BYTES = 20 * 1024 * 1024


class UnreadableFile(ValueError):
    """A file that cannot be turned into article text (binary, empty, undecodable, too big)."""


# --- mojibake -------------------------------------------------------------------------------
# ftfy repairs UTF-8 read as cp1252/latin-1, but not UTF-8 read through other single-byte code
# pages with "sloppy" fallbacks (bundled article 003: UTF-8 read as Greek cp1253, undefined bytes
# taken from cp1252, so “ became "β€œ" and » became "Β»"). We undo it one UTF-8 sequence at a time:
# map each suspicious character back to its byte, and keep the decoding only where the bytes form
# a valid multi-byte UTF-8 sequence. Text that is genuinely Greek or Cyrillic almost never forms
# such sequences (its letters are lead bytes, not continuation bytes), so it is left alone.
_CODEPAGES = ("cp1252", "latin-1", "cp1253", "iso8859_7", "cp1251", "cp1250", "cp1254", "cp1257")


def _byte_candidates() -> dict[str, tuple[int, ...]]:
    """Each character a byte 0x80-0xFF can turn into, in any code page above, and those bytes."""
    cands: dict[str, list[int]] = {}
    for cp in _CODEPAGES:
        for b in range(0x80, 0x100):
            try:
                ch = bytes([b]).decode(cp)
            except UnicodeDecodeError:
                continue
            if b not in cands.setdefault(ch, []):
                cands[ch].append(b)
    return {ch: tuple(bs) for ch, bs in cands.items()}


_BYTES = _byte_candidates()


def _utf8_len(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _plausible(decoded: str) -> bool:
    """Would a writer have typed this? Rejects unassigned code points and, for two-byte sequences,
    letters of other scripts (genuine Greek "ή»" would otherwise decode to a Thaana letter)."""
    cat = unicodedata.category(decoded)
    if cat in ("Cn", "Cs", "Co") or cat.startswith("C"):
        return False
    if ord(decoded) < 0x800:
        return cat[0] in "PSZN" or unicodedata.name(decoded, "").startswith("LATIN")
    return True


def _decode_at(run: str, i: int) -> tuple[str, int] | None:
    """A valid, plausible UTF-8 sequence spelled by the characters starting at ``run[i]``."""
    for lead in _BYTES.get(run[i], ()):
        n = _utf8_len(lead)
        if not n or i + n > len(run):
            continue
        options = [
            [b for b in _BYTES.get(c, ()) if 0x80 <= b <= 0xBF] for c in run[i + 1 : i + n]
        ]
        if not all(options):
            continue
        for tail in itertools.islice(itertools.product(*options), 64):
            try:
                decoded = bytes((lead, *tail)).decode("utf-8")
            except UnicodeDecodeError:
                continue
            if _plausible(decoded):
                return decoded, n
    return None


def _repair_run(run: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(run):
        hit = _decode_at(run, i)
        if hit:
            out.append(hit[0])
            i += hit[1]
        else:
            out.append(run[i])
            i += 1
    return "".join(out)


_SUSPECT_RUN = re.compile(r"[^\x00-\x7f]{2,}")


def repair_mojibake(text: str) -> str:
    """ftfy first, then the sequence-level pass for code pages and mixtures ftfy does not try."""
    text = ftfy.fix_text(text, normalization="NFC", uncurl_quotes=False)
    return _SUSPECT_RUN.sub(lambda m: _repair_run(m.group(0)), text)


# --- decoding -------------------------------------------------------------------------------
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# cp1252 leaves five bytes undefined; a stray one is kept as its Latin-1 character.
_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("rag-cp1252", _cp1252_fallback)


def _decode_invalid_utf8(raw: bytes, name: str) -> str:
    """Bytes that are not valid UTF-8: either a legacy single-byte file (no valid multi-byte
    sequence at all: detect its encoding), or UTF-8 with stray legacy bytes pasted in (valid
    sequences *and* invalid bytes: keep the UTF-8, read each stray byte as cp1252)."""
    valid = raw.decode("utf-8", errors="ignore")
    if len(valid.encode("utf-8")) > len(valid):  # some valid multi-byte sequences: a mixture
        return raw.decode("utf-8", errors="rag-cp1252")
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise UnreadableFile(f"{name}: not decodable as text")
    return str(best)


def decode_bytes(raw: bytes, name: str = "<bytes>") -> str:
    """Bytes to text: a byte-order mark's encoding, else UTF-8, else UTF-8 with stray legacy
    bytes repaired, else the detected legacy encoding; binary data is refused."""
    if not raw.strip():
        raise UnreadableFile(f"{name}: empty file")
    text = None
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise UnreadableFile(f"{name}: starts with a {encoding} byte-order mark but is not {encoding}") from None
            break
    if text is None:
        if b"\x00" in raw[:8192]:
            raise UnreadableFile(f"{name}: looks binary (NUL bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_invalid_utf8(raw, name)
    sample = text[:8192]
    controls = sum(1 for c in sample if (ord(c) < 32 and c not in "\n\r\t\f") or c == "\ufffd")
    if controls > 0.05 * len(sample):
        raise UnreadableFile(f"{name}: looks binary (control characters)")
    if not text.strip():
        raise UnreadableFile(f"{name}: empty file")
    return text


# --- markup ---------------------------------------------------------------------------------
_BLOCK_TAGS = "p,div,br,li,h1,h2,h3,h4,h5,h6,tr,section,article,header,footer,blockquote,pre,table,ul,ol"


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per line; scripts, styles and templates dropped."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(html)
    for node in tree.css("script, style, noscript, template, iframe, svg, head"):
        node.decompose()
    title_node = HTMLParser(html).css_first("title")
    for node in tree.css(_BLOCK_TAGS):
        node.insert_after("\n")
    body = tree.body if tree.body is not None else tree.root
    text = body.text(separator="", deep=True) if body is not None else ""
    if title_node is not None and title_node.text().strip() and not text.strip().startswith(
        title_node.text().strip()
    ):
        text = title_node.text().strip() + "\n" + text
    return text


def markdown_to_text(md: str) -> str:
    """Markdown rendered to HTML (markdown-it, CommonMark) and then to plain text."""
    from markdown_it import MarkdownIt

    return html_to_text(MarkdownIt("commonmark").enable("table").render(md))


# --- whitespace -----------------------------------------------------------------------------
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def clean_text(raw_text: str, suffix: str = ".txt") -> str:
    suffix = suffix.lower()
    if suffix in (".html", ".htm"):
        raw_text = html_to_text(raw_text)
    elif suffix in (".md", ".markdown"):
        raw_text = markdown_to_text(raw_text)
    return normalize_whitespace(repair_mojibake(raw_text))


def title_of(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line.strip()[:200]
    return ""


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
    text = clean_text(decode_bytes(raw, source), suffix)
    if not text:
        raise UnreadableFile(f"{source}: no text after cleaning")
    return Document(source=source, title=title_of(text), text=text, content_hash=content_hash(raw))


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
