"""Turning evidence into an ``Answer``: a quote, a short answer with its quote, verified draft
sentences, an abstention, or the parts of a multi-part question joined.

Every path numbers its citations the same way (``CitationList``): a passage gets the next number
the first time a sentence rests on it, and the sentences it supports are highlighted on it. What
the reader is shown is always words of the passages (a quote, or a span of one) or a draft
sentence that ``rag.answer.verification`` kept; nothing here writes a claim of its own.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from rag.answer.bylines import TOPIC_COVERAGE, ArticleMatch
from rag.answer.evidence import Candidate, Evidence, continues, next_sentence
from rag.answer.verification import Verdict
from rag.types import Answer, Citation, Passage, Sentence

NOT_IN_ARTICLES = "The articles do not answer this question."
_CLAUSE_BREAK = re.compile(r"[,;:()—–]\s|\s[—–]\s")


def same_sentence_with_a_next(ev: Evidence, c: Candidate) -> Candidate:
    """``c``, or the same sentence of the same article in another retrieved passage where it is
    not the last one. Passages overlap by a sentence, so the sentence that closes one passage opens
    the next; read in the first, the sentence that carries on its fact ("The agreement … is
    understood to involve …") looks like it is not there."""
    own = ev.passages[c.passage_index].chunk
    if next_sentence(own.text, c) is not None:
        return c
    start, end = own.start + c.start, own.start + c.end  # in the article
    for i, p in enumerate(ev.passages):
        ch = p.chunk
        if i == c.passage_index or ch.source != own.source or not ch.start <= start < end <= ch.end:
            continue
        moved = dataclasses.replace(c, passage_index=i, start=start - ch.start, end=end - ch.start)
        if moved.span is not None:
            shift = own.start - ch.start
            moved.span = (moved.span[0] + shift, moved.span[1] + shift)
        if next_sentence(ch.text, moved) is not None:
            return moved
    return c


def citation(n: int, p: Passage) -> Citation:
    c = p.chunk
    return Citation(
        n,
        c.source,
        c.title,
        c.id,
        c.text,
        c.start,
        c.end,
        round(p.score, 4),
        author=c.author,
        date=c.date,
        pages=c.pages,
        page_breaks=c.page_breaks,
        table_rows=c.table_rows,
    )


class CitationList:
    """The citations of one answer, numbered 1, 2, … in the order the answer first cites each
    passage; a passage cited twice is listed once with both highlights."""

    def __init__(self) -> None:
        self.items: list[Citation] = []
        self._by_chunk: dict[str, Citation] = {}

    def cite(self, passage: Passage | Citation, highlight: tuple[int, int] | None = None) -> Citation:
        chunk_id = passage.chunk.id if isinstance(passage, Passage) else passage.chunk_id
        cit = self._by_chunk.get(chunk_id)
        if cit is None:
            n = len(self.items) + 1
            cit = (
                citation(n, passage)
                if isinstance(passage, Passage)
                else dataclasses.replace(passage, n=n, highlights=[])
            )
            self._by_chunk[chunk_id] = cit
            self.items.append(cit)
        if highlight is not None and highlight not in cit.highlights:
            cit.highlights.append(highlight)
        return cit


@dataclass
class AnswerBuilder:
    """Assembles answers from ``Evidence``; the knobs come from ``Settings`` (and the scorer's
    calibrated short-answer threshold)."""

    short_answer_above: float
    max_short_words: int
    quote_words: int

    def short_answer(self, ev: Evidence) -> Candidate | None:
        """The best sentence, when its reader span is confident and short enough to lead with."""
        if not ev.candidates:
            return None
        best = ev.candidates[0]
        if best.span is None or best.p is None:
            return None
        if best.reader_span < self.short_answer_above:
            return None
        if not 0 < len(best.span_text.split()) <= self.max_short_words:
            return None
        if best.text.rstrip().endswith(":"):
            return None  # a lead-in ("… built on several key pillars:"): the answer is what it introduces
        return best

    def extractive(self, ev: Evidence, more: list[Candidate] | None = None) -> Answer:
        """The best sentence quoted (with the next one when the fact runs on into it), led by the
        reader's short answer in bold when there is a confident one. ``more``: further sentences
        that name more of the things asked for ("Which two firms …?"), quoted after it; then no
        one span leads."""
        best = ev.candidates[0]
        short = None if more else self.short_answer(ev)
        chosen = [best, *(more or [])]
        if short is None and not more:
            best = same_sentence_with_a_next(ev, best)
            follow = next_sentence(ev.passages[best.passage_index].chunk.text, best)
            if follow is not None and continues(best.text, follow.text):
                chosen = [best, follow]
        cites = CitationList()
        sentences = []
        for c in chosen:
            cit = cites.cite(ev.passages[c.passage_index], (c.start, c.end))
            sentences.append(Sentence(c.text, [cit.n], verified=True, kind="quoted"))
        if short is not None and short.span is not None:  # (span is set: narrows the type)
            passage = ev.passages[short.passage_index].chunk.text
            s0, s1 = tidy_span(passage, short.span[0], short.span[1], best.start, best.end)
            a, b = quote_window(best.text, s0 - best.start, s1 - best.start, self.quote_words)
            sentences[0].text = best.text[a:b].strip()  # exact words of the passage; the ellipses are only shown
            quote = ("…" if a > 0 else "") + sentences[0].text + ("…" if b < len(best.text) else "")
            text = f"**{passage[s0:s1]}** — “{quote}” [1]"
            answer = Answer(text, False, cites.items, sentences, ev.question, ev.rewritten, ev.passages)
            answer.short_answer = passage[s0:s1]
            answer.short_span = (cites.items[0].n, s0, s1)
            return answer
        text = " ".join(f"“{s.text}” [{s.citations[0]}]" for s in sentences)
        return Answer(text, False, cites.items, sentences, ev.question, ev.rewritten, ev.passages)

    def abstain(self, ev: Evidence) -> Answer:
        """Declined, with the closest passages listed so the reader can look for themselves."""
        cites = CitationList()
        closest = [cites.cite(p) for p in ev.passages[:3]]
        text = NOT_IN_ARTICLES
        if closest:
            text += " The closest passages are listed below; they may help: " + ", ".join(
                f"[{c.n}] {c.title[:60]}" for c in closest
            )
        return Answer(text, True, closest, [], ev.question, ev.rewritten, ev.passages, abstention=NOT_IN_ARTICLES)

    def metadata(self, ev: Evidence, field: str, match: ArticleMatch | None) -> Answer:
        """Who wrote / when was published the article the question is about: the byline's author or
        the article's date, citing the article; declined when no article covers the question's topic
        or the article carries no byline (or date)."""
        if match is None or match.coverage < TOPIC_COVERAGE:
            answer = self.abstain(ev)
            answer.notes.append(
                f"asked about an article's {field}, but no article in the index is about what the question names"
            )
            return answer
        chunk = match.passages[0].chunk
        value = chunk.author if field == "author" else chunk.date
        cites = CitationList()
        cit = cites.cite(match.passages[0])
        where = "byline" if field == "author" else "date line"
        if not value:
            what = "name its author" if field == "author" else "give its date"
            said = f"The article “{match.title}” does not {what}."
            return Answer(
                f"{said} [{cit.n}]", True, cites.items, [], ev.question, ev.rewritten, ev.passages, abstention=said
            )
        said = f"from the {where} of “{match.title}”"
        answer = Answer(
            f"**{value}** — {said} [{cit.n}]",
            False,
            cites.items,
            [Sentence(said, [cit.n], verified=True, kind="metadata")],
            ev.question,
            ev.rewritten,
            ev.passages,
        )
        answer.short_answer = value
        answer.notes.append(f"answered from the article's {where} (kept as its {field} when the text was cleaned)")
        return answer

    def verified(
        self, ev: Evidence, draft: str, verdicts: list[Verdict], prompt_idx: list[int], notes: list[str]
    ) -> Answer:
        """The draft sentences that passed verification, each citing the passage that supports
        it; when none did, the extractive answer (the draft is kept in ``Answer.draft``)."""
        kept = [v for v in verdicts if v.ok]
        notes = [f"dropped “{v.text}”: {v.reason}" for v in verdicts if not v.ok] + notes
        if not kept:
            answer = self.extractive(ev)
            answer.draft = draft
            answer.notes = notes + ["nothing in the draft could be verified; quoting the best evidence instead"]
            return answer
        cites = CitationList()
        sentences = []
        for v in kept:
            assert v.supported_by is not None  # kept means supported
            cit = cites.cite(ev.passages[prompt_idx[v.supported_by - 1]], v.span)
            if v.supported_by not in v.cited:
                notes.append(f"“{v.text}” cited {v.cited or 'nothing'}; re-attributed to the passage that supports it")
            sentences.append(Sentence(v.text, [cit.n], verified=True, kind="generated"))
        text = " ".join(f"{no_final_stop(s.text)} [{s.citations[0]}]." for s in sentences)
        return Answer(
            text, False, cites.items, sentences, ev.question, ev.rewritten, ev.passages, draft=draft, notes=notes
        )


def merge_parts(question: str, answers: list[Answer]) -> Answer:
    """One answer from per-part answers: citations shared and renumbered across the whole (a
    passage cited by two parts is listed once), each part's text on its own line, led by the part.
    The whole is declined only when every part is."""
    cites = CitationList()
    lines, sentences, parts = [], [], []
    for a in answers:
        own = [] if a.abstained else a.citations
        renumber: dict[int, int] = {}
        merged = []
        for c in own:
            m = cites.cite(c)
            for h in c.highlights:
                if h not in m.highlights:
                    m.highlights.append(h)
            renumber[c.n] = m.n
            merged.append(m)
        text = NOT_IN_ARTICLES if a.abstained else renumber_markers(a.text, renumber)
        part_sentences = [dataclasses.replace(s, citations=[renumber[n] for n in s.citations]) for s in a.sentences]
        short_span = (renumber[a.short_span[0]], *a.short_span[1:]) if a.short_span else None
        parts.append(
            dataclasses.replace(a, text=text, sentences=part_sentences, short_span=short_span, citations=merged)
        )
        sentences += part_sentences
        lines.append(f"{a.question} {text}")
    if all(a.abstained for a in answers):
        return dataclasses.replace(answers[0], question=question, parts=parts)
    return Answer(
        "\n".join(lines),
        False,
        cites.items,
        sentences,
        question,
        None,
        [p for a in answers for p in a.passages],
        support=min(a.support for a in answers),
        best_sentence=" ".join(a.best_sentence for a in answers),
        parts=parts,
        notes=[f"answered in {len(parts)} parts, each from its own evidence"],
    )


def renumber_markers(text: str, renumber: dict[int, int]) -> str:
    """``[n]`` markers rewritten through ``renumber`` (numbers it does not know stay)."""
    return re.sub(r"\[(\d+)\]", lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", text)


def quote_window(sentence: str, a: int, b: int, max_words: int) -> tuple[int, int]:
    """The part of ``sentence`` to quote around its answer span [a, b): whole when short, else
    the clauses around the span, widened one clause at a time while within ``max_words``."""
    if len(sentence.split()) <= max_words:
        return 0, len(sentence)
    cuts = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(sentence)] + [len(sentence)]
    lo = max(c for c in cuts if c <= a)
    hi = min((c for c in cuts if c >= b), default=len(sentence))

    def words(x: int, y: int) -> int:
        return len(sentence[x:y].split())

    while True:
        before = [c for c in cuts if c < lo]
        after = [c for c in cuts if c > hi]
        grown = False
        if after and words(lo, after[0]) <= max_words:
            hi, grown = after[0], True
        if before and words(before[-1], hi) <= max_words:
            lo, grown = before[-1], True
        if not grown:
            break
    if words(lo, hi) > max_words:  # one long clause: a word window centred on the span
        toks = [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence)]
        first = next(i for i, t in enumerate(toks) if t[1] > a)
        last = max(i for i, t in enumerate(toks) if t[0] < b)
        extra = max(0, max_words - (last - first + 1))
        i0 = max(0, first - extra // 2)
        i1 = min(len(toks) - 1, i0 + max(max_words, last - first + 1) - 1)
        lo, hi = toks[i0][0], toks[i1][1]
    return lo, hi


def first_paragraph(draft: str) -> str:
    return draft.strip().split("\n\n")[0]


def no_final_stop(text: str) -> str:
    return re.sub(r"[.!;:]+$", "", text.strip())


CURRENCY_SIGNS = "$€£¥₩₹"
# A news dateline opening the first sentence: "HERAKLION, Greece, August 5, 2025 — " (place, up to
# three comma-separated parts: region, date, year; then a dash). It says where the story was filed.
DATELINE = re.compile(r"[A-Z][A-Za-z.' -]{1,40}(?:, [A-Za-z0-9.' -]{1,40}){0,3}\s+(?:—|–|--)\s+")
BRACKETS = (("(", ")"), ("[", "]"), ("“", "”"))


def tidy_span(text: str, a: int, b: int, lo: int, hi: int) -> tuple[int, int]:
    """The reader's span [a, b) of ``text`` with the edges a reader's tokens cut wrongly put back,
    never leaving [lo, hi) (its sentence): a currency sign right before it ("185 billion" is
    "$185 billion"), and a bracket or quote it opens or closes but does not match ("Liberal
    Democratic Party (LDP" → "… (LDP)"; cut before the opener when its match is not next), and a
    dateline it starts in ("STRELSAU, May 4, 2026 — Helga Varnum" → "Helga Varnum")."""
    dateline = DATELINE.match(text, lo, hi)
    if dateline is not None and a < dateline.end() < b:
        a = dateline.end()
    if lo < a and text[a - 1] in CURRENCY_SIGNS:
        a -= 1
    for opener, closer in BRACKETS:
        span = text[a:b]
        depth = span.count(opener) - span.count(closer)
        if depth > 0:
            if b < hi and text[b] == closer and depth == 1:
                b += 1
            else:
                cut = a + span.rfind(opener)
                if text[a:cut].strip(" ,;:–—-"):
                    b = a + len(text[a:cut].rstrip(" ,;:–—-"))
        elif depth < 0:
            if lo < a and text[a - 1] == opener and depth == -1:
                a -= 1
            elif span.rstrip().endswith(closer) and text[a : b - 1].strip():
                b = a + len(span.rstrip()) - 1
    return a, b
