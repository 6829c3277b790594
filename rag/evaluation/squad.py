"""SQuAD v1.1 as training and outside-test data, split by *title* so nothing leaks between uses.

The split is committed (``rag/data/squad_split.json``, made by ``make_split`` with a fixed seed)
and every fitted part of the answer layer says which part it used:

- ``reader``: the titles the answer reader is trained on;
- ``fusion``: titles held out from the reader, on which the answer-score weights are fitted
  (the reader is over-confident on its own training questions, so weights fitted there would be
  skewed);
- ``calibration``: titles on which the refusal threshold is chosen;
- ``test``: titles only ever reported on.

Each part is halved again into ``indexed`` and ``held_out`` titles for the *open* setting: the
index holds every indexed title's paragraphs (one file per paragraph); questions of an indexed
title are answerable, questions of a held-out title have no answer in the index ("other-title"),
and a "near-miss" question is an answerable one asked with every paragraph holding its answer
removed from what retrieval may return.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

from rag.settings import PACKAGE_DIR

T = TypeVar("T")
SPLIT_FILE = PACKAGE_DIR / "data" / "squad_split.json"
SPLIT_SEED = 11
PARTS = {"reader": 24, "fusion": 5, "calibration": 7, "test": 12}


@dataclass
class SquadQuestion:
    id: str
    title: str
    paragraph: int  # index of the gold paragraph within its title
    question: str
    answers: list[str]
    answer_starts: list[int]
    context: str

    @property
    def source(self) -> str:
        return paragraph_source(self.title, self.paragraph)


@dataclass
class SquadTitle:
    title: str
    paragraphs: list[str]
    questions: list[SquadQuestion] = field(default_factory=list)


def paragraph_source(title: str, paragraph: int) -> str:
    """The file name (relative to the corpus folder) one paragraph is written to."""
    return f"{safe_title(title)}/{paragraph:04d}.txt"


def safe_title(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", title)


def load_squad(path: Path | str) -> dict[str, SquadTitle]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    titles: dict[str, SquadTitle] = {}
    for art in data:
        t = SquadTitle(art["title"], [p["context"] for p in art["paragraphs"]])
        for pi, p in enumerate(art["paragraphs"]):
            for qa in p["qas"]:
                t.questions.append(
                    SquadQuestion(
                        qa["id"],
                        art["title"],
                        pi,
                        qa["question"].strip(),
                        [a["text"] for a in qa["answers"]],
                        [a["answer_start"] for a in qa["answers"]],
                        p["context"],
                    )
                )
        titles[t.title] = t
    return titles


def make_split(titles: list[str], seed: int = SPLIT_SEED) -> dict:
    """Titles shuffled with a fixed seed, cut into the parts, each halved into indexed/held-out."""
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    split: dict = {"seed": seed, "parts": {}}
    i = 0
    for name, n in PARTS.items():
        part = order[i : i + n]
        i += n
        half = (len(part) + 1) // 2
        split["parts"][name] = {"indexed": sorted(part[:half]), "held_out": sorted(part[half:])}
    return split


def load_split(path: Path = SPLIT_FILE) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def part_titles(split: dict, part: str) -> list[str]:
    p = split["parts"][part]
    return sorted(p["indexed"] + p["held_out"])


def indexed_titles(split: dict) -> list[str]:
    return sorted(t for p in split["parts"].values() for t in p["indexed"])


def write_corpus(titles: dict[str, SquadTitle], names: list[str], folder: Path) -> Path:
    """One text file per paragraph under ``folder/<title>/``; existing identical files are kept
    (so re-running reuses the index)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        for pi, text in enumerate(titles[name].paragraphs):
            path = folder / paragraph_source(name, pi)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
    return folder


def answer_sources(q: SquadQuestion, title: SquadTitle) -> set[str]:
    """Every paragraph of the title that contains one of the question's answers: removing only the
    gold paragraph would leave the answer findable elsewhere, which is not a near miss."""
    out = {q.source}
    for pi, text in enumerate(title.paragraphs):
        low = text.lower()
        if any(a.strip() and a.lower() in low for a in q.answers):
            out.add(paragraph_source(title.title, pi))
    return out


