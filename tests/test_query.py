from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.answer.questions import InvalidQuestion
from rag.evaluation.metrics import numbers
from rag.ingest.loading import load_document
from rag.pipeline import Pipeline


def _article(pipeline: Pipeline, source: str) -> str:
    return load_document(Path(pipeline.settings.docs_dir) / source).text


def test_answer_cites_exact_spans_of_the_articles(pipeline: Pipeline) -> None:
    ans = pipeline.query("By how much has Indo-Pacific defense spending risen?")
    assert not ans.abstained
    assert "18%" in ans.text
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", ans.text)}
    assert markers and markers <= {c.n for c in ans.citations}
    for c in ans.citations:
        assert _article(pipeline, c.source)[c.start : c.end] == c.text
    for s in ans.sentences:  # each quote is (part of) a highlighted sentence of the passage it cites
        cit = next(c for c in ans.citations if c.n == s.citations[0])
        assert any(s.text.strip("…") in cit.text[a:b] for a, b in cit.highlights)
    # every number the answer states is in a passage it cites
    assert numbers(ans.plain_text) <= numbers(" ".join(c.text for c in ans.citations))
    assert all(s.verified and s.citations for s in ans.sentences)


def test_off_topic_question_is_declined(pipeline: Pipeline) -> None:
    ans = pipeline.query("What is the boiling point of mercury in Kelvin?")
    assert ans.abstained and ans.abstention and ans.abstention in ans.text
    assert "do not answer" in ans.abstention and not ans.sentences and not ans.short_answer
    assert ans.citations, "an abstention still lists the closest passages to check"


def test_followup_uses_history(pipeline: Pipeline) -> None:
    history = [
        {"role": "user", "content": "Which professor at Wased University is quoted?"},
        {"role": "assistant", "content": "Professor Kenji Ito, a political science professor. [1]"},
    ]
    ans = pipeline.query("What does he argue?", history=history)
    assert ans.rewritten_question and "Kenji Ito" in ans.rewritten_question
    assert ans.citations[0].source == "001_0dc30543c454f561.txt"
    standalone = pipeline.query("What does Professor Kenji Ito argue about Japan's strategy?")
    assert standalone.rewritten_question is None


def test_an_ordinal_followup_asks_about_the_item_it_names(pipeline: Pipeline) -> None:
    listed = load_document(Path(pipeline.settings.docs_dir) / "000_61f95b61063c0a65.txt").text
    sentence = next(s for s in re.split(r"(?<=\.)\s+", listed) if "critical minerals," in s)
    history = [
        {"role": "user", "content": "Beyond security, which areas is the alliance expanding into?"},
        {"role": "assistant", "content": f"“{sentence}” [1]"},
    ]
    ans = pipeline.query("What agreement was signed on the second one?", history=history)
    assert ans.rewritten_question == "What agreement was signed on critical minerals?"
    assert not ans.abstained and ans.citations[0].source == "001_0dc30543c454f561.txt"
    assert "critical minerals" in ans.sentences[0].text


@pytest.mark.parametrize(
    "question",
    [
        "What key pillars are the proposed enhancements built on?",
        "On what pillars are the proposed enhancements built?",
    ],
)
def test_a_lead_in_sentence_is_quoted_with_what_it_introduces_and_no_bold_span(
    pipeline: Pipeline, question: str
) -> None:
    ans = pipeline.query(question)
    assert not ans.abstained and ans.sentences[0].text.endswith(":")
    # a span of the lead-in ("rhetoric") would answer nothing: the items come after the colon
    assert ans.short_answer is None and "**" not in ans.text
    assert len(ans.sentences) == 2 and ans.sentences[1].text.lstrip("* ").startswith("Economic Partnership")


@pytest.mark.parametrize("bad", ["", "   \n\t ", None, 42])
def test_bad_questions_get_a_clear_error(pipeline: Pipeline, bad: object) -> None:
    with pytest.raises(InvalidQuestion):
        pipeline.query(bad)  # type: ignore[arg-type]


def test_huge_question_is_refused_with_the_limit(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidQuestion, match="359,999 characters long; the limit is 2,000"):
        pipeline.query("Indo-Pacific news " * 20_000)
    ok = pipeline.query("By how much has Indo-Pacific defense spending risen? " + "Please answer. " * 100)
    assert ok.citations and not ok.abstained


def test_public_query_function_works_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAG_GENERATOR", "none")
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))  # keep the repo's index/ untouched
    monkeypatch.setattr(rag, "_default", None)
    ans = rag.query("In what year was the Treaty of San Francisco signed?")
    assert isinstance(ans, rag.Answer) and not ans.abstained
    assert "1951" in ans.text
    c = ans.citations[0]
    assert c.source.endswith(".txt") and c.title.strip() and len(c.chunk_id) == 16
    assert c.end > c.start and c.score > 0
    again = rag.query("In what year was the Treaty of San Francisco signed?")
    assert again.timings["total"] < ans.timings["total"]  # models and index were reused
    streamed = list(rag.query_stream("In what year was the Treaty of San Francisco signed?"))
    assert isinstance(streamed[-1], rag.Answer) and streamed[-1].text == ans.text


def test_citations_carry_the_articles_metadata(pipeline: Pipeline) -> None:
    from rag.answer.assembly import citation

    passages = pipeline.retriever.retrieve("Trump 2.0 US-Japan relations geopolitical risk and opportunity", 10)
    cit = next(citation(1, p) for p in passages if p.chunk.source == "003_7f0ce9717cede5be.txt")
    loaded = load_document(Path(pipeline.settings.docs_dir) / cit.source)
    assert cit.title == loaded.title == "Takaichi & Trump Call: Possible Friday Talks"
    assert cit.author and cit.author == loaded.author
    d = cit.to_dict()
    assert d["author"] == cit.author and d["title"] == cit.title and "date" in d and d["pages"] is None
    dated = next(
        citation(1, p)
        for p in pipeline.retriever.retrieve("logistical aircraft rumble reminder of the relationship", 10)
        if p.chunk.source == "001_0dc30543c454f561.txt"
    )
    assert dated.date == "2025-12-02"


def test_chat_shows_a_declined_answer_as_a_warning_from_its_fields(pipeline: Pipeline) -> None:
    from rag.app.rendering import answer_markdown

    ans = pipeline.query("What is the boiling point of mercury in Kelvin?")
    shown = answer_markdown(ans)
    assert 'class="abstain-box"' in shown and ans.abstention in shown
    answered = answer_markdown(pipeline.query("In what year was the Treaty of San Francisco signed?"))
    assert "abstain-box" not in answered and "1951" in answered


def test_components_passed_in_are_the_ones_that_answer(pipeline: Pipeline, embedder) -> None:
    """Constructor injection: the pipeline answers with the embedder it was given, never a second
    copy built from its settings."""
    ans = pipeline.query("What do the articles say about the alliance?")
    assert pipeline.embedder is embedder and pipeline.retriever.embedder is embedder
    assert ans.citations
