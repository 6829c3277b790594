"""Questions about an article itself (rag/answer/bylines.py): who wrote it, when it was published —
answered from its byline and date on real indexes, declined when the article gives none or no
article is about what the question names; and the dates cleaning must not invent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from rag.answer.bylines import metadata_field, topic_terms
from rag.app.rendering import answer_markdown
from rag.ingest.loading import load_document
from rag.models.embedding import Embedder
from rag.pipeline import Pipeline
from tests.conftest import synced_pipeline

ROOT = Path(__file__).resolve().parents[2]
MESSY = ROOT / "benchmarks" / "data" / "messy"
EXPECTED = json.loads((MESSY / "expected.json").read_text())


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("Who wrote the article about the port strike?", "author"),
        ("Who is the author of this piece?", "author"),
        ("Whose byline is on the story about the reef survey?", "author"),
        ("The op-ed on tariffs was written by whom?", "author"),
        ("Who is the author?", "author"),
        ("Who is the author of the treaty?", None),
        ("When was the article on the census published?", "date"),
        ("What is the publication date of the column about rail fares?", "date"),
        ("When did the story about the volcano come out?", "date"),
        # About the content, not about an article of the archive: the sentence path answers these.
        ("According to the article, who wrote the treaty?", None),
        ("Who wrote the Federalist Papers?", None),
        ("When was the IPCC Fourth Assessment Report published?", None),
        ("Who reported the fire to the police?", None),
        ("When was the bridge published in the city plan?", None),
    ],
)
def test_metadata_questions_are_told_apart_from_content_questions(question: str, field: str | None) -> None:
    assert metadata_field(question) == field


def test_topic_terms_keep_what_names_the_article() -> None:
    terms = topic_terms("Who wrote the article about the port strike?")
    assert "port" in terms and "strike" in terms
    assert not {"who", "wrote", "articl", "article"} & set(terms)


def test_who_wrote_an_article_is_answered_from_its_byline(pipeline: Pipeline) -> None:
    chunks = pipeline.index.chunks
    with_author = next(c for c in chunks if c.author)
    ans = pipeline.query(f"Who is the author of the story “{with_author.title}”?")
    assert not ans.abstained
    assert ans.short_answer == with_author.author and ans.text.startswith(f"**{with_author.author}**")
    assert ans.citations[0].source == with_author.source and ans.citations[0].author == with_author.author
    assert [s.kind for s in ans.sentences] == ["metadata"]
    assert "byline" in answer_markdown(ans)


def test_an_article_without_a_byline_is_declined_not_answered(pipeline: Pipeline) -> None:
    sources_with_author = {c.source for c in pipeline.index.chunks if c.author}
    without = next(c for c in pipeline.index.chunks if c.source not in sources_with_author)
    ans = pipeline.query(f"Who wrote the article “{without.title}”?")
    assert ans.abstained and "does not name its author" in ans.abstention
    assert ans.citations[0].source == without.source


def test_an_article_about_something_not_in_the_index_is_declined(pipeline: Pipeline) -> None:
    ans = pipeline.query("Who wrote the article about the rover landing on Mars?")
    assert ans.abstained and not ans.short_answer


@pytest.fixture(scope="module")
def messy_pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Pipeline:
    docs = tmp_path_factory.mktemp("messy")
    for name in ("chip-factory.html", "ferry.html", "port-strike.txt", "wind-farm.pdf"):
        shutil.copy(MESSY / name, docs / name)
    return synced_pipeline(docs, tmp_path_factory.mktemp("index"), embedder)


def test_publication_date_is_answered_from_the_page_and_never_guessed(messy_pipeline: Pipeline) -> None:
    dated = EXPECTED["chip-factory.html"]
    ans = messy_pipeline.query(f"When was the article “{dated['title']}” published?")
    assert not ans.abstained and ans.short_answer == dated["date"]
    assert ans.citations[0].source == "chip-factory.html"
    undated = EXPECTED["ferry.html"]
    assert undated["date"] == ""
    ans = messy_pipeline.query(f"When was the story “{undated['title']}” published?")
    assert ans.abstained and "does not give its date" in ans.abstention


def test_cleaning_invents_no_date() -> None:
    # The page has a copyright year but states no date; an "extensive" search turned it into 2025-01-01.
    assert load_document(MESSY / "ferry.html", "ferry.html").date == ""
    # A PDF's /CreationDate is when the file was made, not when the article was published.
    assert PdfReader(MESSY / "wind-farm.pdf").metadata.get("/CreationDate")
    assert load_document(MESSY / "wind-farm.pdf", "wind-farm.pdf").date == ""
    assert load_document(MESSY / "chip-factory.html", "chip-factory.html").date == EXPECTED["chip-factory.html"]["date"]


def test_who_is_the_author_follows_the_conversation(pipeline: Pipeline) -> None:
    with_author = next(c for c in pipeline.index.chunks if c.author)
    history = [
        {"role": "user", "content": f"What is “{with_author.title}” about?"},
        {"role": "assistant", "content": with_author.text[:200]},
    ]
    ans = pipeline.query("Who is the author?", history=history)
    assert not ans.abstained and ans.short_answer == with_author.author
    assert pipeline.query("Who is the author?").abstained  # no article named, no conversation


def test_a_two_part_question_answers_its_byline_part_from_the_byline(pipeline: Pipeline) -> None:
    with_author = next(c for c in pipeline.index.chunks if c.author)
    ans = pipeline.query(f"Who wrote the article “{with_author.title}”, and when did Trump leave Japan?")
    assert len(ans.parts) == 2 and ans.parts[0].short_answer == with_author.author
    assert ans.parts[0].sentences[0].kind == "metadata" and not ans.parts[1].abstained
