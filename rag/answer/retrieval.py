"""Finding the passages that answer a question: dense (FAISS) and lexical (BM25), fused.

Dense similarity finds paraphrases; BM25 finds rare exact words (names, acronyms, numbers) that a
small embedding model blurs. Reciprocal rank fusion combines the two rankings without having to
calibrate their scores against each other. The choice is a setting (``hybrid | dense | bm25``);
docs/experiments.md reports what each gives on the dev set.
"""

from __future__ import annotations

import logging
import math
import re
from functools import cached_property

import bm25s
import numpy as np

from rag.index.store import Index
from rag.models.embedding import Embedder
from rag.settings import default
from rag.types import Passage

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

_TOKEN = re.compile(r"(?u)\b\w+\b")
_POSSESSIVE = re.compile(r"'s\b")
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN) | {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "does",
    "did",
    "do",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "about",
    "according",
    "article",
    "articles",
}


def _stem(word: str) -> str:
    """A deliberately light suffix stripper (plural/verb endings): enough to match 'tariffs' with
    'tariff' and 'signed' with 'sign', without a stemming dependency that over-conflates names."""
    if len(word) > 4 and not word[0].isdigit():
        for suffix in ("ies", "es", "s", "ed", "ing"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                if suffix == "ies":
                    return word[:-3] + "y"
                if suffix == "s" and word.endswith("ss"):
                    return word
                return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords, lightly stemmed; shared by BM25 and grounding."""
    text = _POSSESSIVE.sub("", text.lower().replace("’", "'"))
    return [_stem(t) for t in _TOKEN.findall(text) if t not in STOPWORDS]


class BM25Index:
    def __init__(self, texts: list[str]) -> None:
        self.n = len(texts)
        self.model = bm25s.BM25()
        corpus_tokens = [tokenize(t) or ["\x00empty"] for t in texts]
        self.model.index(corpus_tokens, show_progress=False)
        df: dict[str, int] = {}
        for toks in corpus_tokens:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        # BM25's idf: rare words (names, figures) weigh more when grounding answers.
        self.idf = {t: math.log(1 + (self.n - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self.vocab = set(self.model.vocab_dict) if hasattr(self.model, "vocab_dict") else None

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = tokenize(query)
        if self.vocab is not None:
            tokens = [t for t in tokens if t in self.vocab]
        if not tokens or self.n == 0:
            return []
        k = min(k, self.n)
        docs, scores = self.model.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


def rrf(rankings: list[list[int]], k: int = 60, weights: list[float] | None = None) -> dict[int, float]:
    """Weighted reciprocal rank fusion (Cormack et al., 2009): sum of w/(k + rank) over the rankings."""
    fused: dict[int, float] = {}
    for ranking, w in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + w / (k + rank + 1)
    return fused


def relative_score_fusion(lists: list[list[tuple[int, float]]], weights: list[float]) -> dict[int, float]:
    """Min-max normalize each ranking's scores over its candidates, then add them with weights.
    Unlike RRF it keeps margins: a passage BM25 scores far above the rest stays on top."""
    fused: dict[int, float] = {}
    for ranked, w in zip(lists, weights, strict=True):
        if not ranked:
            continue
        scores = [s for _, s in ranked]
        lo, hi = min(scores), max(scores)
        span = (hi - lo) or 1.0
        for row, s in ranked:
            fused[row] = fused.get(row, 0.0) + w * (s - lo) / span
    return fused


class Retriever:
    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        mode: str = default("retrieval"),
        candidates: int = default("candidates"),
        rrf_k: int = default("rrf_k"),
        bm25_weight: float = default("bm25_weight"),
    ) -> None:
        if mode not in ("hybrid", "rrf", "dense", "bm25"):
            raise ValueError(f"retrieval mode must be hybrid, rrf, dense or bm25, not {mode!r}")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight

    @cached_property
    def bm25(self) -> BM25Index:
        return BM25Index([c.text for c in self.index.chunks])

    def dense_scores(self, query_vec: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores, rows = self.index.search(query_vec[None, :], k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def retrieve(self, query: str, top_k: int = 5, exclude: set[str] | None = None) -> list[Passage]:
        """The ``top_k`` best passages; none from the articles (file names) in ``exclude``."""
        if len(self.index) == 0 or not query.strip():
            return []
        n = max(self.candidates, top_k)
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        qvec = self.embedder.encode_query(query)
        if self.mode != "bm25":
            dense = self.dense_scores(qvec, n)
        if self.mode != "dense":
            lexical = self.bm25.search(query, n)
        if exclude:
            chunks = self.index.chunks
            dense = [(r, s) for r, s in dense if chunks[r].source not in exclude]
            lexical = [(r, s) for r, s in lexical if chunks[r].source not in exclude]
        if self.mode == "dense":
            ranked = dense
        elif self.mode == "bm25":
            ranked = lexical
        elif self.mode == "rrf":
            fused = rrf([[r for r, _ in dense], [r for r, _ in lexical]], self.rrf_k, [1.0, self.bm25_weight])
            ranked = sorted(fused.items(), key=lambda x: -x[1])
        else:
            fused = relative_score_fusion([dense, lexical], [1.0, self.bm25_weight])
            ranked = sorted(fused.items(), key=lambda x: -x[1])
        ranked = ranked[:top_k]
        dense_of = dict(dense)
        lex_of = dict(lexical)
        missing = [r for r, _ in ranked if r not in dense_of]
        if missing:  # cosine for every returned passage, so thresholds downstream can use it
            vecs = np.asarray(self.index.vectors[missing], dtype=np.float32)
            dense_of.update(zip(missing, (vecs @ qvec).tolist(), strict=True))
        return [
            Passage(self.index.chunks[r], float(s), float(dense_of.get(r, 0.0)), float(lex_of.get(r, 0.0)))
            for r, s in ranked
        ]
