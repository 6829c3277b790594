"""Plain dataclasses that flow between the components.

Offsets are character offsets into the *cleaned* article text (``Document.text``), so that
``document.text[chunk.start:chunk.end] == chunk.text`` always holds and a citation points at an
exact span a reader can find.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rag.text import strip_markers


@dataclass(frozen=True)
class Document:
    source: str  # file name relative to the articles folder
    title: str  # the headline, or a short label (``title_is_label``) when the article has none
    text: str  # cleaned text; every offset in the system points into this
    content_hash: str  # sha256 of the raw file bytes: what incremental indexing compares
    author: str = ""
    date: str = ""  # ISO 8601 when it could be read as a date, else as written
    title_is_label: bool = False
    page_starts: tuple[int, ...] = ()  # PDFs: offset in ``text`` where page 1, 2, … begins
    tables: tuple[Any, ...] = ()  # rag.ingest.tables.Table: where each table's rows are in ``text``

    def page_at(self, offset: int) -> int | None:
        """The page (1-based) holding character ``offset``, for paged formats."""
        if not self.page_starts:
            return None
        return max(1, sum(1 for s in self.page_starts if s <= offset))


@dataclass(frozen=True)
class Chunk:
    id: str  # stable: a hash of (source, text)
    source: str
    title: str
    text: str
    start: int
    end: int
    author: str = ""
    date: str = ""
    pages: tuple[int, int] | None = None  # first and last page of the passage (PDFs)
    page_breaks: tuple[int, ...] = ()  # passage-relative offsets where its 2nd, 3rd, … page begins
    # Table rows inside the passage: (start, end, header cells, row cells), passage-relative, so a
    # source card can show them as a table again.
    table_rows: tuple[tuple[int, int, tuple[str, ...], tuple[str, ...]], ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        d = dict(d)
        if d.get("pages") is not None:
            d["pages"] = tuple(d["pages"])
        d["page_breaks"] = tuple(d.get("page_breaks", ()))
        d["table_rows"] = tuple((a, b, tuple(h), tuple(c)) for a, b, h, c in d.get("table_rows", ()))
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A chunk as retrieved for one question, with the evidence of why it ranked."""

    chunk: Chunk
    score: float  # fused score used for ranking
    dense: float = 0.0  # cosine similarity to the question
    lexical: float = 0.0  # BM25 score


@dataclass
class Citation:
    n: int  # the number used in [n] markers
    source: str
    title: str
    chunk_id: str
    text: str  # the passage
    start: int  # of the passage in the cleaned article
    end: int
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)  # supporting spans, passage-relative
    author: str = ""
    date: str = ""
    pages: tuple[int, int] | None = None  # PDFs: the pages the passage is on
    page_breaks: tuple[int, ...] = ()  # as on Chunk
    table_rows: tuple[tuple[int, int, tuple[str, ...], tuple[str, ...]], ...] = ()  # as on Chunk

    def page_at(self, offset: int) -> int | None:
        """The page of a passage-relative offset (PDFs)."""
        if not self.pages:
            return None
        return self.pages[0] + sum(1 for b in self.page_breaks if b <= offset)

    @property
    def page_label(self) -> str:
        """Where to look in a PDF: the page of the supporting sentence(s), else the passage's pages."""
        if not self.pages:
            return ""
        if self.highlights:
            a = self.page_at(min(h[0] for h in self.highlights))
            b = self.page_at(max(h[1] for h in self.highlights) - 1)
        else:
            a, b = self.pages
        return f"p. {a}" if a == b else f"pp. {a}–{b}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Citation:
        """Inverse of ``to_dict`` (JSON turned the tuples into lists)."""
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["highlights"] = [tuple(h) for h in d.get("highlights", [])]
        d["pages"] = tuple(d["pages"]) if d.get("pages") else None
        d["page_breaks"] = tuple(d.get("page_breaks", ()))
        d["table_rows"] = tuple((a, b, tuple(h), tuple(c)) for a, b, h, c in d.get("table_rows", ()))
        return cls(**d)


@dataclass
class Sentence:
    """One sentence of an answer and how it was checked."""

    text: str
    citations: list[int]  # citation numbers it rests on
    verified: bool  # True when its content was checked against the cited passage
    kind: str = "quoted"  # "quoted" (from a passage), "generated" (model-written, verified), "metadata" (byline)


@dataclass
class Answer:
    text: str
    abstained: bool
    citations: list[Citation]
    sentences: list[Sentence] = field(default_factory=list)
    question: str = ""
    rewritten_question: str | None = None  # the standalone question used for retrieval, if rewritten
    passages: list[Passage] = field(default_factory=list)  # everything retrieved, best first
    draft: str | None = None  # the model's unverified draft, when one was generated
    support: float = 0.0  # how well the best evidence supports an answer (abstention compares this)
    notes: list[str] = field(default_factory=list)  # what verification changed in the draft, and why
    timings: dict[str, float] = field(default_factory=dict)
    # The reader's short answer (an entity, number, date or phrase), copied from the quoted sentence,
    # and where it is: (citation number, start, end) relative to that citation's passage.
    short_answer: str | None = None
    short_span: tuple[int, int, int] | None = None
    best_sentence: str = ""  # the best-scoring evidence sentence, whether answered or declined
    # A question that asks several things is answered part by part: one Answer per part (its
    # ``question`` is the part), citations numbered across the whole answer.
    parts: list[Answer] = field(default_factory=list)
    # Why it declined, in words for a person (empty when it answered); front ends show this
    # instead of taking the answer's text apart.
    abstention: str = ""

    @property
    def plain_text(self) -> str:
        """The answer without [n] markers (they are structure, not content)."""
        return strip_markers(self.text).replace("**", "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "abstained": self.abstained,
            "question": self.question,
            "rewritten_question": self.rewritten_question,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "draft": self.draft,
            "support": self.support,
            "short_answer": self.short_answer,
            "short_span": self.short_span,
            "notes": self.notes,
            "timings": self.timings,
            "parts": [p.to_dict() for p in self.parts],
            "abstention": self.abstention,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Answer:
        """Inverse of ``to_dict``: an answer received from a running server, as if made here."""
        return cls(
            text=d["text"],
            abstained=d["abstained"],
            question=d.get("question", ""),
            citations=[Citation.from_dict(c) for c in d.get("citations", [])],
            sentences=[Sentence(**s) for s in d.get("sentences", [])],
            rewritten_question=d.get("rewritten_question"),
            draft=d.get("draft"),
            support=d.get("support", 0.0),
            short_answer=d.get("short_answer"),
            short_span=tuple(d["short_span"]) if d.get("short_span") else None,
            notes=list(d.get("notes", [])),
            timings=dict(d.get("timings", {})),
            parts=[cls.from_dict(p) for p in d.get("parts", [])],
            abstention=d.get("abstention", ""),
        )
