"""Training the reader: examples become token targets, batches cover every example once with
little padding (the training loop itself runs in ``python -m rag.training.reader``)."""

from __future__ import annotations

import random

import pytest

from rag.models.sources import resolve_embedder
from rag.training.reader import batches, collate
from rag.training.reader_examples import featurize

QUESTION = "How much did the new terminal cost?"
EXAMPLES = [
    {
        "question": QUESTION,
        "context": "Officials in Osaka said the new terminal cost 56 billion yen and opens in April.",
        "start": 46,
        "end": 59,
    },
    {
        "question": QUESTION,
        "context": "The port strike ended after five days. Dockworkers won a 4 percent raise.",
        "start": None,
        "end": None,
    },
    {
        "question": "Who won a raise?",
        "context": "The port strike ended after five days. Dockworkers won a 4 percent raise.",
        "start": 39,
        "end": 50,
    },
]


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_embedder("packaged")[0])


def test_featurize_points_at_the_answer_tokens_or_at_cls(tokenizer) -> None:  # type: ignore[no-untyped-def]
    feats = featurize(tokenizer, EXAMPLES)
    pos = feats[0]
    answer = tokenizer.decode(pos["input_ids"][pos["start"] : pos["end"] + 1])
    assert answer == "56 billion yen"
    assert feats[1]["start"] == feats[1]["end"] == 0  # no answer: [CLS]
    assert tokenizer.decode(feats[2]["input_ids"][feats[2]["start"] : feats[2]["end"] + 1]) == "dockworkers"


def test_an_answer_cut_off_by_truncation_is_dropped(tokenizer) -> None:  # type: ignore[no-untyped-def]
    late = {**EXAMPLES[0], "context": "Filler words here. " * 60 + EXAMPLES[0]["context"]}
    late["start"] += 19 * 60
    late["end"] += 19 * 60
    assert featurize(tokenizer, [late], max_length=64) == []


def test_batches_cover_every_example_once_sorted_by_length_within_a_pool(tokenizer) -> None:  # type: ignore[no-untyped-def]
    feats = featurize(tokenizer, EXAMPLES) * 30
    out = batches(feats, 8, random.Random(0))
    assert sorted(id(f) for b in out for f in b) == sorted(id(f) for f in feats)
    inputs, starts, ends = collate(out[0], 0)
    lengths = [len(f["input_ids"]) for f in out[0]]
    assert inputs["input_ids"].shape == (len(out[0]), max(lengths))
    assert int(inputs["attention_mask"].sum()) == sum(lengths)
    assert starts.tolist() == [f["start"] for f in out[0]]
