"""Checking a generated draft against the passages it cites, sentence by sentence.

A 135M model invents facts, so its draft is only a proposal: each sentence is kept when it names
only numbers and names found in the passage it cites, uses mostly the words of the evidence
sentence it paraphrases, is close in meaning to one of the *strongest* evidence sentences, holds
the kind of thing the question asks for, and adds something the question did not already say.
``DraftWatch`` runs the same checks while the draft streams, so a failing draft is stopped early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rag.answer.retrieval import tokenize
from rag.answer.surface_types import NUMBER_WORDS, answer_type, has_answer_type
from rag.ingest.chunking import sentence_spans
from rag.models.embedding import Embedder
from rag.text import MARKER, NUMBER_TOKEN, strip_markers

_NAME_TOKEN = re.compile(r"\b[A-Z][\w'’.-]*[A-Za-z]|\b[A-Z]{2,}\b")
_SENTENCE_MARKERS = re.compile(r"^(?:\s*\[\d+\])+")
_COMMON_CAPS = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "in",
    "on",
    "at",
    "as",
    "by",
    "for",
    "and",
    "but",
    "or",
    "so",
    "yes",
    "no",
    "they",
    "he",
    "she",
    "we",
    "i",
    "there",
    "their",
    "his",
    "her",
    "according",
    "both",
    "also",
    "however",
    "while",
    "with",
    "from",
    "after",
    "before",
    "during",
    "since",
}


def split_draft(draft: str) -> list[tuple[str, list[int]]]:
    """Draft sentences with the [n] markers that belong to them (a marker right after a full stop,
    which a sentence splitter puts at the start of the next sentence, belongs to the one before)."""
    text = " ".join(draft.split())
    if not text:
        return []
    # "… debt. [1] It is …" -> "… debt [1]. It is …": markers inside the sentence they close.
    text = re.sub(r"([.!?])\s*((?:\[\d+\]\s*)+)", lambda m: " " + m.group(2).strip() + m.group(1) + " ", text)
    pieces = [text[a:b] for a, b in sentence_spans(text)]
    out: list[tuple[str, list[int]]] = []
    for piece in pieces:
        lead = _SENTENCE_MARKERS.match(piece)
        if lead and out:
            out[-1][1].extend(int(n) for n in MARKER.findall(lead.group(0)))
            piece = piece[lead.end() :]
        nums = [int(n) for n in MARKER.findall(piece)]
        body = strip_markers(piece).strip()
        if body:
            out.append((body, nums))
    return out


def claims(sentence: str) -> tuple[set[str], set[str]]:
    """The checkable facts of a sentence: its numbers and its names (capitalized words)."""
    nums = {n.replace(",", "").rstrip(".") for n in NUMBER_TOKEN.findall(sentence)}
    nums |= {w.lower() for w in re.findall(rf"\b({NUMBER_WORDS})\b", sentence, re.IGNORECASE)}
    names = set()
    for m in _NAME_TOKEN.finditer(sentence):
        word = m.group(0).rstrip(".'’")
        if word.lower() in _COMMON_CAPS or word.lower() in NUMBER_WORDS.split("|"):
            continue
        # "Japan's" claims Japan: the possessive is grammar, not a different name.
        names.add(re.sub(r"'s$", "", word.lower().replace("’", "'")))
    return nums, names


def passage_claims(passage: str) -> tuple[set[str], set[str], str]:
    """What ``unsupported_claims`` needs of a passage; worth keeping when one passage is checked
    against many sentences (or, while a draft streams, many times)."""
    nums, names = claims(passage)
    return nums, names, passage.lower().replace("’", "'")


def unsupported_claims(sentence: str, passage: str, known: tuple[set[str], set[str], str] | None = None) -> list[str]:
    """Numbers and names of ``sentence`` that ``passage`` does not contain (``known``: its
    ``passage_claims``, if already computed)."""
    nums, names = claims(sentence)
    p_nums, p_names, low = known or passage_claims(passage)
    missing = [n for n in nums if n not in p_nums and not re.search(rf"\b{re.escape(n)}\b", low)]
    missing += [n for n in names if n not in p_names and n not in low]
    return missing


@dataclass
class Verdict:
    text: str  # the draft sentence, markers removed
    cited: list[int]  # markers the model wrote (1-based, into the prompt's passages)
    supported_by: int | None = None  # passage number that supports it, if any
    reason: str = ""  # why it was rejected, for the UI and for debugging
    similarity: float = 0.0
    span: tuple[int, int] | None = None  # the closest sentence of the supporting passage

    @property
    def ok(self) -> bool:
        return self.supported_by is not None


class Verifier:
    """Checks each sentence of a draft against the passage it cites (or, failing that, any passage).

    A sentence passes when every number and name in it appears in the passage, most of its content
    words do, its meaning is close to some sentence of the passage, and it adds something the
    question did not already say (restating the question is not an answer)."""

    def __init__(self, embedder: Embedder, min_similarity: float = 0.6, min_coverage: float = 0.6) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_coverage = min_coverage

    def verify(
        self,
        draft: str,
        question: str,
        passages: list[str],
        focus: list[list[tuple[int, int]]] | None = None,
        asked: str | None = None,
    ) -> list[Verdict]:
        """``focus[i]`` lists the spans of passage i that answer the question (the strongest
        evidence); a sentence must rest on one of them, not on a true but beside-the-point one.
        ``asked`` is the user's own wording (decides the kind of answer wanted)."""
        sentences = split_draft(draft)
        if not sentences or not passages:
            return [Verdict(s, c, reason="no passages") for s, c in sentences]
        ev = _PassageSentences.of(passages, focus)
        vecs = self.embedder.encode_memo([s for s, _ in sentences] + ev.texts)
        sims = vecs[: len(sentences)] @ vecs[len(sentences) :].T  # (draft sentences, passage sentences)
        q_terms = set(tokenize(question))
        asked = asked or question
        kind = answer_type(asked)
        verdicts = []
        for si, (text, cited) in enumerate(sentences):
            verdict = Verdict(text, cited)
            terms = tokenize(text)
            novel = [t for t in terms if t not in q_terms]
            if not novel:
                verdict.reason = "restates the question"
            elif not has_answer_type(kind, text, asked):
                verdict.reason = f"does not contain the {kind} asked for"
            else:  # the passages it cites first, then the others (a wrong number is re-attributed)
                order = [n for n in cited if 1 <= n <= len(passages)]
                for n in order + [n for n in range(1, len(passages) + 1) if n not in order]:
                    reason, sim, j = self._check(text, terms, novel, passages[n - 1], n, ev, sims[si])
                    if not reason:
                        verdict.supported_by, verdict.similarity, verdict.reason = n, sim, ""
                        verdict.span = ev.offsets[j]
                        break
                    if not verdict.reason or not reason.endswith("holds none of the strongest evidence"):
                        verdict.reason = reason
            verdicts.append(verdict)
        return verdicts

    def _check(
        self, text: str, terms: list[str], novel: list[str], passage: str, n: int, ev: _PassageSentences, sims: Any
    ) -> tuple[str, float, int]:
        """Why passage ``n`` does not support the sentence ("" when it does), with the cosine to
        and the index of its closest allowed sentence."""
        basis = [j for j in ev.allowed if ev.owner[j] == n - 1]
        if not basis:
            return f"[{n}] holds none of the strongest evidence", 0.0, -1
        best = max(basis, key=lambda j: sims[j])
        sim = float(sims[best])
        # Words must come from that sentence or its neighbours, not from anywhere.
        near = (k for k in (best - 1, best, best + 1) if 0 <= k < len(ev.texts) and ev.owner[k] == n - 1)
        have = set(tokenize(" ".join(ev.texts[k] for k in near)))
        coverage = sum(t in have for t in terms) / max(1, len(terms))
        missing = unsupported_claims(text, passage)
        if missing:
            return f"[{n}] does not contain {', '.join(sorted(missing)[:3])}", sim, best
        if coverage < self.min_coverage:
            return f"[{n}] covers only {coverage:.0%} of its words", sim, best
        if sim < self.min_similarity:
            return f"[{n}] says something else (similarity {sim:.2f})", sim, best
        if not any(t in have for t in novel):
            return "adds nothing from the passage", sim, best
        return "", sim, best


