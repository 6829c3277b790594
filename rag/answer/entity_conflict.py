"""Does the best sentence answer about someone else? A question names an entity ("How many ships
does Norway's navy have?"); the passage never mentions it, and the sentence names another entity
of the same kind in its place ("Sweden's navy has 40 ships"). The answer scorer, trained
on SQuAD where the asked-about entity is nearly always there, rates such a sentence as highly as
the real answer; the same question about a neighbouring country, official or team is the near
miss of a news archive on one subject.

``conflicts`` finds these with spaCy's entities (``rag.answer.nlp``). Names
are compared loosely, because news writes one name several ways: case, a leading "the" and a
possessive are ignored, a shared word counts ("Trump" / "Donald Trump", "U.S.-Japan" / "Japan"),
and so do initials ("U.S." / "United States"). The entity is looked for in the whole passage, not
only the sentence, which often refers to it by a pronoun. How much a conflict should weigh against
the sentence's probability is not set here: ``rag.answer.scoring.Decision`` is fitted on SQuAD titles
(questions whose main entity was swapped for another of the same title among the negatives) and
its threshold chosen on others.
"""

from __future__ import annotations

import re
from typing import Any

from rag.answer.nlp import nlp

NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT"})
_GLUE = {"the", "of", "and", "for", "in", "on", "de"}


def _norm(name: str) -> str:
    name = re.sub(r"^the\s+", "", name.strip().lower())
    return re.sub(r"['’]s$", "", name).strip(" .,'’\"“”")


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", _norm(name))) - _GLUE


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z]+", name) if w[0].isupper() and w.lower() not in _GLUE)


def same_name(a: str, b: str) -> bool:
    """Could ``a`` and ``b`` name the same thing? Loose on purpose: a false "same" only leaves the
    decision to the answer score, a false "different" can decline a right answer."""
    na, nb = _norm(a), _norm(b)
    if not na or not nb:
        return False
    if na == nb or na in nb or nb in na or _words(a) & _words(b):
        return True
    squash_a, squash_b = re.sub(r"[^A-Za-z]", "", a).upper(), re.sub(r"[^A-Za-z]", "", b).upper()
    return (len(squash_a) >= 2 and squash_a == _initials(b)) or (len(squash_b) >= 2 and squash_b == _initials(a))


def _names(doc: Any) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents if e.label_ in NAME_LABELS]


def conflicts(question: str, sentence: str, passage: str) -> list[tuple[str, list[str]]]:
    """(name in the question, names of the same kind the sentence gives instead) for every name
    of the question that the passage does not mention while the sentence names another of its
    kind; empty when the sentence and passage are about what the question names."""
    q_doc, s_doc, p_doc = nlp().pipe([question, sentence, passage])
    return _conflicts(_names(q_doc), _names(s_doc), [t for t, _ in _names(p_doc)], passage.lower())


def conflict_flags(question: str, sentences: list[str], passages: list[str]) -> list[bool]:
    """``bool(conflicts(question, s, p))`` for each sentence and its passage, each text parsed once."""
    if not sentences:
        return []
    unique = list(dict.fromkeys([question, *sentences, *passages]))
    names = dict(zip(unique, (_names(d) for d in nlp().pipe(unique)), strict=True))
    asked = names[question]
    if not asked:
        return [False] * len(sentences)
    return [
        bool(_conflicts(asked, names[s], [t for t, _ in names[p]], p.lower()))
        for s, p in zip(sentences, passages, strict=True)
    ]


def _conflicts(
    asked: list[tuple[str, str]], in_sentence: list[tuple[str, str]], in_passage: list[str], passage_low: str
) -> list[tuple[str, list[str]]]:
    found = []
    for name, label in asked:
        if _norm(name) in passage_low or any(same_name(name, other) for other in in_passage):
            continue
        instead = [t for t, lab in in_sentence if lab == label and not any(same_name(t, q) for q, _ in asked)]
        if instead:
            found.append((name, instead))
    return found
