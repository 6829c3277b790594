"""What each format's reader hands to cleaning: the same shape whether it came from HTML, Markdown,
text or a PDF, so cleaning and chunking never ask which format a file was."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Extracted:
    """What a format's reader found: the text (one page per item for paged formats) and metadata."""

    pages: list[str]
    title: str = ""
    author: str = ""
    date: str = ""
    paged: bool = False
