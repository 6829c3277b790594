"""Property-based tests (hypothesis): passage offsets, citation markers, and a fuzz run of the loader."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer.verification import split_draft
from rag.app.rendering import _cite_links
from rag.ingest.chunking import chunk_document, sentence_spans
from rag.ingest.loading import UnreadableFile, document_from_bytes
from rag.text import MARKER, strip_markers
from rag.types import Document
from tests.conftest import SEEDS

WORDS = ["Japan", "tariff", "alliance", "missiles", "summit", "trade", "Tokyo", "debt", "percent", "the", "of", "18"]
SEED_BYTES = [p.read_bytes() for p in sorted(SEEDS.glob("*.txt"))]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200), min_size=1, max_size=20),
    st.integers(min_value=40, max_value=900),
    st.integers(min_value=0, max_value=2),
)
def test_passages_cover_every_sentence_within_the_size(parts: list[str], size: int, overlap: int) -> None:
    text = "\n".join(parts).strip()
    if not text:
        return
    doc = Document("a.txt", "t", text, "h")
    chunks = chunk_document(doc, size, overlap)
    covered: set[int] = set()
    for c in chunks:
        assert text[c.start : c.end] == c.text and len(c.text) <= size
        covered.update(range(c.start, c.end))
    for a, b in sentence_spans(text, max_len=size):
        assert a in covered and b - 1 in covered
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


sentence = st.tuples(
    st.sampled_from(["Japan", "The", "Tokyo", "Officials"]), st.lists(st.sampled_from(WORDS), min_size=2, max_size=12)
).map(lambda t: " ".join([t[0], *t[1]]))
markers = st.lists(st.integers(min_value=1, max_value=9), min_size=0, max_size=3)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(sentence, markers, st.booleans()), min_size=1, max_size=5))
def test_each_sentence_keeps_its_own_citation_markers(parts: list[tuple[str, list[int], bool]]) -> None:
    pieces = []
    for body, nums, after_stop in parts:
        marks = "".join(f"[{n}]" for n in nums)
        # models write both "… debt [1]." and "… debt. [1]"
        if not marks:
            pieces.append(f"{body}.")
        else:
            pieces.append(f"{body}. {marks}" if after_stop else f"{body} {marks}.")
    parsed = split_draft(" ".join(pieces))
    assert [nums for _, nums in parsed] == [nums for _, nums, _ in parts]
    assert [strip_markers(b).rstrip(".") for b, _ in parsed] == [b for b, _, _ in parts]
    assert not any(MARKER.search(b) for b, _ in parsed)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_marker_stripping_and_linking_are_total(text: str) -> None:
    once = strip_markers(text)
    assert strip_markers(once) == once and not MARKER.search(once)
    linked = _cite_links(text)
    assert len(re.findall(r'class="cite"', linked)) == len(re.findall(r"\[(\d+)\]", text))


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=4000),
        st.builds(
            _mutate,
            st.sampled_from(SEED_BYTES),
            st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=40),
        ),
        st.builds(lambda b, n: b[:n], st.sampled_from(SEED_BYTES), st.integers(0, 12000)),
        st.text(max_size=2000).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    ),
    st.sampled_from([".txt", ".md", ".html"]),
)
def test_loader_fuzz_returns_clean_text_or_a_named_refusal(data: bytes, suffix: str) -> None:
    try:
        doc = document_from_bytes(data, f"fuzz{suffix}", suffix)
    except UnreadableFile as e:
        assert str(e).startswith(f"fuzz{suffix}: ")
        return
    assert doc.text and doc.text == doc.text.strip()
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", doc.text)
    assert 0 < len(doc.title) <= 200 and len(doc.content_hash) == 64
    for c in chunk_document(doc):
        assert doc.text[c.start : c.end] == c.text
