"""rag: local, offline question answering over news articles, with cited and verified answers.

    import rag
    ans = rag.query("By how much has defense spending in the Indo-Pacific risen?")
    print(ans.text)
    for c in ans.citations:
        print(c.n, c.source, c.start, c.end)

The first call builds or loads the index and the models; later calls reuse them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.types import Answer, Chunk, Citation, Document, Passage, Sentence

if TYPE_CHECKING:
    from rag.answer.questions import InvalidQuestion
    from rag.pipeline import Pipeline
    from rag.settings import Settings

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "InvalidQuestion",
    "Passage",
    "Pipeline",
    "Sentence",
    "Settings",
    "default_pipeline",
    "query",
    "query_stream",
]
__version__ = "0.1.0"

_LAZY = {"InvalidQuestion": "rag.answer.questions", "Pipeline": "rag.pipeline", "Settings": "rag.settings"}


def __getattr__(name: str) -> Any:
    """The pipeline (and what it imports: FAISS, BM25, spaCy) loads on first use, so a command
    that only talks to a running server, or only reads settings, starts in a fraction of a second."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


_default: Pipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> Pipeline:
    """The process-wide pipeline over the configured (by default: bundled) articles."""
    global _default
    with _default_lock:
        if _default is None:
            from rag.pipeline import Pipeline

            _default = Pipeline()
        return _default


def query(question: str, history: list[dict] | None = None, top_k: int | None = None) -> Answer:
    """Answer ``question`` from the articles, with [n] markers pointing into ``Answer.citations``.

    ``history`` is the conversation so far as ``{"role": "user"|"assistant", "content": str}``
    turns; a follow-up question is made standalone from it before retrieval.
    """
    return default_pipeline().query(question, history=history, top_k=top_k)


def query_stream(question: str, history: list[dict] | None = None, top_k: int | None = None) -> Iterator[str | Answer]:
    """The draft as it is written (``str`` pieces, when the generator drafts), then the verified
    ``Answer``: for chat front ends that show text as it comes."""
    return default_pipeline().query_stream(question, history=history, top_k=top_k)
