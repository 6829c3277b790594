"""Reader training examples from a news collection: ``python -m rag.training.reader --news DIR``.

Only the ``fit`` clusters of ``rag/data/news_split.json`` are read. Each cluster's articles are
cleaned and chunked exactly as the index chunks them, so the reader learns on the passages it
will be shown:

- answerable questions: the passage holding one of the question's evidence strings, with the
  answer span (the gold answer or an alias) found inside that evidence; plus the passage of the
  cluster BM25 ranks highest for the question that lacks the answer (a near miss of news: the
  same story, another fact);
- unanswerable questions (the attribute given for someone else, another time, the reverse role
  ...): the two passages BM25 ranks highest, as no-answer examples.

Follow-ups are read with the words of the previous turn, as retrieval reads them. Multi-part
questions are answered part by part by the product, so only those with one answer are used.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from rag.answer.retrieval import BM25Index
from rag.answer.rewriting import standalone
from rag.evaluation.metrics import load_jsonl
from rag.evaluation.news import part_clusters
from rag.ingest.chunking import chunk_document
from rag.ingest.loading import load_documents


def _find(text: str, needle: str) -> int:
    """Where ``needle`` starts in ``text``, whitespace and case aside; -1 when it is not there."""
    words = needle.split()
    if not words:
        return -1
    m = re.search(r"\s+".join(re.escape(w) for w in words), text, re.IGNORECASE)
    return m.start() if m else -1


def _span(chunk: str, evidence: list[str], golds: list[str]) -> tuple[int, int] | None:
    """The gold answer's span inside one of the evidence strings, in ``chunk`` (else None)."""
    for ev in evidence:
        at = _find(chunk, ev)
        if at < 0:
            continue
        window = chunk[at : at + len(ev) + 20]
        for g in sorted(golds, key=len, reverse=True):
            k = _find(window, g)
            if k >= 0:
                m = re.match(r"\s*" + r"\s+".join(re.escape(w) for w in g.split()), window[k:], re.IGNORECASE)
                return at + k, at + k + (m.end() if m else len(g))
    return None


def cluster_examples(cluster: Path, rng: random.Random, group0: int = 0) -> list[dict[str, Any]]:
    """The reader examples of one cluster (fields of ``rag.training.reader.build_examples``)."""
    chunks = [c.text for doc in load_documents(cluster) for c in chunk_document(doc, 600, 1)]
    bm25 = BM25Index(chunks)
    out: list[dict[str, Any]] = []
    for g, it in enumerate(load_jsonl(cluster / "questions.jsonl"), start=group0):
        if it.get("all_of"):
            continue
        _, question = standalone(it["question"], it.get("history"))
        ranked = [chunks[r] for r, _ in bm25.search(question, 8)]
        if it["type"] == "unanswerable":
            out += [{"question": question, "context": t, "start": None, "end": None, "group": g} for t in ranked[:2]]
            continue
        golds = [it["answer"], *it.get("aliases", [])]
        pos = None
        for t in chunks:
            span = _span(t, it.get("evidence", []), golds)
            if span is not None:
                pos = {"question": question, "context": t, "start": span[0], "end": span[1], "group": g}
                break
        if pos is None:
            continue
        out.append(pos)
        lows = [x.lower() for x in golds]
        near = [t for t in ranked if not any(x in t.lower() for x in lows)]
        if near:
            out.append({"question": question, "context": near[0], "start": None, "end": None, "group": g})
    rng.shuffle(out)
    return out


def news_examples(root: Path, seed: int = 0, group0: int = 1_000_000) -> list[dict[str, Any]]:
    """The examples of every ``fit`` cluster of the collection at ``root``."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for cluster in part_clusters(root, "fit"):
        out += cluster_examples(cluster, rng, group0 + len(out))
    return out
