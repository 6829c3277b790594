"""Turning a follow-up ("And when was that signed?") into a question retrieval can answer alone.

A follow-up leans on the conversation: a pronoun or "that" points at something said before. The
rule here carries the previous turn's words into the query (the user's last question and the start
of the answer), which is what both BM25 and the embedder need to find the right passage. A
question that stands on its own is left exactly as typed.
"""

from __future__ import annotations

import re

from rag.text import MARKER

_ANAPHORA = re.compile(
    r"\b(he|she|him|her|his|hers|it|its|they|them|their|theirs|this|that|these|those|there|then|"
    r"the same|the former|the latter|the other|the last|the first|the old|the new|such)\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"^\s*(and|but|so|also|what about|how about|then|or|ok|okay)\b", re.IGNORECASE)
MAX_CONTEXT_CHARS = 300


def last_turn(history: list[dict] | None, role: str) -> str:
    for turn in reversed(history or []):
        if turn.get("role") == role and str(turn.get("content", "")).strip():
            return str(turn["content"]).strip()
    return ""


def is_followup(question: str, history: list[dict] | None) -> bool:
    if not last_turn(history, "user"):
        return False
    words = re.findall(r"\w+", question)
    return bool(_ANAPHORA.search(question) or _CONTINUATION.search(question) or len(words) <= 3)


def rewrite_followup(question: str, history: list[dict] | None) -> str:
    """The question itself, or with the previous turn's words appended as context."""
    if not is_followup(question, history):
        return question
    return with_context(question, history)


def with_context(question: str, history: list[dict] | None) -> str:
    """The question with the previous turn's words appended (unchanged without a previous turn)."""
    if not last_turn(history, "user"):
        return question
    prev_q = last_turn(history, "user")[:MAX_CONTEXT_CHARS]
    prev_a = MARKER.sub("", last_turn(history, "assistant"))[:MAX_CONTEXT_CHARS]
    context = " ".join(x for x in (prev_q, prev_a) if x)
    return f"{question.strip()} (context: {context})"
