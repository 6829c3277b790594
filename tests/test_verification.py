"""Checking drafts against passages (rag/verification.py), with the real packaged embedder and no generator."""

from __future__ import annotations

from rag.embedding import Embedder
from rag.verification import Verifier, split_draft, unsupported_claims
from tests.conftest import DEBT, MISSILES


def test_invented_number_is_dropped_and_valid_sentence_kept(embedder: Embedder) -> None:
    v = Verifier(embedder)
    q = "How much U.S. debt does Japan hold?"
    draft = (
        "Japan holds 10.9% of the world's total U.S. debt [1]. "
        "Japan holds over $1.3 trillion in U.S. Treasury securities [1]."
    )
    verdicts = v.verify(draft, q, [DEBT, MISSILES])
    assert [vd.ok for vd in verdicts] == [False, True]
    assert "10.9" in verdicts[0].reason
    assert verdicts[1].supported_by == 1 and verdicts[1].span is not None


def test_wrong_citation_is_reattributed_and_unsupported_name_dropped(embedder: Embedder) -> None:
    v = Verifier(embedder)
    verdicts = v.verify(
        "Japan is acquiring 400 Tomahawk cruise missiles [1]. Prime Minister Abe ordered 400 Tomahawks [2].",
        "How many Tomahawk missiles is Japan acquiring?",
        [DEBT, MISSILES],
    )
    assert verdicts[0].ok and verdicts[0].supported_by == 2 and verdicts[0].cited == [1]
    assert not verdicts[1].ok and "abe" in verdicts[1].reason


def test_restating_the_question_is_not_an_answer(embedder: Embedder) -> None:
    verdicts = Verifier(embedder).verify("Japan holds U.S. debt [1].", "How much U.S. debt does Japan hold?", [DEBT])
    assert not verdicts[0].ok


def test_split_draft_keeps_markers_with_their_sentence() -> None:
    assert split_draft("A is 1. [1] B is 2 [2]. C.") == [("A is 1.", [1]), ("B is 2.", [2]), ("C.", [])]


def test_claims_are_numbers_and_names_the_passage_lacks() -> None:
    assert unsupported_claims("Japan holds over $1.3 trillion in Treasury securities.", DEBT) == []
    missing = unsupported_claims("China holds $2.5 trillion, Smith said.", DEBT)
    assert "2.5" in missing and "china" in missing and "smith" in missing


def test_a_sentence_without_the_kind_of_thing_asked_for_is_dropped(embedder: Embedder) -> None:
    verdicts = Verifier(embedder).verify(
        "Japan is acquiring Tomahawk cruise missiles and easing export restrictions [1].",
        "How many Tomahawk missiles is Japan acquiring?",
        [MISSILES],
    )
    assert not verdicts[0].ok and "number" in verdicts[0].reason
