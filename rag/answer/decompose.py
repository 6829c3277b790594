"""Split a question that asks two things ("When was X built, and who designed it?") into its parts,
so that each part is retrieved, read and cited on its own instead of being answered from whichever
single passage best matches the whole.

The split is read from spaCy's parse, not from a list of phrasings: a coordinating "and" (or a
semicolon) directly followed by a new wh-clause (optionally behind a preposition: "and in which
year") starts a new part. A relative clause ("the man who founded it") has no conjunction before
its wh-word and stays whole. A bare second part ("… and when?") borrows the words of the first
part after its wh-phrase. A later part that refers back ("who designed it?") is asked with the
earlier parts as conversation history, so the follow-up rewrite can resolve the pronoun.
How much this gains is measured on SQuAD test titles (``rag eval --squad … --multipart N``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.answer.nlp import nlp

WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})
CONJUNCTIONS = frozenset({"and", ";"})
MIN_PART_WORDS = 3


def split_question(question: str) -> list[str]:
    """The question's parts, or ``[question]`` when it asks one thing."""
    doc = nlp()(question)
    starts = []
    for t in doc:
        if t.tag_ not in WH_TAGS or t.i == 0:
            continue
        b = t.i
        while b > 0 and doc[b - 1].pos_ == "ADP":
            b -= 1
        if b >= 2 and doc[b - 1].lower_ in CONJUNCTIONS:
            starts.append(b)
    if not starts:
        return [question]
    bounds = [0, *starts, len(doc)]
    parts: list[str] = []
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        toks = [tok for tok in doc[a:b] if not (tok.i == b - 1 and tok.lower_ in CONJUNCTIONS)]
        while toks and (toks[-1].is_punct or toks[-1].lower_ in CONJUNCTIONS):
            toks.pop()
        parts.append("".join(tok.text_with_ws for tok in toks).strip())
    first = doc[: starts[0]]
    rest_of_first = [
        tok for tok in first if tok.tag_ not in WH_TAGS and not tok.is_punct and tok.lower_ not in CONJUNCTIONS
    ]
    out: list[str] = []
    for part in parts:
        words = part.split()
        if len(words) < MIN_PART_WORDS and out:  # "... and when?": the first part's predicate, re-asked
            lead = [w for w in words if w.lower() not in ("and",)]
            skip = _wh_phrase_len(first)
            part = " ".join(lead + [tok.text for tok in rest_of_first[skip:]])
        if len(part.split()) < MIN_PART_WORDS:
            return [question]
        part = part[0].upper() + part[1:]
        out.append(part.rstrip(" ,;?") + "?")
    return out if len(out) > 1 else [question]


_NAMED = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})
_PERSONAL = {"he": "", "she": "", "him": "", "his": "'s", "her": ""}
_IMPERSONAL = {"it": "", "its": "'s", "they": "", "them": "", "their": "'s"}


def subject(question: str) -> Any:
    """The span of the question's subject, what its later parts refer back to: the non-wh
    argument of the main verb ("Who is [Japan's new prime minister]?", "How many growers does
    [the union] represent?", "When was [the bridge] opened?"); None when there is none."""
    doc = nlp()(question)
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    for dep in ("nsubj", "nsubjpass", "attr", "dobj"):
        for child in root.children:
            if child.dep_ != dep or child.pos_ == "PRON" or any(t.tag_ in WH_TAGS for t in child.subtree):
                continue
            return doc[child.left_edge.i : child.right_edge.i + 1]
    # the small parser can lose the subject ("did [Norda Air] forecast" as a compound): its first name
    return next((e for e in doc.ents if e.label_ in _NAMED), None)


_HOW_MANY_ITEMS = {"two": 2, "three": 3, "both": 2}


def items_asked(question: str) -> int:
    """How many things the question asks to be named: 2 for "Which two firms …?", "What are the
    two …", "both …" on the asked noun; 1 otherwise. Read from the parse: the number word must
    modify the noun the wh-word asks about (or be its determiner), so "two" elsewhere does not count."""
    low = question.lower()
    if not any(w in low.split() for w in _HOW_MANY_ITEMS):
        return 1
    doc = nlp()(question)
    for tok in doc:
        n = _HOW_MANY_ITEMS.get(tok.lower_)
        if n is None or tok.dep_ not in ("nummod", "det", "predet", "quantmod", "amod"):
            continue
        noun = tok.head
        asked = any(c.tag_ in WH_TAGS for c in noun.children) or any(
            t.tag_ in WH_TAGS and t.dep_ in ("attr", "nsubj") for t in noun.head.children
        )
        if noun.pos_ in ("NOUN", "PROPN") and asked:
            return n
    return 1


