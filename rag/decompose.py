"""Split a question that asks two things ("When was X built, and who designed it?") into its parts,
so that each part is retrieved, read and cited on its own instead of being answered from whichever
single passage best matches the whole.

The split is read from spaCy's parse, not from a list of phrasings: a coordinating "and" (or a
semicolon) directly followed by a new wh-clause (optionally behind a preposition: "and in which
year") starts a new part. A relative clause ("the man who founded it") has no conjunction before
its wh-word and stays whole. A bare second part ("… and when?") borrows the words of the first
part after its wh-phrase. A later part that refers back ("who designed it?") is asked with the
earlier parts as conversation history, so the follow-up rewrite can resolve the pronoun.
How much this gains is measured on SQuAD test titles (``rag eval --squad … --multipart N``).
"""

from __future__ import annotations

from typing import Any

from rag.answer_types import nlp

WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})
CONJUNCTIONS = frozenset({"and", ";"})
MIN_PART_WORDS = 3


def split_question(question: str) -> list[str]:
    """The question's parts, or ``[question]`` when it asks one thing."""
    doc = nlp()(question)
    starts = []
    for t in doc:
        if t.tag_ not in WH_TAGS or t.i == 0:
            continue
        b = t.i
        while b > 0 and doc[b - 1].pos_ == "ADP":
            b -= 1
        if b >= 2 and doc[b - 1].lower_ in CONJUNCTIONS:
            starts.append(b)
    if not starts:
        return [question]
    bounds = [0, *starts, len(doc)]
    parts: list[str] = []
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        toks = [tok for tok in doc[a:b] if not (tok.i == b - 1 and tok.lower_ in CONJUNCTIONS)]
        while toks and (toks[-1].is_punct or toks[-1].lower_ in CONJUNCTIONS):
            toks.pop()
        parts.append("".join(tok.text_with_ws for tok in toks).strip())
    first = doc[: starts[0]]
    rest_of_first = [
        tok for tok in first if tok.tag_ not in WH_TAGS and not tok.is_punct and tok.lower_ not in CONJUNCTIONS
    ]
    out: list[str] = []
    for part in parts:
        words = part.split()
        if len(words) < MIN_PART_WORDS and out:  # "... and when?": the first part's predicate, re-asked
            lead = [w for w in words if w.lower() not in ("and",)]
            skip = _wh_phrase_len(first)
            part = " ".join(lead + [tok.text for tok in rest_of_first[skip:]])
        if len(part.split()) < MIN_PART_WORDS:
            return [question]
        part = part[0].upper() + part[1:]
        out.append(part.rstrip(" ,;?") + "?")
    return out if len(out) > 1 else [question]


def _wh_phrase_len(span: Any) -> int:
    """How many non-wh words of the first part belong to its wh-phrase ("which city" -> 1)."""
    toks = list(span)
    for i, tok in enumerate(toks):
        if tok.tag_ in WH_TAGS:
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            return 1 if nxt is not None and nxt.tag_ not in WH_TAGS and nxt.pos_ in ("NOUN", "ADJ") else 0
    return 0
