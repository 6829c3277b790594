"""Gathering evidence (rag/answer/gathering.py) over the bundled articles: scored sentences best
first, the time of each stage, and a follow-up read both as asked and with the conversation."""

from __future__ import annotations

from rag.pipeline import Pipeline
from tests.conftest import SPENDING


def test_candidates_come_scored_best_first_and_each_stage_is_timed(pipeline: Pipeline) -> None:
    clock: dict[str, float] = {}
    ev = pipeline.gatherer().run("By how much has Indo-Pacific defense spending risen?", clock=clock)
    probs = [c.p for c in ev.candidates]
    assert all(p is not None for p in probs) and probs == sorted(probs, reverse=True)
    assert ev.candidates[0].text in SPENDING and ev.support == probs[0]
    assert set(clock) == {"retrieval", "grounding", "reading"} and all(t > 0 for t in clock.values())


def test_a_follow_up_keeps_the_better_of_its_two_readings(pipeline: Pipeline) -> None:
    history = [
        {"role": "user", "content": "Which think tank reported on defense spending in the Indo-Pacific?"},
        {"role": "assistant", "content": "The Council on Foreign Relations."},
    ]
    gatherer = pipeline.gatherer()
    asked = gatherer.run("By how much did it say spending rose?")
    followed = gatherer.run("By how much did it say spending rose?", history)
    assert followed.support >= asked.support
    assert followed.candidates[0].text in SPENDING
    assert gatherer.run("", None).candidates == []  # nothing to retrieve with