def refer_back(first: str, part: str, answer: str | None = None) -> str:
    """A later part with its first third-person pronoun replaced by what it refers to, so that it
    stands alone. When the first part asks *who* and was answered with a name, "he"/"she" is
    that person ("Who is the new prime minister and when did she meet the king?" → "When did
    <the name> meet the king?"); otherwise the first part's subject: "he"/"she" take it whole,
    "it"/"they" the thing it is *of* when it has one ("the cost of the centre … when will it
    open?": the centre). A part without such a pronoun is left as it is."""
    doc = nlp()(part)
    tok = next(
        (t for t in doc if t.pos_ == "PRON" and (t.lower_ in _PERSONAL or t.lower_ in _IMPERSONAL)),
        None,
    )
    if tok is None:
        return part
    personal = tok.lower_ in _PERSONAL
    if personal and answer and first.split()[0].lower() in ("who", "whom"):
        name = answer
    else:
        head = subject(first)
        if head is None:
            return part
        name = head.text
        of = next((c for t in head for c in t.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        pobj = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
        if pobj is not None and not personal:
            name = head.doc[pobj.left_edge.i : pobj.right_edge.i + 1].text
    text = name + ("'s" if tok.dep_ == "poss" or tok.tag_ == "PRP$" else "")
    if tok.i == 0:
        text = text[0].upper() + text[1:]
    return part[: tok.idx] + text + part[tok.idx + len(tok.text) :]


def _wh_phrase_len(span: Any) -> int:
    """How many non-wh words of the first part belong to its wh-phrase ("which city" -> 1)."""
    toks = list(span)
    for i, tok in enumerate(toks):
        if tok.tag_ in WH_TAGS:
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            return 1 if nxt is not None and nxt.tag_ not in WH_TAGS and nxt.pos_ in ("NOUN", "ADJ") else 0
    return 0


@dataclass(frozen=True)
class Bridge:
    """A question that names its subject by a relative clause ("Who runs [the bakery that supplied
    the school]?"): ``inner`` asks for that subject ("Which bakery supplied the school?"), and
    ``outer(name)`` is the question with the found name in the clause's place ("Who runs <name>?").
    The facts are often in two passages, so one retrieval for the whole finds neither well."""

    inner: str
    before: str
    after: str

    def outer(self, name: str) -> str:
        return f"{self.before}{name}{self.after}"


def bridge(question: str) -> Bridge | None:
    """The bridge in ``question``, read from the parse: a restrictive relative clause whose
    relative pronoun is its subject ("that/who/which supplied …", "whose report …") on a common
    noun that the wh-word does not belong to. None for a question that asks what the noun phrase
    is ("Who is the man who founded it?": the inner question is the whole question) and where
    the clause is too short to look anything up by."""
    doc = nlp()(question)
    wh = next((t for t in doc[:3] if t.tag_ in WH_TAGS), None)
    if wh is None:
        return None
    for rel in doc:
        if rel.dep_ != "relcl" or rel.head.pos_ != "NOUN":
            continue
        noun = rel.head
        first, last = noun.left_edge.i, noun.right_edge.i
        pron = next((t for t in rel.subtree if t.tag_ in WH_TAGS), None)
        if pron is None or first <= wh.i or pron.dep_ not in ("nsubj", "nsubjpass", "poss"):
            continue
        root = next(t for t in doc if t.dep_ == "ROOT")
        if first <= root.i <= last:
            continue
        if root.lemma_ == "be" and wh.dep_ in ("attr", "nsubj", "nsubjpass"):
            return None  # "Who/What is (the name of) the X that …?": the inner question is the question
        outside = [t for t in doc if not first <= t.i <= last]
        predicate = any(t.pos_ == "VERB" and t.lemma_ not in ("do", "be", "have") for t in outside) or (
            root.lemma_ == "be" and any(c.dep_ in ("acomp", "attr") and c in outside for c in root.children)
        )
        if not predicate:
            continue  # "… does the charity that runs it employ?": the parse put the verb in the clause
        clause = [t for t in doc[rel.left_edge.i : rel.right_edge.i + 1] if t.i != pron.i]
        if len([t for t in clause if not t.is_punct]) < MIN_PART_WORDS:
            continue
        lead = [t for t in doc[first : rel.left_edge.i] if not (t.i == first and t.dep_ == "det")]
        head = "".join(t.text_with_ws for t in lead).strip()
        if pron.tag_ == "WP$":
            head += "'s"
        body = "".join(t.text_with_ws for t in clause).strip()
        end = doc[last].idx + len(doc[last].text)
        return Bridge(f"Which {head} {body}?", question[: doc[first].idx], question[end:])
    return None


def is_name(text: str) -> bool:
    """Does ``text`` name someone or something (a proper noun or a named entity)? A bridge's first
    step must: "the passengers who were on board" found as "218 passengers" is a count, and a
    second question about "218 passengers" would lose what the first clause said."""
    doc = nlp()(text)
    return any(t.pos_ == "PROPN" for t in doc) or any(e.label_ in _NAMED for e in doc.ents)
