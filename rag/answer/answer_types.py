"""What kind of thing a question asks for, and whether a candidate answer is that kind, read by
spaCy's English pipeline (named entities and the dependency parse), not by regexes.

- The question's *wh-phrase* gives the expected entity labels: "how many X" → a number (CARDINAL,
  QUANTITY, MONEY, PERCENT) *counting X*; "how much" → an amount, a sum of money (MONEY) when the
  question speaks of paying, costs or a currency; "when" / "what year" → DATE or TIME; "who" → PERSON,
  ORG or NORP other than those the question names; "where" → GPE, LOC or FAC; "what/which <noun>" → the labels
  that noun's entities usually carry is *not* guessed from a word list: such questions stay untyped.
- A candidate answer (the reader's span) matches when an entity of an expected label overlaps it;
  for "how many X", the number must also be attached to X (its head in the parse, or X's
  neighbour), so "Article 9" does not answer "how many votes".
- Only the wh-word the question asks with types it: one opening a relative or adverbial clause
  ("… charged with when he was arrested?") does not.

These become two features of the answer scorer (``rag.answer.scoring``); whether they help is measured by
an ablation on held-out SQuAD titles (docs/experiments.md), not assumed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.answer.entity_conflict import same_name
from rag.answer.nlp import nlp
from rag.answer.surface_types import CALENDAR_POINT, HAS_MONEY

NUMBER = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
TIME = frozenset({"DATE", "TIME"})
AGENT = frozenset({"PERSON", "ORG", "NORP"})
AGE = frozenset({"CARDINAL", "DATE", "QUANTITY"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
MONEY = frozenset({"MONEY"})
UNKNOWN = 0.5  # feature value when the question's type is not known


@dataclass(frozen=True)
class QuestionType:
    labels: frozenset[str] | None  # expected entity labels; None = not known
    counted: str | None = None  # "how many X": X, lower-cased
    named: tuple[str, ...] = ()  # "who" questions: the names the question gives (never the answer)
    duration: bool = False  # "how long" / "how many weeks": a length of time, not a day on the calendar


# Words that make "how much" (or "how large / big") ask for a sum of money: the
# currencies and the verbs and nouns of paying. "How much did the plant cost?" wants "$2 billion",
# not "400".
MONEY_WORDS = frozenset(
    {"money", "dollar", "dollars", "yen", "euro", "euros", "cost", "costs", "costing", "paid", "pay", "pays",
     "spend", "spent", "price", "priced", "worth"}
)  # fmt: skip
# Units of time: "how many weeks" counts them, and spaCy labels "two weeks" DATE, not CARDINAL.
TIME_UNITS = frozenset(
    {"second", "minute", "hour", "day", "night", "week", "month", "year", "decade", "century", "centuries",
     "millennium", "millennia"}
)  # fmt: skip
WH_WORDS = frozenset({"who", "whom", "whose", "what", "which", "when", "where", "why", "how"})
SUBORDINATE = frozenset({"relcl", "advcl", "acl"})


def _asking_word(doc: Any) -> int | None:
    """The index of the wh-word the question asks with: the first one that does not open a
    relative or adverbial clause ("… charged with *when* he was arrested?", "… for someone *who*
    is late?"), which would otherwise type the question by a word it does not ask with."""
    for t in doc:
        if t.lower_ in WH_WORDS and t.head.dep_ not in SUBORDINATE and t.dep_ not in SUBORDINATE:
            return t.i
    return None


@lru_cache(maxsize=256)
def question_type(question: str) -> QuestionType:
    doc = nlp()(question)
    toks = [t for t in doc]
    low = [t.lower_ for t in toks]
    i = _asking_word(doc)
    if i is None:
        return QuestionType(None)
    w = low[i]
    nxt = low[i + 1] if i + 1 < len(low) else ""
    money = bool(MONEY_WORDS & set(low))
    if w == "how" and nxt == "many":
        counted = next((t.lower_ for t in toks[i + 2 :] if t.pos_ in ("NOUN", "PROPN")), None)
        if counted is not None and _same_noun(counted, TIME_UNITS):
            return QuestionType(NUMBER | TIME, counted, duration=True)
        return QuestionType(NUMBER, counted)
    if w == "how" and nxt in ("much", "large", "big") and money:
        return QuestionType(MONEY)
    if w == "how" and nxt == "long":
        return QuestionType(NUMBER | TIME, duration=True)
    if w == "how" and nxt == "old":  # an age: a count of years, not a day, a share or a sum
        return QuestionType(AGE, duration=True)
    if w == "how" and nxt in ("much", "far", "large", "big", "tall", "high", "often"):
        return QuestionType(NUMBER | TIME if nxt == "often" else NUMBER)
    if w in ("when",):
        return QuestionType(TIME)
    if w in ("who", "whom", "whose"):
        return QuestionType(AGENT, named=tuple(e.text for e in doc.ents))
    if w == "where":
        return QuestionType(PLACE)
    if w in ("what", "which") and nxt in ("year", "years", "date", "day", "month", "century", "decade", "time"):
        return QuestionType(TIME)
    if w in ("what", "which") and nxt in ("percentage", "percent", "proportion"):
        return QuestionType(frozenset({"PERCENT"}) | NUMBER)
    return QuestionType(None)


def type_features(
    qtype: QuestionType, sentences: list[str], spans: list[tuple[int, int] | None]
) -> list[tuple[float, float]]:
    """(type match, counted-noun match) for each sentence's span (offsets relative to the sentence)."""
    if qtype.labels is None:
        return [(UNKNOWN, UNKNOWN)] * len(sentences)
    out = []
    for doc, span in zip(nlp().pipe(sentences), spans, strict=True):
        if span is None:
            out.append((0.0, 0.0 if qtype.counted else UNKNOWN))
            continue
        a, b = span
        ents = [e for e in doc.ents if e.start_char < b and a < e.end_char and e.label_ in qtype.labels]
        if qtype.named:  # "who" is not answered by a name the question already gives
            ents = [e for e in ents if not any(same_name(e.text, n) for n in qtype.named)]
        if qtype.duration:  # "how long" is not answered by "October 28th"
            ents = [e for e in ents if e.label_ not in TIME or not CALENDAR_POINT.search(e.text)]
        match = 1.0 if ents else 0.0
        counted = UNKNOWN
        if qtype.counted:
            counted = 0.0
            for e in ents:
                for t in e:
                    near = {t.head.lower_} | {c.lower_ for c in t.children}
                    after = doc[e.end].lower_ if e.end < len(doc) else ""
                    if _same_noun(qtype.counted, near | {after}):
                        counted = 1.0
        out.append((match, counted))
    return out


# Quantities said in words rather than numbers ("only a few", "dozens of"): they answer "how many".
VAGUE_COUNTS = frozenset({"few", "several", "dozens", "hundreds", "thousands", "millions", "billions", "couple"})


def states_a_count(sentence: str) -> bool:
    """Does ``sentence`` give any number or quantity (digits, number words, spaCy's number
    entities, or a vague count such as "a few")?"""
    if any(ch.isdigit() for ch in sentence):
        return True
    doc = nlp()(sentence)
    return any(t.like_num or t.lower_ in VAGUE_COUNTS for t in doc) or any(e.label_ in NUMBER for e in doc.ents)


def states_an_amount(sentence: str) -> bool:
    """Does ``sentence`` give a sum of money (spaCy's MONEY entities, or a figure with a currency)?"""
    if HAS_MONEY.search(sentence):
        return True
    return any(e.label_ == "MONEY" for e in nlp()(sentence).ents)


def _same_noun(noun: str, words: Iterable[str]) -> bool:
    stem = noun.rstrip("s")
    return any(w.rstrip("s") == stem for w in words)
