"""Candidate sentences and their shape (rag/answer/evidence.py), with the real packaged embedder."""

from __future__ import annotations

from rag.answer.evidence import Grounder, continues, is_heading, is_question, next_sentence
from rag.ingest.chunking import sentence_spans
from rag.models.embedding import Embedder
from rag.types import Chunk, Passage
from tests.conftest import SPENDING, TREATY


def _passage(text: str) -> Passage:
    return Passage(Chunk("id", "a.txt", "Title", text, 0, len(text)), 1.0)


def test_is_heading_flags_titles_and_link_lines_not_facts() -> None:
    for line in ("Port Strike Ends After Five Days", "- Think Tank Urges Swift Action on Trade Deal", "Related Posts"):
        assert is_heading(line), line
    for line in (
        "The strike ended after five days, the union said.",
        "Defense — Current Status: Existing security treaty; Potential Developments: Joint exercises",
        # A long run of names in Title Case is a sentence, not a headline.
        "Current Faculty Include Anthropologist Marshall Sahlins, Historian Dipesh Chakrabarty, Paleontologists "
        "Neil Shubin And Paul Sereno, Evolutionary Biologist Jerry Coyne And Physicist Subrahmanyan Chandrasekhar",
    ):
        assert not is_heading(line), line


def test_a_sentence_leaning_on_the_one_before_continues_it() -> None:
    assert continues("The ministry signed a new agreement.", "It takes effect in May.")
    assert continues("The ministry signed a new agreement.", "The agreement takes effect in May.")
    assert not continues("The ministry signed a new agreement.", "Exports rose in May.")
    assert is_question("Could tariffs rise again?") and not is_question("Tariffs rose.")


def test_candidates_are_the_passage_sentences_with_exact_spans(embedder: Embedder) -> None:
    text = "Indo-Pacific Defense Spending\n" + SPENDING + " " + TREATY
    g = Grounder(embedder)
    cands = g.candidates("By how much has Indo-Pacific defense spending risen?", [_passage(text)])
    assert {(c.start, c.end) for c in cands} <= set(sentence_spans(text))
    assert all(text[c.start : c.end] == c.text for c in cands)
    # The headline is closest in meaning but holds no amount: the support score puts the fact first.
    assert max(cands, key=lambda c: c.similarity).text == "Indo-Pacific Defense Spending"
    best = cands[0]
    assert "18%" in best.text and best.coverage > 0.5 and best.score > cands[1].score
    nxt = next_sentence(text, best)
    assert nxt is not None and nxt.start >= best.end and "1951" in nxt.text


def test_every_retrieved_passage_gives_candidates(embedder: Embedder) -> None:
    """``top_k`` decides how many passages are read: the grounder must not cap it at five."""
    texts = [f"Port {i} handled {i + 1} million containers last year." for i in range(8)]
    cands = Grounder(embedder).candidates("How many containers did the ports handle?", [_passage(t) for t in texts])
    assert sorted({c.passage_index for c in cands}) == list(range(8))
