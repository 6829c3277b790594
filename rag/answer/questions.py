"""What a question and a conversation must look like before anything is retrieved.

Bad input gets a clear ``InvalidQuestion`` naming what is wrong, from every front end alike (the
chat shows it, the CLI prints it and exits 2, ``rag.query`` raises it); nothing is cut silently.
"""

from __future__ import annotations

import unicodedata

from rag.text import CONTROL_CHARS

# Joiners and variation selectors that only glue emoji together.
_EMOJI_GLUE = {"\u200d", "\u20e3"} | {chr(c) for c in range(0xFE00, 0xFE10)}


class InvalidQuestion(ValueError):
    """The question cannot be asked as given (empty, not text); the message says why."""


def check_question(question: object, limit: int) -> str:
    """The question as retrieval should see it, or ``InvalidQuestion`` saying what is wrong.

    Control characters go (they are never part of what someone asks), and so do pictographs
    (emoji, dingbats): the reader's vocabulary has no token for them, and an unknown token in
    the question shifts every span score, so a decorated question would be read worse than the
    plain one. Signs that carry meaning (°, ©, currency, arithmetic) stay. An over-long question is refused rather than silently
    cut: what was pasted is most likely not the question, and the user should decide."""
    if not isinstance(question, str):
        raise InvalidQuestion(f"the question must be text, not {type(question).__name__}")
    question = " ".join(CONTROL_CHARS.sub(" ", question).split())
    if not question:
        raise InvalidQuestion("the question is empty")
    if not any(ch.isalnum() for ch in question):
        raise InvalidQuestion("the question has no words to search for")
    question = " ".join("".join(" " if _pictograph(ch) else ch for ch in question).split())
    if len(question) > limit:
        raise InvalidQuestion(
            f"the question is {len(question):,} characters long; the limit is {limit:,} "
            "(RAG_MAX_QUESTION_CHARS). Ask it in fewer words."
        )
    return question


def _pictograph(ch: str) -> bool:
    return ch in _EMOJI_GLUE or (ord(ch) >= 0x2000 and unicodedata.category(ch) in ("So", "Sk"))


def check_history(history: object) -> list[dict] | None:
    """The conversation as ``[{"role": "user"|"assistant", "content": str}, ...]``, or a clear
    ``InvalidQuestion``. Content given as a list of parts (as chat UIs send it) is joined."""
    if history is None:
        return None
    if not isinstance(history, list):
        raise InvalidQuestion(f"history must be a list of {{role, content}} turns, not {type(history).__name__}")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant", "system"):
            raise InvalidQuestion(f"history turn {i} is not a {{role: user|assistant, content}} object")
        content = turn.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
        if not isinstance(content, str):
            content = str(content)
        turns.append({"role": turn["role"], "content": CONTROL_CHARS.sub(" ", content)})
    return turns or None
