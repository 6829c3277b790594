"""Answer or decline (rag/answer/decision.py), on evidence the real pipeline gathered from a small
corpus written for these tests, with the packaged reader and fitted decision."""

from __future__ import annotations

import pytest

from rag.answer.decision import Decider
from rag.answer.evidence import Candidate, Evidence
from rag.models.embedding import Embedder
from rag.pipeline import Pipeline
from tests.conftest import synced_pipeline

QUOTA = (
    "Norway raised its cod quota by 12 percent on Monday, the fisheries ministry said. "
    "The ministry said fishing boats would be sent to the northern grounds in the spring. "
    "Officials expect prices at the Bergen fish market to fall as a result."
)
HARBOUR = (
    "The harbour in Tromsø will be dredged next year. The work was approved by the city council "
    "after a long debate about its cost to local taxpayers."
)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Pipeline:
    root = tmp_path_factory.mktemp("decision")
    docs = root / "docs"
    docs.mkdir()
    (docs / "quota.txt").write_text("Norway raises cod quota\n\n" + QUOTA, encoding="utf-8")
    (docs / "harbour.txt").write_text("Harbour to be dredged\n\n" + HARBOUR, encoding="utf-8")
    return synced_pipeline(docs, root / "index", embedder)


def test_a_supported_answer_is_given_and_a_hand_set_threshold_overrides_the_decision(pipe: Pipeline) -> None:
    ev = pipe.gather("By how much did Norway raise its cod quota?")
    ruling = pipe.decider.run(ev)
    assert ruling.declined is None and "12 percent" in ev.candidates[0].text
    strict = Decider(pipe.scorer, None, refuse_below=1.0)  # what RAG_REFUSE_BELOW=1 gives
    assert strict.run(ev).declined == ""


def test_an_entity_the_passage_never_mentions_is_declined_naming_it(pipe: Pipeline) -> None:
    ev = pipe.gather("By how much did Iceland raise its cod quota?")
    assert pipe.decider.run(ev).declined is not None
    why = pipe.decider.conflict(ev)
    assert why is not None and "Iceland" in why and "Norway" in why


def test_how_many_and_how_much_need_a_number_and_a_sum(pipe: Pipeline) -> None:
    ev = pipe.gather("How many fishing boats will be sent to the northern grounds?")
    boats = next(c for c in ev.candidates if "fishing boats" in c.text)
    no_number = Evidence(ev.question, ev.query, ev.passages, [boats])
    assert "how many" in (pipe.decider.no_figure(no_number) or "")
    cost = pipe.gather("How much will the dredging of the harbour cost?")
    debate = next(c for c in cost.candidates if "cost to local taxpayers" in c.text)
    assert "sum of money" in (
        pipe.decider.no_figure(Evidence(cost.question, cost.query, cost.passages, [debate])) or ""
    )
    quota = pipe.gather("By how much did Norway raise its cod quota?")
    assert pipe.decider.no_figure(quota) is None


def test_without_a_reader_only_the_support_threshold_decides() -> None:
    ev = Evidence("How many boats?", "How many boats?", [], [Candidate(0, 0, 5, "Boats.", score=0.9)])
    assert Decider(None, None, refuse_below=0.3).run(ev).declined is None  # no figure check without types
    assert Decider(None, None, refuse_below=0.95).run(ev).declined == ""
