"""Adding articles to the collection (uploads): checked, named safely, never overwriting.

An upload is accepted only if it is a supported type, within the size limit, readable as text,
and not already in the collection (same content hash). It is written atomically inside the
articles folder under a sanitized name; nothing already indexed is touched.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.loading import SUPPORTED_SUFFIXES, UnreadableFile, content_hash, document_from_bytes, too_big

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class AddResult:
    name: str  # what the user called it
    ok: bool
    message: str
    stored_as: str | None = None


def safe_name(name: str) -> str:
    """A plain file name: no folders, no traversal, no hidden files, only portable characters."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "article"
    return stem + suffix.lower()


def add_article(
    docs_dir: Path, name: str, data: bytes, known_hashes: set[str], max_bytes: int = MAX_UPLOAD_BYTES
) -> AddResult:
    clean = safe_name(name)
    suffix = Path(clean).suffix
    if suffix not in SUPPORTED_SUFFIXES:
        return AddResult(name, False, f"{name}: only {', '.join(SUPPORTED_SUFFIXES)} articles are accepted")
    if len(data) > max_bytes:
        return AddResult(name, False, too_big(name, len(data), max_bytes))
    digest = content_hash(data)
    if digest in known_hashes:
        return AddResult(name, False, f"{name}: already in the collection (same content)")
    try:
        document_from_bytes(data, clean, suffix)
    except UnreadableFile as e:
        return AddResult(name, False, f"rejected {e}")
    docs_dir = Path(docs_dir)
    target = docs_dir / clean
    n = 1
    while target.exists():  # never overwrite an existing article
        target = docs_dir / f"{Path(clean).stem}-{n}{suffix}"
        n += 1
    if target.resolve().parent != docs_dir.resolve():
        return AddResult(name, False, f"{name}: unsafe file name")
    tmp = docs_dir / f".upload-{uuid.uuid4().hex[:8]}{suffix}"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        return AddResult(name, False, f"{name}: could not be saved ({e.strerror or e})")
    known_hashes.add(digest)
    return AddResult(name, True, f"added {target.name}", target.name)
