"""Retrieval finds the right article for questions written for these tests (not from dev.jsonl)."""

from __future__ import annotations

import pytest

from rag.answer.retrieval import Retriever, relative_score_fusion, rrf
from rag.pipeline import Pipeline

QUESTIONS = [
    ("Who is the professor at Wased University quoted on Japan's domestic constraints?", "001_0dc30543c454f561.txt"),
    ("Which missiles will Japan be allowed to export more easily?", "004_9ccf596f5a5ca5a0.txt"),
    ("What does Takaichi think about revising Article 9 of the constitution?", "002_ef4fb084e8f28a11.txt"),
    ("What did the CHIPS and Science Act aim to reduce reliance on?", "000_61f95b61063c0a65.txt"),
    ("What should businesses in the Indo-Pacific do about geopolitical risk?", "003_7f0ce9717cede5be.txt"),
    ("Where did the leaders of Japan, the Philippines and the U.S. meet in April 2024?", "004_9ccf596f5a5ca5a0.txt"),
]


@pytest.mark.parametrize("mode", ["hybrid", "rrf", "dense", "bm25"])
def test_right_article_in_top_3(pipeline: Pipeline, mode: str) -> None:
    r = Retriever(pipeline.index, pipeline.embedder, mode=mode)
    hits = sum(any(p.chunk.source == src for p in r.retrieve(q, 3)) for q, src in QUESTIONS)
    assert hits >= len(QUESTIONS) - (0 if mode == "hybrid" else 1)


def test_passages_carry_dense_and_lexical_evidence(pipeline: Pipeline) -> None:
    passages = pipeline.retriever.retrieve("Patriot missiles export restrictions", 5)
    assert passages[0].chunk.source == "004_9ccf596f5a5ca5a0.txt"
    assert passages[0].lexical > 0 and 0 < passages[0].dense <= 1
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_fusion_functions() -> None:
    assert rrf([[1, 2, 3], [3, 2, 1]])[2] == pytest.approx(2 / 62)
    fused = relative_score_fusion([[(1, 0.9), (2, 0.5)], [(2, 10.0), (3, 1.0)]], [1.0, 2.0])
    assert fused[2] == pytest.approx(2.0) and fused[1] == pytest.approx(1.0) and fused[3] == 0.0
