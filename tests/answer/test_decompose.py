"""Splitting a two-part question (rag/answer/decompose.py) and answering it part by part (Pipeline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.decompose import bridge, split_question
from rag.evaluation.squad import load_split, load_squad, multipart_pairs, part_titles
from rag.models.embedding import Embedder
from rag.pipeline import Pipeline
from tests.conftest import SQUAD, needs_squad, synced_pipeline


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("When was the bridge opened and who designed it?", ["When was the bridge opened?", "Who designed it?"]),
        (
            "Which city hosted the games, and in which year did they end?",
            ["Which city hosted the games?", "In which year did they end?"],
        ),
        ("Where is the museum; what does it hold?", ["Where is the museum?", "What does it hold?"]),
    ],
)
def test_coordinated_wh_clauses_become_parts(question: str, parts: list[str]) -> None:
    assert split_question(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "What is the name of the man who founded the company?",  # relative clause
        "What did Smith and Jones agree on?",  # coordinated nouns: one question
        "Which river runs through the city that was founded in 1200?",
        "Who?",
    ],
)
def test_one_question_stays_whole(question: str) -> None:
    assert split_question(question) == [question]


def test_a_bare_second_part_borrows_the_first_parts_words() -> None:
    first, second = split_question("Who designed the bridge and when?")
    assert first == "Who designed the bridge?"
    assert second.startswith("When") and "bridge" in second


def test_two_part_question_is_answered_part_by_part_with_shared_citations(pipeline: Pipeline) -> None:
    ans = pipeline.query("By how much has Indo-Pacific defense spending risen, and when did Trump leave Japan?")
    assert len(ans.parts) == 2 and not ans.abstained
    numbers = [c.n for c in ans.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len({c.chunk_id for c in ans.citations}) == len(ans.citations)  # one entry per passage
    for part in ans.parts:
        assert part.question in ans.text
        if part.abstained:
            continue
        for s in part.sentences:
            for n in s.citations:
                cit = next(c for c in ans.citations if c.n == n)
                assert s.text.strip("…") in cit.text  # the quote is where its number points
        if part.short_span:
            n, a, b = part.short_span
            assert next(c for c in ans.citations if c.n == n).text[a:b] == part.short_answer
    assert ans.to_dict()["parts"][0]["question"] == ans.parts[0].question


def test_multipart_can_be_switched_off(pipeline: Pipeline) -> None:
    whole = pipeline.settings
    pipeline.settings = whole.model_copy(update={"multipart": False})
    try:
        ans = pipeline.query("By how much has Indo-Pacific defense spending risen, and when did Trump leave Japan?")
    finally:
        pipeline.settings = whole
    assert ans.parts == []


@needs_squad
def test_multipart_pairs_join_questions_of_two_paragraphs() -> None:
    pairs = multipart_pairs(load_squad(SQUAD), part_titles(load_split(), "test"))
    assert len(pairs) > 100
    for m in pairs:
        assert m.first.title == m.second.title and m.first.paragraph != m.second.paragraph
        assert m.asked.endswith("?") and ", and " in m.asked
        assert len(split_question(m.asked)) == 2 or m.asked.count(" and ") > 1


@pytest.mark.parametrize(
    ("question", "inner", "outer"),
    [
        (
            "Who runs the bakery that supplied bread to the school?",
            "Which bakery supplied bread to the school?",
            "Who runs <X>?",
        ),
        ("How old is the mayor who opened the new library?", "Which mayor opened the new library?", "How old is <X>?"),
        (
            "Who heads the agency whose report criticised the plan?",
            "Which agency's report criticised the plan?",
            "Who heads <X>?",
        ),
        (
            "When did the company that bought the mill close its factory?",
            "Which company bought the mill?",
            "When did <X> close its factory?",
        ),
    ],
)
def test_a_subject_named_by_a_relative_clause_is_looked_up_first(question: str, inner: str, outer: str) -> None:
    link = bridge(question)
    assert link is not None and link.inner == inner and link.outer("<X>") == outer


@pytest.mark.parametrize(
    "question",
    [
        "Who is the man who founded the firm?",  # asks what the phrase is: nothing to bridge
        "What was the name of the team that won the cup?",
        "In what year was the bridge that crosses the river built?",  # predicate parsed into the clause
        "How many staff does the charity that runs the shelter employ?",
        "How much did the firm that the council hired charge?",  # object relative: no subject to ask for
        "Who won the race?",
    ],
)
def test_no_bridge_where_the_clause_is_not_a_lookup(question: str) -> None:
    assert bridge(question) is None


BAKERY = (
    "School meals in Eastport\n\n"
    "The Lindqvist Bakery supplied bread to the Northside primary school throughout the winter term, "
    "the school said on Monday. Parents had asked for fresher bread after complaints last year. "
    "The contract is due to be renewed in April."
)
OWNER = (
    "Family firms of Eastport\n\n"
    "Ana Ruiz runs the Lindqvist Bakery, which her grandfather opened on Quay Street in 1962. "
    "She employs eleven people and bakes through the night six days a week. "
    "The firm also sells flour to two restaurants in the old town."
)


def test_a_bridge_question_is_answered_in_two_cited_steps(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "school.txt").write_text(BAKERY, encoding="utf-8")
    (docs / "owner.txt").write_text(OWNER, encoding="utf-8")
    pipe = synced_pipeline(docs, tmp_path / "index", embedder)
    ans = pipe.query("Who runs the bakery that supplied bread to the school?")
    assert not ans.abstained and "Ana Ruiz" in ans.text
    assert {c.source for c in ans.citations} == {"school.txt", "owner.txt"}
    assert any("two steps" in n and "Lindqvist Bakery" in n for n in ans.notes)
    (docs / "owner.txt").unlink()  # the second fact is gone: no name may be guessed for it
    pipe.sync()
    assert "Ana Ruiz" not in pipe.query("Who runs the bakery that supplied bread to the school?").text
