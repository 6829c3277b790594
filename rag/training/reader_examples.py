"""The reader's training examples: per SQuAD question, its answer in a passage of the gold
paragraph (chunked exactly as the index chunks articles) and passages without it — the same
paragraph's other passage or the BM25-closest passage of another paragraph of the title (a near
miss), now and then a passage of another title — then as token start/end targets."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from rag.answer.retrieval import BM25Index
from rag.evaluation.squad import SquadQuestion, load_split, load_squad, part_titles
from rag.ingest.chunking import chunk_document
from rag.models.reader import MAX_LENGTH
from rag.types import Document


def _chunks(text: str, source: str) -> list[tuple[int, int, str]]:
    doc = Document(source, "", text, "")
    return [(c.start, c.end, c.text) for c in chunk_document(doc, 600, 1)]


def titles_of(parts: tuple[str, ...]) -> list[str]:
    split = load_split()
    return [name for part in parts for name in part_titles(split, part)]


def build_examples(
    squad: Path,
    seed: int = 0,
    random_neg: float = 0.25,
    parts: tuple[str, ...] = ("reader",),
) -> list[dict]:
    """(question, passage, answer span in the passage or None) for the titles of ``parts``."""
    titles = load_squad(squad)
    names = titles_of(parts)
    rng = random.Random(seed)
    all_chunks: list[tuple[str, int, str]] = []  # (title, paragraph, text)
    per_title: dict[str, list[int]] = {}
    for name in names:
        for pi, text in enumerate(titles[name].paragraphs):
            for _a, _b, t in _chunks(text, f"{name}/{pi}"):
                per_title.setdefault(name, []).append(len(all_chunks))
                all_chunks.append((name, pi, t))
    bm25 = {name: BM25Index([all_chunks[i][2] for i in rows]) for name, rows in per_title.items()}
    examples: list[dict] = []
    questions = [q for name in names for q in titles[name].questions]
    for q in questions:
        examples.extend(_question_examples(q, all_chunks, per_title, bm25, names, rng, random_neg))
    rng.shuffle(examples)
    return examples


def _question_examples(
    q: SquadQuestion,
    all_chunks: list[tuple[str, int, str]],
    per_title: dict[str, list[int]],
    bm25: dict[str, BM25Index],
    names: list[str],
    rng: random.Random,
    random_neg: float,
) -> list[dict]:
    out: list[dict[str, Any]] = []
    answers_low = [a.lower() for a in q.answers if a.strip()]

    def has_answer(t: str) -> bool:
        return any(a in t.lower() for a in answers_low)

    pos: dict[str, Any] | None = None
    neg_same: str | None = None
    for a, b, text in _chunks(q.context, q.source):
        for ans, st in zip(q.answers, q.answer_starts, strict=True):
            if a <= st and st + len(ans) <= b and pos is None:
                pos = {"question": q.question, "context": text, "start": st - a, "end": st - a + len(ans)}
        if not has_answer(text) and neg_same is None:
            neg_same = text
    if pos is None:
        return out
    out.append(pos)
    near = [neg_same] if neg_same is not None else []
    rows = per_title[q.title]
    for r, _ in bm25[q.title].search(q.question, 8):
        title, pi, text = all_chunks[rows[r]]
        if pi != q.paragraph and not has_answer(text):
            near.append(text)
            break
    # One near miss per question: the same paragraph's other passage or BM25's best wrong one.
    if near:
        out.append({"question": q.question, "context": rng.choice(near), "start": None, "end": None})
    if rng.random() < random_neg:
        other = rng.choice([n for n in names if n != q.title])
        out.append(
            {"question": q.question, "context": all_chunks[rng.choice(per_title[other])][2], "start": None, "end": None}
        )
    return out


def featurize(tokenizer: Any, examples: list[dict], max_length: int = MAX_LENGTH) -> list[dict]:
    feats = []
    for ex in examples:
        enc = tokenizer(
            ex["question"], ex["context"], truncation="only_second", max_length=max_length, return_offsets_mapping=True
        )
        seq = enc.sequence_ids()
        s_tok: int | None = 0
        e_tok: int | None = 0
        if ex["start"] is not None:
            s_tok = e_tok = None
            for i, ((a, b), sid) in enumerate(zip(enc["offset_mapping"], seq, strict=True)):
                if sid != 1:
                    continue
                if s_tok is None and a <= ex["start"] < b or (s_tok is None and a >= ex["start"]):
                    s_tok = i
                if a < ex["end"]:
                    e_tok = i
            if s_tok is None or e_tok is None or e_tok < s_tok:
                continue  # answer cut off by truncation
        feats.append(
            {
                "input_ids": enc["input_ids"],
                "token_type_ids": enc["token_type_ids"],
                "start": s_tok,
                "end": e_tok,
            }
        )
    return feats