def sample(questions: list[T], n: int, seed: int = 0) -> list[T]:
    if n <= 0 or n >= len(questions):
        return list(questions)
    return random.Random(seed).sample(questions, n)


# Entity labels a question can be *about*: swapping one for another of its kind asks about
# something else (numbers, dates and amounts are what questions ask for, not what they are about).
SWAP_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW"})


def _name_words(name: str) -> set[str]:
    return {w for w in re.findall(r"\w+", name.lower()) if len(w) > 2 and w != "the"}


def entity_swaps(questions: list[SquadQuestion], n: int, seed: int = 0) -> list[tuple[SquadQuestion, str]]:
    """Up to ``n`` questions asked about the wrong entity: the longest named entity of a question
    is replaced by another entity of the same spaCy label from another question *of the same
    title* ("When did Tesla move to Prague?" -> "When did Edison move to Prague?"). The new entity
    is in the collection, only not with this fact — the near miss of a news archive about one
    subject (another country's figure, another official's title), which a removed paragraph does
    not imitate. Replacements that appear in the question or a gold answer are skipped."""
    from rag.answer.nlp import nlp

    docs = list(nlp().pipe([q.question for q in questions], batch_size=256))
    pools: dict[str, dict[str, set[str]]] = {}
    for q, d in zip(questions, docs, strict=True):
        for e in d.ents:
            if e.label_ in SWAP_LABELS:
                pools.setdefault(q.title, {}).setdefault(e.label_, set()).add(e.text)
    rng = random.Random(seed)
    order = list(range(len(questions)))
    rng.shuffle(order)
    out: list[tuple[SquadQuestion, str]] = []
    for i in order:
        q, d = questions[i], docs[i]
        pool = pools.get(q.title, {})
        ents = [e for e in d.ents if e.label_ in SWAP_LABELS and len(pool.get(e.label_, ())) > 1]
        if not ents:
            continue
        e = max(ents, key=lambda e: len(e.text))
        words = _name_words(e.text)
        options = sorted(
            t
            for t in pool[e.label_]
            if t.lower() not in q.question.lower()
            and not words & _name_words(t)  # "the 50th Super Bowl" is still the Super Bowl
            and not any(t.lower() in a.lower() or a.lower() in t.lower() for a in q.answers)
        )
        if not options:
            continue
        out.append((q, q.question[: e.start_char] + rng.choice(options) + q.question[e.end_char :]))
        if len(out) == n:
            break
    return out


def iter_part(titles: dict[str, SquadTitle], split: dict, part: str, which: str = "indexed") -> Iterator[SquadQuestion]:
    for name in split["parts"][part][which]:
        yield from titles[name].questions


@dataclass
class MultiPart:
    """Two questions on different paragraphs of one title, asked as one: "<first> and <second>?"."""

    first: SquadQuestion
    second: SquadQuestion
    asked: str


_WH_START = re.compile(
    r"^(?:(?:in|on|at|by|for|from|during|to|of|with)\s+)?(?:what|which|who|whom|whose|when|where|why|how)\b",
    re.IGNORECASE,
)


def multipart_pairs(titles: dict[str, SquadTitle], names: list[str]) -> list[MultiPart]:
    """For each paragraph, its first question joined to the first question of the next paragraph
    (each part then has its own gold paragraph); the second must open with a wh-phrase so the
    joined question reads as one sentence."""
    out = []
    for name in names:
        firsts: dict[int, SquadQuestion] = {}
        for q in titles[name].questions:
            firsts.setdefault(q.paragraph, q)
        order = sorted(firsts)
        for p1, p2 in pairwise(order):
            q1, q2 = firsts[p1], firsts[p2]
            second = q2.question.strip()
            if not _WH_START.match(second) or not q1.question.strip():
                continue
            asked = f"{q1.question.strip().rstrip('?').rstrip()}, and {second[0].lower()}{second[1:]}"
            out.append(MultiPart(q1, q2, asked if asked.endswith("?") else asked + "?"))
    return out


