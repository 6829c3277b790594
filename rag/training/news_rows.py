"""The answer scorer's rows from a news collection: ``python -m rag.training.scorer --news DIR``.

Each question of a cluster is asked the way ``Pipeline.gather`` asks it (its cluster indexed
alone, follow-ups with their history), and every candidate sentence becomes a row of
``rag.answer.scoring.FEATURES``, labelled 1 when the question is answerable and the sentence contains its
gold answer or an alias. Unanswerable questions are the near misses of news (the attribute given
for someone else, another time, the reverse role ...): only 0s. Multi-part questions whose answer
needs every one of several groups (``all_of``) are answered part by part, not by one sentence, so
they give no rows. The rows have the fields of ``rag.training.scorer.gather_rows``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.entity_conflict import conflict_flags
from rag.answer.scoring import FEATURES
from rag.evaluation.metrics import load_jsonl
from rag.evaluation.news import cluster_pipeline
from rag.evaluation.squad_open import contains_gold, has_short_gold

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

log = logging.getLogger("rag.training.news_rows")


def news_rows(base: Pipeline, cluster_dirs: list[Path], work: Path, other: int = 0) -> list[dict]:
    """Per question of the clusters: its candidates' features and labels. ``other``: that many
    standalone questions of the next cluster are asked of each cluster too, as questions about
    another story (kind "other_title", only 0s), so the scorer learns what off-topic looks like."""
    out = []
    t0 = time.time()
    for k, cluster in enumerate(cluster_dirs):
        pipe = cluster_pipeline(base, cluster, work)
        items = [dict(it, asked_here=True) for it in load_jsonl(cluster / "questions.jsonl")]
        if other:
            nxt = load_jsonl(cluster_dirs[(k + 1) % len(cluster_dirs)] / "questions.jsonl")
            items += [dict(it, asked_here=False) for it in nxt if not it.get("history")][:other]
        for it in items:
            if it.get("all_of"):
                continue
            answerable = it["type"] != "unanswerable" and it["asked_here"]
            golds = [it["answer"], *it.get("aliases", [])] if answerable else []
            ev = pipe.gather(it["question"], it.get("history"))
            cands, passages = ev.candidates, ev.passages
            x = np.asarray([c.features for c in cands], dtype=np.float64).reshape(len(cands), len(FEATURES))
            texts = [c.text for c in cands]
            conflict = conflict_flags(ev.question, texts, [passages[c.passage_index].chunk.text for c in cands])
            out.append(
                {
                    "kind": "answerable" if answerable else "near_miss" if it["asked_here"] else "other_title",
                    "type": it["type"],
                    "near_miss_kind": it.get("kind", ""),
                    "cluster": cluster.name,
                    "short_gold": answerable and has_short_gold(golds),
                    "x": x,
                    "y": np.array([answerable and contains_gold(t, golds) for t in texts], dtype=bool),
                    "span_hit": np.array([answerable and contains_gold(c.span_text, golds) for c in cands], dtype=bool),
                    "words": np.array([len(c.span_text.split()) for c in cands]),
                    "margin": np.array([c.reader_span - c.reader_null for c in cands]),
                    "conflict": np.array(conflict, dtype=bool),
                    "question": ev.query,
                    "sents": texts,
                    "spans": [c.span_text for c in cands],
                }
            )
        log.warning("%s: %d questions so far (%.0f s)", cluster.name, len(out), time.time() - t0)
    return out
