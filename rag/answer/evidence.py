"""Candidate answer sentences of the retrieved passages, and what their shape says.

Every sentence of the top passages becomes a ``Candidate`` with its meaning (MiniLM cosine to
the question) and rare-word overlap (IDF-weighted coverage) filled in; the reader and the answer
scorer (``rag.models.reader``, ``rag.answer.scoring``) add their fields later. Without a reader, a support score
over the same two signals ranks them. Headlines and menu lines (``is_heading``) never answer, and a
sentence that leans on the one before it (``continues``) is quoted with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from rag.answer.retrieval import tokenize
from rag.answer.surface_types import FUNCTION_WORDS, answer_type, has_answer_type
from rag.ingest.chunking import sentence_spans
from rag.ingest.tables import is_row_line
from rag.models.embedding import Embedder
from rag.types import Passage

_TERMINAL = re.compile(r"[.!;:\"”’')\]]\s*$")


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?")


HEADING_MAX_WORDS = 20  # the longest headline or link line in the messy sets has 16 words


def is_heading(sentence: str) -> bool:
    """Headlines, menu items and related-article links: short, no closing punctuation, mostly
    Title Case. They restate a topic in the question's words but never answer it. Long lines
    (a list of names runs on in Title Case) and table rows state facts, so they are not headings."""
    if _TERMINAL.search(sentence) or is_row_line(sentence):
        return False
    words = re.findall(r"[A-Za-z][\w'’-]*", sentence)
    if len(words) > HEADING_MAX_WORDS:
        return False
    if len(words) <= 3:
        return True
    caps = sum(1 for w in words if w[0].isupper() or w.lower() in FUNCTION_WORDS | {"of", "for", "to", "with"})
    return caps / len(words) >= 0.7


_ANAPHORIC_START = re.compile(r"^\W*(it|this|that|these|those|they|he|she|such|its|their|his|her)\b", re.IGNORECASE)


def continues(prev: str, nxt: str) -> bool:
    """Does ``nxt`` lean on ``prev`` (a pronoun, or 'The agreement' after 'the ... agreement ...')?
    Then a quote of ``prev`` alone would cut the fact in half."""
    if prev.rstrip().endswith(":") or _ANAPHORIC_START.match(nxt):
        return True
    m = re.match(r"^\W*the (\w+)", nxt, re.IGNORECASE)
    return bool(m and len(m.group(1)) > 3 and m.group(1).lower() in prev.lower())


@dataclass
class Candidate:
    passage_index: int  # into the retrieved passages
    start: int  # passage-relative span
    end: int
    text: str
    similarity: float = 0.0
    coverage: float = 0.0
    typed: bool = True
    score: float = 0.0  # support score (meaning + rare-word overlap); the fallback without a reader
    # What the reader and the answer scorer add (rag.models.reader, rag.answer.scoring):
    span: tuple[int, int] | None = None  # passage-relative span of the reader's best answer in this sentence
    span_text: str = ""
    reader_span: float = 0.0
    reader_null: float = 0.0
    p: float | None = None  # calibrated probability that this sentence answers the question
    title: bool = False  # the sentence is its article's headline, repeated as the text's first line
    features: Any = None  # its row of rag.answer.scoring.FEATURES (numpy), as the answer score saw it


class Grounder:
    """Scores passage sentences against a question with the shared embedder and term weights."""

    def __init__(self, embedder: Embedder, idf: dict[str, float] | None = None, n_docs: int = 1) -> None:
        self.embedder = embedder
        self.idf = idf or {}
        self.default_idf = math.log(1 + max(1, n_docs))

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.default_idf)

    def coverage(self, question_terms: list[str], text: str) -> float:
        """IDF-weighted share of the question's terms that ``text`` contains."""
        if not question_terms:
            return 0.0
        have = set(tokenize(text))
        total = sum(self.weight(t) for t in set(question_terms))
        got = sum(self.weight(t) for t in set(question_terms) if t in have)
        return got / total if total else 0.0

    def candidates(self, question: str, passages: list[Passage], asked: str | None = None) -> list[Candidate]:
        """Every sentence of every passage given, scored; best first (``top_k`` decides how many
        passages are read, so nothing caps them here). ``question`` is what retrieval
        used (a follow-up carries its context); ``asked`` is what the user typed, which decides
        the kind of answer wanted."""
        cands: list[Candidate] = []
        for pi, p in enumerate(passages):
            text = p.chunk.text
            for a, b in sentence_spans(text):
                if len(re.findall(r"\w+", text[a:b])) >= 3 and not is_question(text[a:b]):
                    headline = " ".join(text[a:b].split()) == " ".join(p.chunk.title.split())
                    cands.append(Candidate(pi, a, b, text[a:b], title=headline))
        if not cands:
            return []
        vecs = self.embedder.encode_memo([question] + [c.text for c in cands])
        sims = vecs[1:] @ vecs[0]
        q_terms = tokenize(question)
        asked = asked or question
        kind = answer_type(asked)
        for c, sim in zip(cands, sims, strict=True):
            c.similarity = float(sim)
            c.coverage = self.coverage(q_terms, c.text)
            c.typed = has_answer_type(kind, c.text, asked)
            c.score = support_score(c.similarity, c.coverage, c.passage_index) if c.typed else 0.0
            if c.title or is_heading(c.text):
                c.score *= 0.7
        cands.sort(key=lambda c: -c.score)
        return cands


def next_sentence(passage_text: str, c: Candidate) -> Candidate | None:
    """The sentence right after ``c`` in its passage, if any."""
    for a, b in sentence_spans(passage_text):
        if a >= c.end:
            return Candidate(c.passage_index, a, b, passage_text[a:b], score=c.score)
    return None


def support_score(similarity: float, coverage: float, passage_rank: int) -> float:
    """One number for "this sentence answers the question": meaning and rare-word overlap, with a
    small preference for sentences from higher-ranked passages. Weights chosen on dev.jsonl."""
    return 0.55 * similarity + 0.45 * coverage - 0.01 * passage_rank


@dataclass
class Evidence:
    """What retrieval and the answer scorer found for one question."""

    question: str
    query: str  # standalone question used for retrieval (== question unless rewritten)
    passages: list[Passage]
    candidates: list[Candidate]  # passage sentences, best supported first

    @property
    def support(self) -> float:
        """The calibrated answer probability of the best sentence (its support score without a reader)."""
        if not self.candidates:
            return 0.0
        top = self.candidates[0]
        return top.p if top.p is not None else top.score

    @property
    def rewritten(self) -> str | None:
        return self.query if self.query != self.question else None
