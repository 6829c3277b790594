"""Questions about an article itself — who wrote it, when it was published — answered from its
byline and dateline.

Cleaning takes the byline and dateline out of an article's text (they are chrome to every passage
of it) and keeps them as the article's ``author`` and ``date``. So no sentence can answer "Who
wrote the article on …?", and the sentence scorer, asked anyway, quotes some sentence about the
topic: a cited answer to a question it does not answer. Here such a question is recognised by its
wording (the writing verb or noun must govern an article noun: "who wrote the story about …",
"the author of this piece", "when was the report published"; "who wrote the treaty, according to
the article?" is a question about the content and is left to the sentence path), the article is
the one retrieval ranks first, and it must cover the question's topic, or the question is
declined: an author of an article about something else would be a wrong answer with a citation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.answer.retrieval import tokenize
from rag.types import Passage

_ARTICLE = (
    # Not "report" or "analysis": in news those are mostly things the article is about ("when was
    # the assessment report published?" asks about content; 5 of 7 such SQuAD questions did).
    r"(?:article|story|piece|column|op-?ed|editorial|essay|post|commentary|explainer|blog post|news item)s?"
)
_DET = r"(?:the|this|that|an|a)\s+(?:[\w'’.-]+\s+){0,3}?"
_AUTHOR = [
    re.compile(rf"\b(?:wrote|write|writes|authored|penned|filed)\s+{_DET}{_ARTICLE}\b", re.IGNORECASE),
    re.compile(rf"\b(?:author|writer|byline|reporter)s?\s+(?:of|for|on|behind)\s+{_DET}{_ARTICLE}\b", re.IGNORECASE),
    re.compile(rf"\b{_ARTICLE}\b.{{0,80}}?\b(?:written|authored|penned|filed)\s+by\s+whom\b", re.IGNORECASE),
    re.compile(rf"\bwho\s+(?:was|is)\s+{_DET}{_ARTICLE}\s+(?:written|authored|penned|by)\b", re.IGNORECASE),
    re.compile(rf"\bwhose\s+(?:{_ARTICLE}|byline)\b", re.IGNORECASE),
    re.compile(
        r"^\W*who\s+(?:is|was)\s+(?:the|its)\s+(?:author|writer)\W*$", re.IGNORECASE
    ),  # of the article talked about
]
_DATE = [
    re.compile(
        rf"\b(?:when|what\s+(?:date|day)|which\s+(?:date|day)|on\s+what\s+date)\b.*?\b(?:was|is)\s+{_DET}{_ARTICLE}\b"
        r".*?\b(?:published|posted|written|dated|released|filed)\b",
        re.IGNORECASE,
    ),
    re.compile(rf"\b(?:publication|publishing|release)\s+date\s+of\s+{_DET}{_ARTICLE}\b", re.IGNORECASE),
    re.compile(rf"\bwhen\s+did\s+{_DET}{_ARTICLE}\b.*?\b(?:come\s+out|appear|run)\b", re.IGNORECASE),
]
# Words of the question that ask about the article rather than name its topic.
_META_WORDS = set(
    tokenize(
        "who whom whose wrote write writes written authored author authors penned writer byline reporter filed "
        "when what which date day published publication publishing posted dated released release come out "
        "appear run article articles story stories piece report column op ed editorial essay post analysis "
        "commentary feature explainer blog news item about on regarding"
    )
)
TOPIC_COVERAGE = 0.5  # the article must hold over half of the topic's (IDF-weighted) words


def metadata_field(question: str) -> str | None:
    """The article field asked for ("author", "date"), or None for a question about content."""
    if any(p.search(question) for p in _AUTHOR):
        return "author"
    if any(p.search(question) for p in _DATE):
        return "date"
    return None


def topic_terms(question: str) -> list[str]:
    """The question's words that say which article is meant ("… the article on X" → X's words)."""
    return [t for t in tokenize(question) if t not in _META_WORDS]


@dataclass
class ArticleMatch:
    """The article a metadata question is about, as retrieval found it."""

    passages: list[Passage]  # its retrieved passages, best first
    coverage: float  # IDF-weighted share of the topic words its title and passages hold

    @property
    def title(self) -> str:
        return self.passages[0].chunk.title


def match_article(
    topic: list[str], passages: list[Passage], coverage: Callable[[list[str], str], float]
) -> ArticleMatch | None:
    """The article of the best-ranked passage, with how much of the topic it covers. ``coverage``
    is ``Grounder.coverage`` (the index's IDF weights); no topic words → coverage 0."""
    if not passages:
        return None
    source = passages[0].chunk.source
    own = [p for p in passages if p.chunk.source == source]
    text = " ".join([own[0].chunk.title, *(p.chunk.text for p in own)])
    return ArticleMatch(own, coverage(topic, text) if topic else 0.0)
