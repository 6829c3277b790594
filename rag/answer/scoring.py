"""One calibrated answer score per candidate sentence: "this sentence answers the question".

The signals are complementary (measured on SQuAD): the reader's span and no-answer logits know
*what kind* of thing is asked and whether the passage has it; MiniLM cosine and IDF-weighted
term coverage know whether the sentence is about the question; the passage's retrieval scores
know whether the collection is about it at all. A logistic regression over them gives a
probability; the answer is the most probable sentence, and the system declines when even that
is below a threshold.

Where each number comes from (``python -m rag.training.scorer``): the weights are fitted on the SQuAD
``fusion`` titles, the refusal and short-answer thresholds are chosen on the ``calibration``
titles, and the ``test`` titles are only reported on. The fitted file is
``rag/data/answer_scorer.json``; nothing in it is chosen on ``dev.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.settings import PACKAGE_DIR

if TYPE_CHECKING:
    from rag.models.reader import Reader

SCORER_FILE = PACKAGE_DIR / "data" / "answer_scorer.json"

FEATURES = (
    "reader_span",  # start+end logit of the best span inside the sentence
    "reader_null",  # start+end logit of "no answer in this passage"
    "reader_margin",  # span - null
    "reader_rank",  # 0 for the sentence holding the question's best span, 1 otherwise
    "similarity",  # MiniLM cosine, sentence vs question
    "coverage",  # IDF-weighted share of the question's terms in the sentence
    "passage_dense",  # cosine of the passage to the question
    "passage_rank",  # 0..k-1
    "heading",  # no closing punctuation, mostly Title Case
    "span_words",  # length of the span, words
    "type_match",  # spaCy: the span holds an entity of the kind the question asks for (0.5: kind unknown)
    "count_match",  # spaCy: for "how many X", the span's number counts X (0.5: not such a question)
)
TYPE_FEATURES = ("type_match", "count_match")


@dataclass
class Decision:
    """Answer or decline, from the best sentence's first-stage probability, whether it names
    another entity where the question names one the passage lacks (``rag.answer.entity_conflict``), and
    a few more of that sentence's FEATURES (``extras``): a logistic regression over (log-odds,
    conflict, log-odds x conflict, extras...), fitted on the fusion titles with entity-swapped
    questions among the negatives; its threshold chosen on the calibration titles at the same
    false-refusal rate as the scorer's own. The extras are there because the sentence score is
    linear: a sentence in the question's words can outweigh the reader saying it holds no answer
    of the asked kind (docs/experiments.md)."""

    weights: list[float]
    bias: float
    refuse_below: float
    extras: list[str] = field(default_factory=list)  # FEATURES of the best sentence (none in older scorer files)

    def features(self, p: np.ndarray, conflict: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """``x``: the best sentences' rows of all FEATURES (needed when there are ``extras``)."""
        p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
        lo, c = np.log(p / (1 - p)), np.asarray(conflict, dtype=np.float64)
        cols = [lo, c, lo * c]
        if self.extras:
            if x is None:
                raise ValueError(f"this decision weighs {self.extras} of the best sentence: pass its features")
            x = np.asarray(x, dtype=np.float64).reshape(len(lo), len(FEATURES))
            cols += [x[:, FEATURES.index(f)] for f in self.extras]
        return np.column_stack(cols)

    def probability(self, p: np.ndarray, conflict: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        z = self.features(p, conflict, x) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def declines(self, p: float, conflict: bool, x: np.ndarray | None = None) -> bool:
        return bool(self.probability(np.array([p]), np.array([conflict]), x)[0] < self.refuse_below)


@dataclass
class Scorer:
    """Standardize, then a logistic regression; thresholds live beside the weights."""

    features: list[str]  # the subset of FEATURES it uses, in order
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    refuse_below: float = 0.5  # decline when the best sentence's probability is lower
    short_above: float = 0.5  # show the reader's span as the short answer at this span score or above
    info: dict = field(default_factory=dict)
    decision: Decision | None = None  # answer or decline, with entity conflicts; when fitted

    @property
    def uses_types(self) -> bool:
        return any(f in TYPE_FEATURES for f in self.features)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """``x``: rows of all FEATURES; the scorer takes its own columns."""
        cols = [FEATURES.index(f) for f in self.features]
        z = (np.asarray(x, dtype=np.float64)[:, cols] - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))

    def to_json(self) -> dict:
        return {
            "features": self.features,
            "mean": self.mean,
            "scale": self.scale,
            "weights": self.weights,
            "bias": self.bias,
            "refuse_below": self.refuse_below,
            "short_above": self.short_above,
            "info": self.info,
            **({"decision": self.decision.__dict__} if self.decision is not None else {}),
        }

    def save(self, path: Path = SCORER_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = SCORER_FILE) -> Scorer:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = [f for f in d["features"] if f not in FEATURES]
        if unknown:
            raise ValueError(
                f"{path} uses features this version does not compute ({unknown}); refit: python -m rag.training.scorer"
            )
        return cls(
            d["features"],
            d["mean"],
            d["scale"],
            d["weights"],
            d["bias"],
            d["refuse_below"],
            d["short_above"],
            d.get("info", {}),
            Decision(**d["decision"]) if d.get("decision") else None,
        )


