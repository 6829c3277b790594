"""Turning a follow-up ("And when was that signed?") into a question retrieval can answer alone.

A follow-up leans on the conversation: a pronoun or "that" points at something said before. The
rule here carries the previous turn's words into the query (the user's last question and the start
of the answer), which is what both BM25 and the embedder need to find the right passage. A
question that stands on its own is left exactly as typed.

One kind of reference is resolved outright rather than carried along: an ordinal pointing into a
list the assistant just gave ("that last pillar", "the second one", "the latter"). Appending the
whole list would let retrieval match any item; replacing the phrase by the item it names makes the
question stand alone. The list and the phrase are read from spaCy's parse (coordination and
modifiers), so any enumeration the parser sees counts, in any wording.
"""

from __future__ import annotations

import re
from typing import Any

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


def standalone(question: str, history: list[dict] | None) -> tuple[str, str]:
    """(what is asked, what to retrieve with): the question with an ordinal into the last answer's
    list resolved, and that question with the conversation's words added when it is a follow-up."""
    asked = resolve_ordinal(question, history)
    return asked, rewrite_followup(asked, history)


def with_context(question: str, history: list[dict] | None) -> str:
    """The question with the previous turn's words appended (unchanged without a previous turn)."""
    if not last_turn(history, "user"):
        return question
    prev_q = last_turn(history, "user")[:MAX_CONTEXT_CHARS]
    prev_a = MARKER.sub("", last_turn(history, "assistant"))[:MAX_CONTEXT_CHARS]
    context = " ".join(x for x in (prev_q, prev_a) if x)
    return f"{question.strip()} (context: {context})"


_ORDINALS = {
    "first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "seventh": 6,
    "eighth": 7, "ninth": 8, "tenth": 9, "last": -1, "final": -1, "former": 0, "latter": -1,
}  # fmt: skip
_DEMONSTRATIVES = frozenset({"that", "this", "those", "these"})
_POINTING_BACK = frozenset({"them", "those", "these"})
_MAX_ITEM_WORDS = 6
_MAX_ANSWER_CHARS = 2000
_SEPARATORS = re.compile(r"\s*[,;]\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def enumeration(text: str) -> list[str]:
    """The items of the longest coordination in ``text`` ("A, B, and C" → [A, B, C]), each with
    its modifiers; [] when it lists nothing. An answer that leads with a bold short span is read
    from that span, the part that answered."""
    from rag.answer.nlp import nlp

    text = MARKER.sub("", text)[:_MAX_ANSWER_CHARS]  # a pasted history can be long; its list leads
    bold = _BOLD.search(text)
    doc = nlp()(bold.group(1) if bold else text.replace("*", " "))
    heads: list[Any] = []
    for tok in doc:
        group = sorted([tok, *tok.conjuncts], key=lambda t: t.i)
        if len(group) > len(heads):
            heads = group
    # the small parser often hangs "A, B and C" as A ← appos B ← conj C: A is an item too
    while heads and heads[0].dep_ == "appos" and heads[0].head.i < heads[0].i:
        heads.insert(0, heads[0].head)
    if not all(h.pos_ in ("NOUN", "PROPN", "NUM", "PRON") for h in heads):
        heads = []  # coordinated verbs or clauses are not a list of things to point at
    items = []
    for head in heads if len(heads) >= 2 else []:
        # the head's own phrase: its subtree without the coordinated items hanging off it
        drop = {t.i for c in head.children if c.dep_ in ("conj", "cc", "punct", "appos") for t in c.subtree}
        kept = [t for t in head.subtree if t.i not in drop]
        end = kept[-1].i
        # the parser may split a compound ("life | support"): nouns right after belong to the item
        while end + 1 < len(doc) and doc[end + 1].pos_ in ("NOUN", "PROPN") and doc[end + 1] not in heads:
            end += 1
        items.append(doc[kept[0].i : end + 1].text.strip(" ,;:.-–—"))
    # …and an "and" left hanging off the last item means the parser lost the final one: it is
    # the words after the "and", up to the next punctuation
    if items and not any(c.dep_ == "conj" for c in heads[-1].children):
        cc = next((c for c in heads[-1].children if c.dep_ == "cc" and c.i > heads[-1].i), None)
        if cc is not None:
            tail = []
            for t in doc[cc.i + 1 : cc.i + 1 + _MAX_ITEM_WORDS]:
                if t.is_punct:
                    break
                tail.append(t)
            if tail:
                items.append(doc[tail[0].i : tail[-1].i + 1].text)
    items = [x for x in items if x]
    # the parse and the punctuation must agree on how many items there are: where they do not,
    # the parser mis-attached something, and pointing at the wrong item is worse than at none
    if items:
        span = _text_between(doc, items)
        if len([x for x in _SEPARATORS.split(span) if x.strip()]) != len(items):
            return []
    return items


def _text_between(doc: Any, items: list[str]) -> str:
    start = doc.text.find(items[0])
    end = doc.text.rfind(items[-1])
    return doc.text[start : end + len(items[-1])] if 0 <= start <= end else ""


def _ordinal_phrase(question: str) -> tuple[int, int, int] | None:
    """(start char, end char, item index) of the phrase in ``question`` that picks an item out of
    the last answer's list. The ordinal must point back: a demonstrative ("that last pillar"), or
    a pronoun-like head ("the second one", "the first of them", "the latter"). "The first X"
    alone does not count, even when X was asked about: "What was the first Apollo crew?" after a
    question on Apollo is a question of its own (on SQuAD's consecutive questions, reading it as
    a reference rewrote 45 of 8,503 follow-ups, all wrongly)."""
    from rag.answer.nlp import nlp

    doc = nlp()(question)
    for tok in doc:
        index = _ORDINALS.get(tok.lower_)
        if index is None:
            continue
        head = tok.head if tok.dep_ in ("amod", "nummod") and tok.head.pos_ in ("NOUN", "PRON", "PROPN", "NUM") else tok
        det = next((c for c in head.children if c.dep_ in ("det", "poss") and c.i < tok.i), None)
        if det is None:
            continue
        of_them = any(
            c.dep_ == "prep" and c.lower_ == "of" and any(g.lower_ in _POINTING_BACK for g in c.children)
            for c in head.children
        )
        refers = (
            det.lower_ in _DEMONSTRATIVES
            or head.lower_ in ("one", "ones")
            or (head is tok and (tok.lower_ in ("latter", "former") or of_them))
        )
        if refers:
            end = head.right_edge if head is tok else head
            return doc[det.i].idx, end.idx + len(end.text), index
    return None


def resolve_ordinal(question: str, history: list[dict] | None) -> str:
    """The question with an ordinal reference into the last answer's list replaced by the item it
    names ("Which firms fall under that last sector?" → "… under chip makers?"); the question
    unchanged when it makes none, or the list is too short for it."""
    answer = last_turn(history, "assistant")
    if not answer or not any(w in question.lower() for w in _ORDINALS):
        return question
    found = _ordinal_phrase(question)
    if found is None:
        return question
    start, end, index = found
    items = enumeration(answer)
    if not -len(items) <= index < len(items):
        return question
    return question[:start] + items[index] + question[end:]