if __name__ == "__main__":  # python -m rag.evaluation.squad PATH: (re)write the committed split
    import sys

    src = sys.argv[1] if len(sys.argv) > 1 else "../shared/eval/external/squad-v1.1/dev-v1.1.json"
    split = make_split(list(load_squad(src)))
    SPLIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    SPLIT_FILE.write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SPLIT_FILE}")


@dataclass
class FollowUp:
    """Two consecutive questions on one paragraph; the second names the shared subject only by a pronoun."""

    first: SquadQuestion
    second: SquadQuestion
    asked: str  # the second question, subject replaced by a pronoun
    subject: str  # what was replaced
    answer_sentence: str  # the first question's gold sentence: the assistant's turn in the history

    @property
    def history(self) -> list[dict]:
        return [
            {"role": "user", "content": self.first.question},
            {"role": "assistant", "content": self.answer_sentence},
        ]


_CAP_RUN = re.compile(r"(?:[A-Z][\w.'’&-]*|\d[\d,.]*)(?:\s+(?:of\s+|the\s+|de\s+)?(?:[A-Z][\w.'’&-]*|\d[\d,.]*))*")
_WH = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "in",
    "on",
    "during",
    "the",
    "a",
    "an",
    "after",
    "before",
}


def _shared_subject(q1: str, q2: str) -> str | None:
    """The longest proper-noun run of ``q2`` (not its opening word) that ``q1`` also contains."""
    best = None
    for m in _CAP_RUN.finditer(q2):
        if m.start() == 0:
            continue
        phrase = m.group(0).strip(" .,")
        words = phrase.split()
        while words and words[0].lower() in _WH:
            words = words[1:]
        phrase = " ".join(words)
        if not phrase or phrase[0].isdigit() or phrase not in q1:
            continue
        if best is None or len(phrase) > len(best):
            best = phrase
    return best


def followup_pairs(titles: dict[str, SquadTitle], names: list[str]) -> list[FollowUp]:
    """Every consecutive question pair on one paragraph whose second question repeats a proper
    noun of the first: that noun becomes "it" (possessive: "its"), with a leading "the" dropped."""
    out = []
    for name in names:
        qs = titles[name].questions
        for q1, q2 in pairwise(qs):
            if q1.paragraph != q2.paragraph:
                continue
            subject = _shared_subject(q1.question, q2.question)
            if not subject:
                continue
            pattern = re.compile(rf"\b(?:[Tt]he\s+)?{re.escape(subject)}(?P<pos>['’]s\b)?")
            m = pattern.search(q2.question)
            if m is None or not _stands_alone(q2.question, m.start(), m.end()):
                continue
            asked = q2.question[: m.start()] + ("its" if m.group("pos") else "it") + q2.question[m.end() :]
            sentence = _sentence_of(q1.context, q1.answer_starts[0])
            out.append(FollowUp(q1, q2, asked, subject, sentence))
    return out


_AFTER_OK = {
    "in",
    "on",
    "at",
    "to",
    "of",
    "for",
    "from",
    "with",
    "by",
    "during",
    "after",
    "before",
    "is",
    "was",
    "are",
    "were",
    "do",
    "did",
    "does",
    "have",
    "has",
    "had",
    "and",
    "or",
    "become",
    "first",
    "last",
    "use",
    "make",
}


def _stands_alone(q: str, a: int, b: int) -> bool:
    """Is q[a:b] a whole noun phrase (not a modifier of a following noun, not after "which")?"""
    before = q[:a].split()
    if before and before[-1].lower() in ("which", "what", "whose", "other", "a", "an"):
        return False
    rest = q[b:].lstrip()
    if not rest or rest[0] in "?,.;:":
        return True
    nxt = re.match(r"[\w']+", rest)
    return nxt is not None and (nxt.group(0).lower() in _AFTER_OK or nxt.group(0).endswith("ed"))


def _sentence_of(text: str, at: int) -> str:
    from rag.ingest.chunking import sentence_spans

    for a, b in sentence_spans(text):
        if a <= at < b:
            return text[a:b]
    return text[:200]
