"""Training the reader (rag/train_reader.py): shared normalization across a question's passages."""

from __future__ import annotations

import random

import pytest
import torch

from rag.embedding import resolve_embedder
from rag.train_reader import batches, collate, featurize, shared_norm_loss

QUESTION = "How much did the new terminal cost?"
EXAMPLES = [
    {
        "question": QUESTION,
        "context": "Officials in Osaka said the new terminal cost 56 billion yen and opens in April.",
        "start": 46,
        "end": 59,
        "group": 0,
    },
    {
        "question": QUESTION,
        "context": "The port strike ended after five days. Dockworkers won a 4 percent raise.",
        "start": None,
        "end": None,
        "group": 0,
    },
    {
        "question": "Who won a raise?",
        "context": "The port strike ended after five days. Dockworkers won a 4 percent raise.",
        "start": 39,
        "end": 50,
        "group": 1,
    },
]


@pytest.fixture(scope="module")
def feats() -> list[dict]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_embedder("packaged")[0])
    return featurize(tokenizer, EXAMPLES)


def _logits(batch: list[dict], hot: dict[int, int]) -> torch.Tensor:
    """Flat logits with one high token per row (row -> token index)."""
    n = max(len(f["input_ids"]) for f in batch)
    logits = torch.zeros((len(batch), n))
    for row, tok in hot.items():
        logits[row, tok] = 8.0
    return logits


def test_featurize_marks_the_answer_tokens_and_the_passage_tokens(feats: list[dict]) -> None:
    assert [f["group"] for f in feats] == [0, 0, 1]
    pos = feats[0]
    assert pos["start"] > 0 and pos["end"] >= pos["start"]
    assert pos["context"][pos["start"]] == 1 and pos["context"][0] == 0  # [CLS] is not passage text
    assert feats[1]["start"] == 0  # no answer: points at [CLS]


def test_shared_normalization_prefers_the_answer_over_other_passages_spans(feats: list[dict]) -> None:
    batch = feats[:2]
    _, starts, ends = collate(batch, 0)
    gold_s, gold_e = int(starts[0]), int(ends[0])
    right = shared_norm_loss(_logits(batch, {0: gold_s}), _logits(batch, {0: gold_e}), batch, starts, ends)
    other = [i for i, c in enumerate(batch[1]["context"]) if c][3]
    wrong = shared_norm_loss(_logits(batch, {1: other}), _logits(batch, {1: other}), batch, starts, ends)
    assert float(right) < 0.1 < float(wrong)
    alone = shared_norm_loss(_logits(batch[:1], {}), _logits(batch[:1], {}), batch[:1], starts[:1], ends[:1])
    assert float(alone) == 0.0  # a question with one passage adds nothing


def test_grouped_batches_keep_a_questions_passages_together(feats: list[dict]) -> None:
    many = [{**f, "group": f["group"] + 10 * k} for k in range(20) for f in feats]
    out = batches(many, 8, random.Random(0), grouped=True)
    assert sorted(id(f) for b in out for f in b) == sorted(id(f) for f in many)
    for b in out:
        groups = {f["group"] for f in b}
        for g in groups:
            assert sum(f["group"] == g for f in many) == sum(f["group"] == g for f in b)
