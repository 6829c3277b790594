"""Entity conflicts (rag/answer/entity_conflict.py) on spaCy's real parse, and the fitted answer-or-decline
decision that uses them (rag.answer.scoring.Decision) in a real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.entity_conflict import conflict_flags, conflicts, same_name
from rag.answer.scoring import FEATURES, SCORER_FILE, Scorer
from rag.models.embedding import Embedder
from rag.pipeline import Components, Pipeline
from tests.conftest import synced_pipeline


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("U.S.", "the United States", True),  # initials
        ("the European Union", "EU", True),
        ("Trump", "Donald Trump", True),  # a shared word
        ("Japan's", "Japan", True),  # possessive
        ("Norway", "Iceland", False),
        ("Barack Obama", "Joe Biden", False),
        ("U.S.", "UK", False),
    ],
)
def test_names_are_compared_the_way_news_writes_them(a: str, b: str, same: bool) -> None:
    assert same_name(a, b) is same


SENTENCE = "Norway raised its cod quota by 12 percent this year, the fisheries ministry said."


def test_a_sentence_about_another_country_conflicts_with_the_one_asked_about() -> None:
    found = conflicts("By how much did Iceland raise its cod quota?", SENTENCE, SENTENCE)
    assert found and found[0][0] == "Iceland" and "Norway" in found[0][1]


def test_no_conflict_when_the_passage_names_what_is_asked_or_nothing_is_named() -> None:
    passage = SENTENCE + " Iceland kept its quota unchanged."
    assert conflicts("By how much did Iceland raise its cod quota?", SENTENCE, passage) == []
    assert conflicts("By how much did Norway raise its cod quota?", SENTENCE, SENTENCE) == []
    assert conflicts("By how much was the cod quota raised?", SENTENCE, SENTENCE) == []
    # Another kind of name in the sentence is no substitute (a person for a country).
    assert conflicts("What did Iceland decide?", "Jonas Berg said the quota rose.", "Jonas Berg said it.") == []


def test_flags_for_many_sentences_agree_with_one_at_a_time() -> None:
    q = "By how much did Iceland raise its cod quota?"
    sents = [SENTENCE, "The fisheries ministry spoke on Monday.", SENTENCE]
    passages = [SENTENCE, SENTENCE, SENTENCE + " Iceland did not."]
    assert conflict_flags(q, sents, passages) == [
        bool(conflicts(q, s, p)) for s, p in zip(sents, passages, strict=True)
    ]
    assert conflict_flags(q, sents, passages) == [True, False, False]


def test_the_packaged_decision_is_fitted_on_news_and_answers_more_when_more_probable() -> None:
    # a conflict is not one of its weights but a veto (Decider.conflict; tests/answer/test_decision.py)
    d = Scorer.load().decision
    assert d is not None and Scorer.load().info["decision"]["fitted_on"] == "news fit clusters"
    p = np.linspace(0.05, 0.95, 19)
    rng = np.random.default_rng(0)
    for _ in range(5):  # whatever else the best sentence's features say
        x = np.tile(rng.normal(size=len(FEATURES)), (len(p), 1))
        assert np.all(np.diff(d.probability(p, np.zeros_like(p), x)) > 0)


def test_a_scorer_file_without_decision_extras_still_decides(tmp_path: Path) -> None:
    """Scorer files written before the decision weighed more of the best sentence's features load
    and decide as they did."""
    d = json.loads(SCORER_FILE.read_text())
    assert d["decision"]["extras"] and len(d["decision"]["weights"]) == 3 + len(d["decision"]["extras"])
    d["decision"] = {"weights": [1.0, -3.0, -0.5], "bias": -0.5, "refuse_below": 0.05}
    (tmp_path / "old.json").write_text(json.dumps(d))
    old = Scorer.load(tmp_path / "old.json").decision
    assert old is not None and old.extras == []
    assert old.declines(0.01, False) and not old.declines(0.9, False)
    with pytest.raises(ValueError, match="features"):
        Scorer.load().decision.probability(np.array([0.5]), np.array([False]))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def fisheries(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Pipeline:
    docs = tmp_path_factory.mktemp("fish")
    (docs / "quota.txt").write_text(
        "Cod quota raised\n\n"
        + SENTENCE
        + " The increase follows a survey that found more young cod in the Barents Sea than in any year"
        " since 2010. Fishing crews in the north welcomed the decision, while processors warned that"
        " prices could fall.\n"
    )
    return synced_pipeline(docs, tmp_path_factory.mktemp("index"), embedder)


def test_a_question_about_someone_else_is_declined_with_the_reason(fisheries: Pipeline) -> None:
    right = fisheries.query("By how much did Norway raise its cod quota?")
    assert not right.abstained and "12 percent" in right.text
    other = fisheries.query("By how much did Sweden raise its cod quota?")
    assert other.abstained
    assert any("Sweden" in n and "Norway" in n for n in other.notes)


def test_a_refusal_threshold_set_by_hand_turns_the_decision_off(fisheries: Pipeline, embedder: Embedder) -> None:
    pipe = Pipeline(
        docs_dir=fisheries.settings.docs_dir, index_dir=fisheries.settings.index_dir, generator="none",
        refuse_below=0.0, components=Components(embedder=embedder),
    )  # fmt: skip
    assert pipe.decision is None and fisheries.decision is not None
    assert not pipe.query("By how much did Sweden raise its cod quota?").abstained
