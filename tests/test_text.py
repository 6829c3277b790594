"""The shared text helpers: markers, numbers, control characters."""

from __future__ import annotations

from rag.text import CONTROL_CHARS, MARKER, NUMBER_TOKEN, strip_markers


def test_markers_are_structure_not_content() -> None:
    text = "Spending rose by over $4.2 billion [1]. It is the largest rise [2][3]."
    assert strip_markers(text) == "Spending rose by over $4.2 billion. It is the largest rise."
    assert [m.group(1) for m in MARKER.finditer(text)] == ["1", "2", "3"]
    assert strip_markers("no markers  here") == "no markers here"


def test_numbers_are_matched_whole() -> None:
    assert NUMBER_TOKEN.findall("250 ships, $1,300.5 million in 2024 and 3.5%") == ["250", "1,300.5", "2024", "3.5"]
    assert NUMBER_TOKEN.findall("Article nine") == []


def test_control_characters_go_but_lines_and_tabs_stay() -> None:
    typed = "a\x00b\x1bc\td\ne\x85f\ud800g"
    assert CONTROL_CHARS.sub(" ", typed) == "a b c\td\ne f g"