def fit(x: np.ndarray, y: np.ndarray, c: float = 1.0, features: list[str] | None = None) -> Scorer:
    """Logistic regression on the ``features`` columns of ``x`` (rows of all FEATURES)."""
    from sklearn.linear_model import LogisticRegression

    features = list(features or FEATURES)
    x = x[:, [FEATURES.index(f) for f in features]]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit((x - mean) / scale, y)
    return Scorer(features, mean.tolist(), scale.tolist(), lr.coef_[0].tolist(), float(lr.intercept_[0]))


def never_answers(row: np.ndarray) -> bool:
    """Headlines (an article's own among them), menu items and related-article links name a topic
    in the question's words but state nothing, so they are never the answer (a question only they
    match is declined). SQuAD has none, so weights fitted on it cannot learn this; how often the
    rule fires on news, and what switching it off does, is measured by ``benchmarks.decision_ablation``."""
    return bool(row[FEATURES.index("heading")])


def span_words(text: str) -> int:
    return len(text.split())


def candidate_features(cands: list, passages: list, question: str | None = None) -> np.ndarray:
    """The FEATURES of each candidate (``rag.answer.evidence.Candidate``, already read by the reader).
    The spaCy answer-type columns are computed only when ``question`` is given (else "unknown")."""
    from rag.answer.answer_types import UNKNOWN, question_type, type_features
    from rag.answer.evidence import is_heading

    best = max(range(len(cands)), key=lambda i: cands[i].reader_span) if cands else -1
    if question is not None and cands:
        spans = [(c.span[0] - c.start, c.span[1] - c.start) if c.span else None for c in cands]
        types = type_features(question_type(question), [c.text for c in cands], spans)
    else:
        types = [(UNKNOWN, UNKNOWN)] * len(cands)
    rows = []
    for i, c in enumerate(cands):
        p = passages[c.passage_index]
        rows.append(
            [
                c.reader_span,
                c.reader_null,
                c.reader_span - c.reader_null,
                0.0 if i == best else 1.0,
                c.similarity,
                c.coverage,
                p.dense,
                float(c.passage_index),
                float(c.title or is_heading(c.text)),
                float(span_words(c.span_text)),
                *types[i],
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


def read_candidates(reader: Reader, question: str, cands: list, passages: list) -> None:
    """Fill each candidate's reader fields: the best span inside it and its passage's no-answer score."""
    by_passage: dict[int, list] = {}
    for c in cands:
        by_passage.setdefault(c.passage_index, []).append(c)
    order = sorted(by_passage)
    texts = [passages[pi].chunk.text for pi in order]
    sents = [[(c.start, c.end) for c in by_passage[pi]] for pi in order]
    for pi, spans in zip(order, reader.read(question, texts, sents), strict=True):
        for c, sp in zip(by_passage[pi], spans, strict=True):
            c.span = (sp.start, sp.end) if sp.text else None
            c.span_text = sp.text
            c.reader_span, c.reader_null = sp.score, sp.null


def score_candidates(
    reader: Reader,
    scorer: Scorer,
    question: str,
    cands: list,
    passages: list,
) -> list:
    """The candidates with ``p`` set, most probable first."""
    if not cands:
        return cands
    read_candidates(reader, question, cands, passages)
    x = candidate_features(cands, passages, question if scorer.uses_types else None)
    probs = scorer.probability(x)
    for c, p, row in zip(cands, probs, x, strict=True):
        c.features = row
        c.p = 0.0 if never_answers(row) else float(p)
    return sorted(cands, key=lambda c: -(c.p or 0.0))
