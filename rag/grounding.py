"""Deciding what the passages actually support.

Everything shown to a reader passes through here: the candidate sentences of the retrieved
passages are scored for how well they answer the question (meaning, shared rare words, and whether
they contain the *kind* of thing asked for: a number for "how many", a date for "when", a name for
"who"). The best-supported sentences can be quoted as the answer; when none is supported well
enough, the system declines instead of guessing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.chunking import sentence_spans
from rag.embedding import Embedder
from rag.retrieval import tokenize
from rag.tables import is_row_line
from rag.text import MARKER, NUMBER_TOKEN, strip_markers
from rag.types import Passage

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    "hundred|thousand|million|billion|trillion|dozen|half|double|triple|several"
)
HAS_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
HAS_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
HAS_DAY = re.compile(rf"\b({_WEEKDAYS})\b", re.IGNORECASE)
HAS_MONTH_DAY = re.compile(
    rf"\b({_MONTHS})\.?\s+\d{{1,2}}(st|nd|rd|th)?\b|\b\d{{1,2}}(st|nd|rd|th)?\s+({_MONTHS})\b", re.IGNORECASE
)
HAS_TIME = re.compile(
    rf"{HAS_YEAR.pattern}|\b({_MONTHS}|{_WEEKDAYS}|spring|summer|autumn|fall|winter|today|yesterday|"
    r"tomorrow|week|month|year|decade|century|ago|since|until)\b",
    re.IGNORECASE,
)
HAS_PERCENT = re.compile(r"\d\s*(%|percent\b|per cent\b)|\bpercentage\b", re.IGNORECASE)
HAS_MONEY = re.compile(r"[$€£¥]\s*\d|\d\s*(dollars|yen|euros?|billion|million|trillion)\b", re.IGNORECASE)

# What a question asks for, from its wording (English question words; checked in order).
_ANSWER_TYPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwho (wrote|authored|reported)\b|\b(author|writer) of\b|\bwritten by\b", re.IGNORECASE), "author"),
    (re.compile(r"\bwhat is the name of\b|\bname of the\b|\bwhat is .+ (called|named)\b", re.IGNORECASE), "name"),
    (re.compile(r"\bon what date\b|\bwhat date\b", re.IGNORECASE), "date"),
    (re.compile(r"\bwhat day\b|\bwhich day\b", re.IGNORECASE), "day"),
    (re.compile(r"\b(what|which) (year|decade)\b|\bin what year\b", re.IGNORECASE), "year"),
    (re.compile(r"\bwhen\b", re.IGNORECASE), "time"),
    (
        re.compile(
            r"\b(what|which) (percentage|percent|proportion|fraction)\b|\bby (what|how much) percent", re.IGNORECASE
        ),
        "percent",
    ),
    (re.compile(r"\bhow much money\b|\bhow much did .* (cost|pay)\b", re.IGNORECASE), "money"),
    (
        re.compile(r"\bhow (many|much)\b|\bwhat (number|amount|rate|figure|size|total)\b|\bby how\b", re.IGNORECASE),
        "number",
    ),
    (re.compile(r"^\s*(who|whom)\b|\bwho (is|was|are|were|wrote|said|leads|heads|met)\b", re.IGNORECASE), "person"),
    (re.compile(r"^\s*where\b|\bin which (city|country|place)\b", re.IGNORECASE), "place"),
]


def answer_type(question: str) -> str | None:
    for pattern, kind in _ANSWER_TYPES:
        if pattern.search(question):
            return kind
    return None


_CAPITALIZED = re.compile(r"\b[A-Z][a-zA-Z'’.-]+")


_NAME_OF = re.compile(
    r"\bname of (?:the |a |an |this |that |its |their )?(?P<np>[\w' -]+?)(?: that| which| who| is| was| the|\?|$)",
    re.IGNORECASE,
)
_WHO_IS = re.compile(r"^\s*who (?:is|was|are|were) (?P<np>.+?)\??\s*$", re.IGNORECASE)
_BYLINE = re.compile(r"\bby [A-Z][a-z]+|\b(author|wrote|written|writes|reporter|correspondent|editor)\b")


def _novel_names(sentence: str, question: str) -> list[str]:
    """Capitalized words of ``sentence`` not in the question and not just starting the sentence."""
    q_words = {w.lower() for w in re.findall(r"\w+", question)}
    names = []
    for m in _CAPITALIZED.finditer(sentence):
        word = m.group(0).strip(".'’")
        if m.start() == 0 or word.lower() in q_words or word.lower() in _FUNCTION_WORDS:
            continue
        names.append(word)
    return names


_FUNCTION_WORDS = {"the", "a", "an", "and", "but", "or", "in", "on", "at", "this", "that", "these", "it", "its"}


def has_answer_type(kind: str | None, sentence: str, question: str) -> bool:
    """Does ``sentence`` contain the kind of thing the question asks for (beyond the question's own words)?"""
    if kind is None:
        return True
    if kind == "author":
        return bool(_BYLINE.search(sentence))
    if kind == "name":
        # "What is the name of the X ...?" is only answered by a sentence that mentions an X.
        m = _NAME_OF.search(question)
        head = tokenize(m.group("np"))[-1:] if m else []
        return bool(_novel_names(sentence, question)) and all(t in tokenize(sentence) for t in head)
    if kind == "date":
        return bool(HAS_MONTH_DAY.search(sentence))
    if kind == "day":
        return bool(HAS_DAY.search(sentence) or HAS_MONTH_DAY.search(sentence))
    if kind == "year":
        return bool(set(HAS_YEAR.findall(sentence)) - set(HAS_YEAR.findall(question)))
    if kind == "time":
        return bool(HAS_TIME.search(sentence))
    if kind == "percent":
        return bool(HAS_PERCENT.search(sentence))
    if kind == "money":
        return bool(HAS_MONEY.search(sentence))
    if kind == "number":
        q_nums = set(re.findall(r"\d[\d,.]*", question))
        return bool(set(re.findall(r"\d[\d,.]*", sentence)) - q_nums) or bool(
            re.search(rf"\b({_NUMBER_WORDS})\b", sentence, re.IGNORECASE)
        )
    if kind == "person":
        # "Who is <role>?" needs a sentence naming that role, not a neighbouring one.
        m = _WHO_IS.match(question)
        if m and not all(t in tokenize(sentence) for t in tokenize(m.group("np"))):
            return False
        return bool(_novel_names(sentence, question))
    if kind == "place":
        return bool(_novel_names(sentence, question))
    return True


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
    caps = sum(1 for w in words if w[0].isupper() or w.lower() in _FUNCTION_WORDS | {"of", "for", "to", "with"})
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
    # What the reader and the answer scorer add (rag.reader, rag.scoring):
    span: tuple[int, int] | None = None  # passage-relative span of the reader's best answer in this sentence
    span_text: str = ""
    reader_span: float = 0.0
    reader_null: float = 0.0
    p: float | None = None  # calibrated probability that this sentence answers the question


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

    def candidates(
        self, question: str, passages: list[Passage], max_passages: int = 5, asked: str | None = None
    ) -> list[Candidate]:
        """Every sentence of the top passages, scored; best first. ``question`` is what retrieval
        used (a follow-up carries its context); ``asked`` is what the user typed, which decides
        the kind of answer wanted."""
        cands: list[Candidate] = []
        for pi, p in enumerate(passages[:max_passages]):
            text = p.chunk.text
            for a, b in sentence_spans(text):
                if len(re.findall(r"\w+", text[a:b])) >= 3 and not is_question(text[a:b]):
                    cands.append(Candidate(pi, a, b, text[a:b]))
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
            if is_heading(c.text):
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


# --- verifying a generated draft ------------------------------------------------------------
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
    nums |= {w.lower() for w in re.findall(rf"\b({_NUMBER_WORDS})\b", sentence, re.IGNORECASE)}
    names = set()
    for m in _NAME_TOKEN.finditer(sentence):
        word = m.group(0).rstrip(".'’")
        if word.lower() in _COMMON_CAPS or word.lower() in _NUMBER_WORDS.split("|"):
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
        offsets = [sentence_spans(p) or [(0, len(p))] for p in passages]
        spans = [[p[a:b] for a, b in group] for p, group in zip(passages, offsets, strict=True)]
        flat = [s for group in spans for s in group]
        flat_offsets = [o for group in offsets for o in group]
        vecs = self.embedder.encode_memo([s for s, _ in sentences] + flat)
        s_vecs, p_vecs = vecs[: len(sentences)], vecs[len(sentences) :]
        owner = [i for i, group in enumerate(spans) for _ in group]
        sims = s_vecs @ p_vecs.T  # (draft sentences, passage sentences)
        q_terms = set(tokenize(question))
        asked = asked or question
        kind = answer_type(asked)
        allowed = [
            j for j, (o, off) in enumerate(zip(owner, flat_offsets, strict=True)) if focus is None or off in focus[o]
        ]
        verdicts = []
        for si, (text, cited) in enumerate(sentences):
            verdict = Verdict(text, cited)
            terms = tokenize(text)
            novel = [t for t in terms if t not in q_terms]
            if not novel:
                verdict.reason = "restates the question"
            elif not has_answer_type(kind, text, asked):
                verdict.reason = f"does not contain the {kind} asked for"
            else:
                order = [n for n in cited if 1 <= n <= len(passages)]
                order += [n for n in range(1, len(passages) + 1) if n not in order]
                for n in order:
                    passage = passages[n - 1]
                    missing = unsupported_claims(text, passage)
                    basis = [j for j in allowed if owner[j] == n - 1]
                    if not basis:
                        verdict.reason = verdict.reason or f"[{n}] holds none of the strongest evidence"
                        continue
                    best_j = max(basis, key=lambda j: sims[si, j])
                    sim = float(sims[si, best_j])
                    # Words must come from that sentence or its neighbours, not from anywhere.
                    local = " ".join(
                        flat[k] for k in (best_j - 1, best_j, best_j + 1) if 0 <= k < len(flat) and owner[k] == n - 1
                    )
                    have = set(tokenize(local))
                    coverage = sum(t in have for t in terms) / max(1, len(terms))
                    if missing:
                        verdict.reason = f"[{n}] does not contain {', '.join(sorted(missing)[:3])}"
                    elif coverage < self.min_coverage:
                        verdict.reason = f"[{n}] covers only {coverage:.0%} of its words"
                    elif sim < self.min_similarity:
                        verdict.reason = f"[{n}] says something else (similarity {sim:.2f})"
                    elif not any(t in have for t in novel):
                        verdict.reason = "adds nothing from the passage"
                    else:
                        verdict.supported_by, verdict.similarity, verdict.reason = n, sim, ""
                        verdict.span = flat_offsets[best_j]
                        break
            verdicts.append(verdict)
        return verdicts


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
