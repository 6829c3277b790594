"""Small text helpers shared by several stages, defined once.

Citation markers (``[n]``) are structure, not content: they map to ``Answer.citations``, so text
is compared and shown without them. Numbers are matched the same way wherever an answer's numbers
are checked against its evidence. Control characters are removed from anything a person typed.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"\s*\[(\d+)\]")  # a citation marker, with the space before it
NUMBER_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?")  # 1,300 / 2024 / 3.5
# C0 and C1 controls (tab and newline kept) and lone surrogates
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def strip_markers(text: str) -> str:
    """``text`` without its [n] markers, whitespace collapsed."""
    return " ".join(MARKER.sub("", text).split())
