"""Checking drafts against passages (rag/answer/verification.py), with the real packaged embedder and no generator."""

from __future__ import annotations

from rag.answer.verification import Verifier, split_draft, unsupported_claims
from rag.models.embedding import Embedder
from tests.conftest import SPENDING, TREATY


def test_invented_number_is_dropped_and_valid_sentence_kept(embedder: Embedder) -> None:
    v = Verifier(embedder)
    q = "By how much has defense spending in the Indo-Pacific risen?"
    draft = (
        "Defense spending in the Indo-Pacific has risen by 23% in the last year [1]. "
        "Defense spending in the Indo-Pacific region has risen by 18% in the last year [1]."
    )
    verdicts = v.verify(draft, q, [SPENDING, TREATY])
    assert [vd.ok for vd in verdicts] == [False, True]
    assert "23" in verdicts[0].reason
    assert verdicts[1].supported_by == 1 and verdicts[1].span is not None


def test_wrong_citation_is_reattributed_and_unsupported_name_dropped(embedder: Embedder) -> None:
    v = Verifier(embedder)
    verdicts = v.verify(
        "Since the 1951 Treaty of San Francisco, the U.S. has provided a security umbrella for Japan [1]. "
        "Yoshida signed the treaty for Japan [2].",
        "What has the U.S. provided for Japan?",
        [SPENDING, TREATY],
    )
    assert verdicts[0].ok and verdicts[0].supported_by == 2 and verdicts[0].cited == [1]
    assert not verdicts[1].ok and "yoshida" in verdicts[1].reason


def test_restating_the_question_is_not_an_answer(embedder: Embedder) -> None:
    verdicts = Verifier(embedder).verify(
        "Defense spending in the Indo-Pacific has risen [1].",
        "By how much has defense spending in the Indo-Pacific risen?",
        [SPENDING],
    )
    assert not verdicts[0].ok


def test_split_draft_keeps_markers_with_their_sentence() -> None:
    assert split_draft("A is 1. [1] B is 2 [2]. C.") == [("A is 1.", [1]), ("B is 2.", [2]), ("C.", [])]


def test_claims_are_numbers_and_names_the_passage_lacks() -> None:
    assert unsupported_claims("The Council on Foreign Relations reports an 18% rise.", SPENDING) == []
    missing = unsupported_claims("China spends $2.5 trillion, Smith said.", SPENDING)
    assert "2.5" in missing and "china" in missing and "smith" in missing


def test_a_sentence_without_the_kind_of_thing_asked_for_is_dropped(embedder: Embedder) -> None:
    verdicts = Verifier(embedder).verify(
        "The treaty gave Japan a U.S. security umbrella so it could focus on economic development [1].",
        "In what year was the Treaty of San Francisco signed?",
        [TREATY],
    )
    assert not verdicts[0].ok and "year" in verdicts[0].reason
