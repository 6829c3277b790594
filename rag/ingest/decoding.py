"""Bytes to text: the encoding of an article file, and repair of text decoded through the wrong
code page (mojibake). Articles come from the web and arrive in every state; what cannot become
text raises ``UnreadableFile`` naming the file and the reason."""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata

import ftfy


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
        options = [[b for b in _BYTES.get(c, ()) if 0x80 <= b <= 0xBF] for c in run[i + 1 : i + n]]
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
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
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
                raise UnreadableFile(
                    f"{name}: starts with a {encoding} byte-order mark but is not {encoding}"
                ) from None
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