@dataclass
class _PassageSentences:
    """Every sentence of the prompt's passages, flattened: its text, span, passage, and whether
    it is among the strongest evidence a draft sentence may rest on."""

    texts: list[str]
    offsets: list[tuple[int, int]]
    owner: list[int]
    allowed: list[int]

    @classmethod
    def of(cls, passages: list[str], focus: list[list[tuple[int, int]]] | None) -> _PassageSentences:
        texts, offsets, owner = [], [], []
        for i, p in enumerate(passages):
            for a, b in sentence_spans(p) or [(0, len(p))]:
                texts.append(p[a:b])
                offsets.append((a, b))
                owner.append(i)
        allowed = [j for j, (o, off) in enumerate(zip(owner, offsets, strict=True)) if focus is None or off in focus[o]]
        return cls(texts, offsets, owner, allowed)


class DraftWatch:
    """Decides, while a draft streams in, whether it is still worth waiting for.

    A finished sentence that fails verification, or an unfinished one whose finished words already
    include a number or name that no passage contains, will be dropped whatever the model writes
    next (claims only accumulate). On dev.jsonl no draft recovered after such a sentence (0 of 33),
    so generating on would only make the reader wait; the answer then quotes the evidence. A
    question that asks for one thing (a number, a name, a date ...) is answered by one verified
    sentence; what a 135M model adds after it was never kept either."""

    def __init__(
        self,
        verifier: Verifier,
        question: str,
        passages: list[str],
        focus: list[list[tuple[int, int]]] | None = None,
        asked: str | None = None,
    ) -> None:
        self.verifier = verifier
        self.question = question
        self.passages = passages
        self.focus = focus
        self.asked = asked or question
        self.max_verified = 1 if answer_type(self.asked) else 2
        self._joined = "\n\n".join(passages)
        self._known = passage_claims(self._joined)
        self.complete: list[tuple[str, list[int]]] = []  # finished sentences seen so far
        self.verified = 0
        self.stopped = False
        self.reason: str | None = None  # why drafting was cut short, when a sentence failed

    @property
    def complete_text(self) -> str:
        """The finished sentences with their markers: what is worth verifying after a stop."""
        return " ".join(body + "".join(f" [{n}]" for n in nums) for body, nums in self.complete)

    def check(self, draft: str) -> bool:
        """Should drafting stop now? Cheap per token: a sentence is only verified (one embedding
        call) when it has just been finished."""
        sentences = split_draft(draft)
        for body, nums in sentences[len(self.complete) : -1]:
            self.complete.append((body, nums))
            marked = body + "".join(f" [{n}]" for n in nums)
            verdict = self.verifier.verify(marked, self.question, self.passages, self.focus, asked=self.asked)[0]
            if not verdict.ok:
                self.reason = "stopped drafting after a sentence that cannot be verified"
            else:
                self.verified += 1
            if self.reason or self.verified >= self.max_verified:
                self.stopped = True
                return True
        if not sentences:
            return False
        unfinished = sentences[-1][0]
        words = unfinished[: unfinished.rfind(" ")] if " " in unfinished else ""
        missing = unsupported_claims(words, self._joined, self._known) if words else []
        if missing:
            self.reason = f"stopped drafting at “{words} …”: no passage contains {', '.join(sorted(missing)[:3])}"
            self.stopped = True
        return self.stopped
