"""The kind of answer a question asks for, read from its wording ("how many" → a number,
"when" → a time, "who" → a name), and whether a sentence holds that kind of thing.

These surface patterns serve the two paths that run without the answer reader: the support score
used when ``RAG_READER=none`` (``rag.answer.evidence``), and the check of a generated draft
(``rag.answer.verification``), where a sentence that lacks the kind of thing asked for is dropped. The
reader path types questions and spans with spaCy instead (``rag.answer.answer_types``), and whether that
helps is measured on held-out SQuAD titles.
"""

from __future__ import annotations

import re

from rag.answer.retrieval import tokenize

FUNCTION_WORDS = {"the", "a", "an", "and", "but", "or", "in", "on", "at", "this", "that", "these", "it", "its"}

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    "hundred|thousand|million|billion|trillion|dozen|half|double|triple|several"
)
HAS_NUMBER = re.compile(rf"\d|\b({NUMBER_WORDS})\b", re.IGNORECASE)
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
# A point on the calendar or the clock ("October 28th", "Friday", "3 p.m."): it says when, never
# how long, so it does not answer "how long …?" the way "one week" or "since 2001" does.
CALENDAR_POINT = re.compile(rf"\b({_MONTHS}|{_WEEKDAYS})\b|\b\d{{1,2}}(:\d\d)?\s*(a\.?m\b|p\.?m\b)", re.IGNORECASE)
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
        if m.start() == 0 or word.lower() in q_words or word.lower() in FUNCTION_WORDS:
            continue
        names.append(word)
    return names


def _numbers(text: str) -> set[str]:
    """The figures in ``text``, without the punctuation that may follow them ("2026." is 2026)."""
    return {n.rstrip(".,") for n in re.findall(r"\d[\d,.]*", text)}


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
        q_nums = _numbers(question)
        return bool(_numbers(sentence) - q_nums) or bool(re.search(rf"\b({NUMBER_WORDS})\b", sentence, re.IGNORECASE))
    if kind == "person":
        # "Who is <role>?" needs a sentence naming that role, not a neighbouring one.
        m = _WHO_IS.match(question)
        if m and not all(t in tokenize(sentence) for t in tokenize(m.group("np"))):
            return False
        return bool(_novel_names(sentence, question))
    if kind == "place":
        return bool(_novel_names(sentence, question))
    return True
