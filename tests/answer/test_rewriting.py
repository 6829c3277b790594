"""Follow-up questions made standalone for retrieval (rag/answer/rewriting.py)."""

from __future__ import annotations

import json

from benchmarks.ordinal_references import false_rewrites, items_named
from rag.answer.rewriting import enumeration, is_followup, resolve_ordinal, rewrite_followup
from tests.conftest import SQUAD, needs_squad

HISTORY = [
    {"role": "user", "content": "Which treaty anchors the alliance?"},
    {"role": "assistant", "content": "The 1951 Treaty of San Francisco [1]."},
]


def test_a_pronoun_question_carries_the_last_turn_without_markers() -> None:
    q = rewrite_followup("When was it signed?", HISTORY)
    assert q.startswith("When was it signed?") and "Treaty of San Francisco" in q and "[1]" not in q


def test_a_question_that_stands_alone_is_left_as_typed() -> None:
    assert rewrite_followup("How many missiles will Japan buy?", HISTORY) == "How many missiles will Japan buy?"
    assert rewrite_followup("When was it signed?", None) == "When was it signed?"
    assert is_followup("And Korea?", HISTORY) and not is_followup("And Korea?", [])


LISTED = [
    {"role": "user", "content": "Which sectors did the trade deal cover?"},
    {"role": "assistant", "content": "“It covers shipbuilding, chip making, and liquefied natural gas.” [1]"},
]


def test_an_ordinal_into_the_last_answers_list_is_replaced_by_the_item() -> None:
    assert (
        resolve_ordinal("Which firms fall under that last sector?", LISTED)
        == "Which firms fall under liquefied natural gas?"
    )
    assert resolve_ordinal("Who leads the second one?", LISTED) == "Who leads chip making?"
    assert resolve_ordinal("How big is the first of them?", LISTED) == "How big is shipbuilding?"
    assert resolve_ordinal("Tell me about the latter.", LISTED) == "Tell me about liquefied natural gas."


def test_an_ordinal_that_does_not_point_back_is_left_alone() -> None:
    # "the first sector" may be a question of its own ("the first sector to recover"); only a
    # demonstrative, "one", "of them" or "the latter" points back
    for q in (
        "Who was the first woman to lead Japan?",
        "How big is the first sector?",
        "Which firms fall under the fourth one?",
    ):
        assert resolve_ordinal(q, LISTED) == q
    assert resolve_ordinal("Who leads the second one?", None) == "Who leads the second one?"
    no_list = [LISTED[0], {"role": "assistant", "content": "Shipbuilding. [1]"}]
    assert resolve_ordinal("Who leads the second one?", no_list) == "Who leads the second one?"


def test_a_list_is_read_from_the_bold_short_answer_when_there_is_one() -> None:
    assert enumeration("**Tokyo, Osaka and Kyoto** — “The tour stops in Nagoya and Kobe.” [1]") == [
        "Tokyo",
        "Osaka",
        "Kyoto",
    ]
    assert enumeration("Economic ties, defense cooperation, and technological research.") == [
        "Economic ties",
        "defense cooperation",
        "technological research",
    ]


@needs_squad
def test_on_squad_no_standalone_question_is_rewritten_and_list_items_are_named() -> None:
    squad = json.loads(SQUAD.read_text())
    assert false_rewrites(squad, limit=3000)["rewritten"] == 0
    named = items_named(squad, limit=60)
    assert named["asked"] >= 100 and named["expected item"] > 5 * named["another item"]


def test_a_very_long_previous_answer_is_read_from_its_start_only() -> None:
    listed = "Shipbuilding, chip making, and liquefied natural gas. "
    tail = "Ports, rail, roads, dams, and bridges were also named."  # a longer list, past the first 2,000 characters
    long_answer = listed + "The talks went on for a long time. " * 2000 + tail
    history = [LISTED[0], {"role": "assistant", "content": long_answer}]
    assert resolve_ordinal("Who leads the second one?", history) == "Who leads chip making?"
    assert enumeration(long_answer)[-1] == "liquefied natural gas"
