"""The question-likelihood stage on the real packaged SmolLM2 and the real fitted scorer.

The packaged scorer ships without a second stage (measured, not shipped); these tests give it one
with plain weights on the likelihood gain (``staged``), the way ``python -m rag.fit_scorer
--likelihood packaged`` would add a fitted one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedding import Embedder
from rag.evidence import Candidate
from rag.likelihood import QuestionLikelihood
from rag.pipeline import Components, Pipeline
from rag.scoring import Rerank, Scorer, rerank_top

QUESTION = "How much did the new container terminal cost?"
ANSWER = "The new container terminal cost 480 million euros and opened in March."
OTHER = "Bananas are rich in potassium and grow in tropical climates."


def _stage() -> Rerank:
    """A second stage that trusts the first stage and the likelihood gain equally."""
    return Rerank(3, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 1.0], 0.0, 0.3, "SmolLM2-135M-Instruct.gguf", 9.0)


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """The packaged scorer with a second stage, as a scorer file."""
    scorer = Scorer.load()
    scorer.rerank = _stage()
    path = tmp_path / "scorer.json"
    scorer.save(path)
    return path


def test_a_sentence_that_answers_makes_the_question_more_likely(likelihood: QuestionLikelihood) -> None:
    answer, other = likelihood.score(QUESTION, [ANSWER, OTHER])
    assert answer > other
    assert answer > likelihood.null(QUESTION) > other - 5.0  # the empty passage sits between, not far off


def test_scores_do_not_depend_on_the_batch(likelihood: QuestionLikelihood) -> None:
    # Left padding and position ids: a sentence scores the same alone or beside a longer one.
    long = OTHER + " " + " ".join(["Plantations cover large areas of the lowlands."] * 3)
    together = likelihood.score(QUESTION, [ANSWER, long, ""])
    alone = [likelihood.score(QUESTION, [s])[0] for s in (ANSWER, long, "")]
    np.testing.assert_allclose(together, alone, atol=2e-3)
    assert likelihood.score(QUESTION, []).shape == (0,)


def test_the_packaged_scorer_has_no_second_stage_and_asking_for_one_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert Scorer.load().rerank is None
    pipe = Pipeline(docs_dir=tmp_path, index_dir=tmp_path / "i", likelihood_model="packaged")
    with caplog.at_level("WARNING"):
        assert pipe.likelihood is None
    assert "has no question-likelihood stage" in caplog.text


def test_a_fitted_second_stage_reads_back_with_its_own_threshold(staged: Path) -> None:
    s = Scorer.load(staged)
    assert s.rerank == _stage() and s.rerank.short_above == 9.0


def test_rerank_rescoring_only_the_top_and_keeps_the_rest_below(likelihood: QuestionLikelihood) -> None:
    rerank = _stage()
    texts = [OTHER, ANSWER, "The port is the largest in the region.", "Trade grew last year."]
    cands = [Candidate(0, 0, len(t), t, p=p) for t, p in zip(texts, (0.6, 0.5, 0.4, 0.3), strict=True)]
    out = rerank_top(rerank, likelihood, QUESTION, cands)
    top = out[: rerank.top]
    assert all(c.likelihood is not None for c in top)
    assert all(c.likelihood is None for c in out[rerank.top :])
    assert max(c.p or 0 for c in out[rerank.top :]) <= min(c.p or 0 for c in top)
    assert out[0].text == ANSWER  # the likelihood lifts the sentence that answers over the first stage's pick
    z = Rerank.features(np.array([0.6]), np.array([-2.0]), -3.0)
    assert z.shape == (1, 3) and z[0, 2] == pytest.approx(1.0)


def test_the_second_stage_is_off_by_default_and_its_threshold_applies_only_when_it_runs(
    tmp_path: Path, likelihood: QuestionLikelihood, staged: Path
) -> None:
    scorer = Scorer.load(staged)
    assert scorer.rerank is not None
    default = Pipeline(docs_dir=tmp_path, index_dir=tmp_path / "i", answer_scorer=str(staged))
    assert default.likelihood is None and default.refuse_below == scorer.refuse_below
    on = Pipeline(
        docs_dir=tmp_path,
        index_dir=tmp_path / "i",
        likelihood_model="packaged",
        answer_scorer=str(staged),
        components=Components(likelihood=likelihood),
    )
    assert on.likelihood is likelihood and on.refuse_below == scorer.rerank.refuse_below
    built = Pipeline(
        docs_dir=tmp_path, index_dir=tmp_path / "i", likelihood_model="packaged", answer_scorer=str(staged)
    )
    assert built.likelihood is not None and built.likelihood.generator.source == likelihood.generator.source
    with pytest.raises(Exception, match="likelihood model GGUF file not found"):
        Pipeline(docs_dir=tmp_path, index_dir=tmp_path / "i", likelihood_model=str(tmp_path / "missing.gguf"))


def test_fitting_scores_the_top_sentences_as_answering_does(likelihood: QuestionLikelihood) -> None:
    """rag.fit_scorer computes the second stage on cached rows; it must give the probabilities
    ``rerank_top`` gives the same candidates at answer time."""
    from rag.scoring import rerank_probabilities

    rerank = _stage()
    texts = [OTHER, ANSWER, "The port is the largest in the region.", "Trade grew last year.", "Rain fell."]
    p1 = np.array([0.6, 0.5, 0.4, 0.3, 0.2])
    top = list(range(rerank.top))
    scores = likelihood.score(QUESTION, [texts[i] for i in top] + [""])
    row = {"top": top, "lik": scores[:-1], "null": float(scores[-1])}
    fitted = rerank_probabilities(rerank, p1, row["top"], row["lik"], row["null"])
    cands = [Candidate(0, 0, len(t), t, p=float(p)) for t, p in zip(texts, p1, strict=True)]
    served = {c.text: c.p for c in rerank_top(rerank, likelihood, QUESTION, cands)}
    np.testing.assert_allclose([served[t] for t in texts], fitted, atol=1e-6)


@pytest.mark.slow
def test_answers_with_and_without_the_second_stage(
    tmp_path: Path, embedder: Embedder, likelihood: QuestionLikelihood, staged: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "port.txt").write_text(
        "Port opens new terminal\n\n"
        "The harbour authority opened a new container terminal in March after four years of work. "
        "The new terminal cost 480 million euros and can handle 2.1 million containers a year. "
        "Critics said the money should have gone to rail links instead.",
        encoding="utf-8",
    )
    for lik in (likelihood, None):
        comps = Components(embedder=embedder, likelihood=lik)
        pipe = Pipeline(
            docs_dir=docs,
            index_dir=tmp_path / "index",
            generator="none",
            components=comps,
            likelihood_model="packaged" if lik else "none",
            answer_scorer=str(staged),
        )
        pipe.sync()
        ans = pipe.query(QUESTION)
        assert not ans.abstained and "480 million" in ans.plain_text
        assert pipe.query("Who won the 1998 football world cup final?").abstained
