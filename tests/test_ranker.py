"""The optional sentence ranker: training data, a trained model that loads on both backends, the
answer scorer fusing it, and clear errors. The ranker is trained here for a few steps (the
measured one takes 70 minutes and is not shipped: docs/experiments.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, SQUAD, needs_squad
from safetensors import safe_open

from rag.embedding import ModelLoadError
from rag.pipeline import Components, Pipeline
from rag.ranker import Ranker
from rag.reader import WORD_EMBEDDINGS
from rag.scoring import Scorer
from rag.squad import load_split, part_titles
from rag.train_ranker import build_groups, save, train

pytestmark = [pytest.mark.slow, needs_squad]

PARAGRAPH = [
    "The agreement was signed in Tokyo after two days of talks.",
    "Officials said it covers joint production of interceptor missiles.",
    "Critics in parliament called the deal rushed.",
    "The first deliveries are planned for 2027.",
]


@pytest.fixture(scope="module")
def groups() -> list[dict]:
    return build_groups(SQUAD)


@pytest.fixture(scope="module")
def ranker_dir(groups: list[dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, tokenizer, loss = train(groups[:16], epochs=0.5, lr=5e-5, groups_per_step=4, seed=0)
    out = tmp_path_factory.mktemp("ranker")
    info = {
        "base": "all-MiniLM-L6-v2",
        "squad_titles": part_titles(load_split(), "reader"),
        "groups": 16,
        "epochs": 0.5,
        "lr": 5e-5,
        "groups_per_step": 4,
        "seed": 0,
        "final_loss": loss,
        "minutes": 0.1,
    }
    save(model, tokenizer, out, info)
    return out


def test_training_groups_come_from_the_reader_titles_and_only_the_first_holds_the_answer(groups: list[dict]) -> None:
    from rag.squad import load_squad

    titles = load_squad(SQUAD)
    reader = set(part_titles(load_split(), "reader"))
    asked = {q.question: q for name in reader for q in titles[name].questions}
    assert len(groups) > 4000
    for g in groups[:300]:
        q = asked[g["question"]]  # a reader-title question, never a fusion/calibration/test one
        assert 2 <= len(g["sentences"]) <= 8 and g["positive"] == 0
        first, *rest = g["sentences"]
        assert any(a.lower() in first.lower() for a in q.answers)
        assert not any(a.lower() in s.lower() for s in rest[:-1] for a in q.answers)


def test_a_trained_ranker_is_saved_without_the_frozen_table_and_with_its_card(ranker_dir: Path) -> None:
    assert {"config.json", "model.safetensors", "tokenizer.json", "training.json", "README.md"} <= {
        p.name for p in ranker_dir.iterdir()
    }
    with safe_open(str(ranker_dir / "model.safetensors"), "np") as f:
        assert WORD_EMBEDDINGS not in f.keys() and "classifier.weight" in f.keys()
    card = (ranker_dir / "README.md").read_text()
    assert "reader" in card and "CC BY-SA 4.0" in card
    assert json.loads((ranker_dir / "config.json").read_text())["architectures"] == ["BertForSequenceClassification"]


def test_onnx_ranker_matches_torch_ranker(ranker_dir: Path, tmp_path: Path) -> None:
    question = "When are the first deliveries planned?"
    onnx = Ranker(str(ranker_dir), cache_dir=tmp_path).score(question, PARAGRAPH)
    torch_scores = Ranker(str(ranker_dir), backend="torch").score(question, PARAGRAPH)
    assert onnx.shape == (len(PARAGRAPH),)
    assert np.allclose(onnx, torch_scores, atol=1e-3)


def test_scores_do_not_depend_on_batching_or_order(ranker_dir: Path) -> None:
    ranker = Ranker(str(ranker_dir), backend="torch")
    question = "What does the agreement cover?"
    together = ranker.score(question, PARAGRAPH * 3, batch_size=3)
    one_by_one = np.concatenate([ranker.score(question, [s]) for s in PARAGRAPH])
    assert np.allclose(together[: len(PARAGRAPH)], one_by_one, atol=1e-4)
    assert np.allclose(together[len(PARAGRAPH) : 2 * len(PARAGRAPH)], one_by_one, atol=1e-4)
    assert ranker.score(question, []).shape == (0,)


def test_a_bad_ranker_setting_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not a folder"):
        Ranker(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        Ranker(str(tmp_path / "empty"))
    with pytest.raises(ModelLoadError, match="backend"):
        Ranker(str(tmp_path / "empty"), backend="gpu")


def _scorer_with_ranker(path: Path, weight: float) -> Path:
    """The packaged scorer with the ranker's logit added as one more feature of the given weight."""
    s = Scorer.load()
    s.features, s.mean, s.scale = [*s.features, "ranker"], [*s.mean, 0.0], [*s.scale, 1.0]
    s.weights = [*s.weights, weight]
    s.save(path)
    return path


def test_a_scorer_that_fuses_a_ranker_needs_one(tmp_path: Path) -> None:
    scorer = _scorer_with_ranker(tmp_path / "scorer.json", 0.5)
    pipe = Pipeline(docs_dir=SEEDS, index_dir=tmp_path / "index", generator="none", answer_scorer=str(scorer))
    with pytest.raises(ModelLoadError, match="RAG_RANKER is none"):
        _ = pipe.scorer


def test_the_pipeline_fuses_the_rankers_logit(ranker_dir: Path, pipeline: Pipeline, tmp_path: Path) -> None:
    """With weight 0 the ranker is read but changes nothing; with weight w it adds w x its logit."""
    question = "What has Japan supplied to the Philippines?"
    plain = pipeline.gather(question)
    common = {
        "settings": pipeline.settings,
        "components": Components(embedder=pipeline.embedder, reader=pipeline.reader),
        "ranker": str(ranker_dir),
    }
    neutral = Pipeline(**common, answer_scorer=str(_scorer_with_ranker(tmp_path / "zero.json", 0.0))).gather(question)
    assert any(c.ranker != 0.0 for c in neutral.candidates)
    assert [round(c.p or 0.0, 6) for c in neutral.candidates] == [round(c.p or 0.0, 6) for c in plain.candidates]
    loud = Pipeline(**common, answer_scorer=str(_scorer_with_ranker(tmp_path / "loud.json", 2.0))).gather(question)
    before = {(c.passage_index, c.start): c.p for c in neutral.candidates}
    for c in loud.candidates:  # the logit moves by exactly weight x ranker logit (headings stay at 0)
        p0 = before[(c.passage_index, c.start)]
        if p0:
            logit = np.log(c.p / (1 - c.p)) - np.log(p0 / (1 - p0))
            assert logit == pytest.approx(2.0 * c.ranker, abs=1e-4)
