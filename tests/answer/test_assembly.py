"""Answer assembly (rag/answer/assembly.py): one numbering of citations for every kind of answer."""

from __future__ import annotations

from rag.answer.assembly import (
    NOT_IN_ARTICLES,
    AnswerBuilder,
    CitationList,
    Evidence,
    merge_parts,
    quote_window,
    tidy_span,
)
from rag.answer.evidence import Candidate
from rag.answer.verification import Verdict
from rag.types import Chunk, Passage
from tests.conftest import SPENDING, TREATY


def _passage(text: str, source: str) -> Passage:
    return Passage(Chunk("id-" + source, source, "Title " + source, text, 100, 100 + len(text)), 0.5)


def _evidence(question: str, order: list[int]) -> Evidence:
    passages = [_passage(SPENDING, "spending.txt"), _passage(TREATY, "treaty.txt")]
    cands = [Candidate(pi, 0, len(passages[pi].chunk.text), passages[pi].chunk.text, p=0.9) for pi in order]
    return Evidence(question, question, passages, cands)


def test_citation_list_numbers_in_first_cited_order_and_merges_highlights() -> None:
    a, b = _passage(SPENDING, "a.txt"), _passage(TREATY, "b.txt")
    cites = CitationList()
    assert cites.cite(b, (0, 5)).n == 1 and cites.cite(a).n == 2
    again = cites.cite(b, (6, 9))
    assert again.n == 1 and again.highlights == [(0, 5), (6, 9)] and len(cites.items) == 2
    assert cites.cite(b, (0, 5)).highlights == [(0, 5), (6, 9)]  # a highlight is listed once


def test_extractive_quote_cites_its_passage_with_the_sentence_highlighted() -> None:
    builder = AnswerBuilder(short_answer_above=float("inf"), max_short_words=8, quote_words=16)
    ans = builder.extractive(_evidence("Since when has the U.S. shielded Japan?", [1, 0]))
    assert not ans.abstained and ans.citations[0].source == "treaty.txt" and ans.citations[0].n == 1
    assert ans.citations[0].highlights == [(0, len(TREATY))] and ans.text.endswith("[1]")


def test_short_answer_leads_in_bold_and_lies_inside_its_quote() -> None:
    ev = _evidence("In what year was the treaty signed?", [1])
    best = ev.candidates[0]
    at = TREATY.index("1951")
    best.span, best.span_text, best.reader_span = (at, at + 4), "1951", 12.0
    ans = AnswerBuilder(short_answer_above=5.0, max_short_words=8, quote_words=16).extractive(ev)
    assert ans.short_answer == "1951" and ans.text.startswith("**1951** — ")
    n, a, b = ans.short_span or (0, 0, 0)
    assert ans.citations[n - 1].text[a:b] == "1951" and "1951" in ans.sentences[0].text


def test_verified_sentences_cite_the_passage_that_supports_them() -> None:
    ev = _evidence("By how much has defense spending risen?", [0, 1])
    kept = Verdict("Indo-Pacific defense spending has risen by 18% in a year", [2], supported_by=2, span=(0, 40))
    dropped = Verdict("China holds more", [1], reason="names not in [1]: china")
    ans = AnswerBuilder(float("inf"), 8, 16).verified(ev, "draft", [kept, dropped], [1, 0], [])
    assert [c.source for c in ans.citations] == ["spending.txt"] and ans.sentences[0].citations == [1]
    assert ans.sentences[0].kind == "generated" and any("china" in n for n in ans.notes)
    assert not any("re-attributed" in n for n in ans.notes)  # it cited [2], the passage that supports it
    nothing = AnswerBuilder(float("inf"), 8, 16).verified(ev, "draft", [dropped], [1, 0], [])
    assert nothing.sentences[0].kind == "quoted" and nothing.draft == "draft"


def test_parts_share_one_numbering_and_an_abstaining_part_says_so() -> None:
    builder = AnswerBuilder(float("inf"), 8, 16)
    first = builder.extractive(_evidence("Which treaty?", [1]))
    second = builder.extractive(_evidence("How much more spending?", [0]))
    same = builder.extractive(_evidence("Since when?", [1]))
    declined = builder.abstain(_evidence("Who is the minister?", [0]))
    merged = merge_parts("all four?", [first, second, same, declined])
    assert [c.source for c in merged.citations] == ["treaty.txt", "spending.txt"]
    assert [s.citations for s in merged.sentences] == [[1], [2], [1]]
    assert merged.parts is not None and merged.parts[3].text == NOT_IN_ARTICLES and not merged.abstained
    assert merged.text.splitlines()[2].endswith("[1]")


def test_quote_window_keeps_the_span_and_stays_short() -> None:
    sentence = (
        "After months of negotiation in several capitals, the two governments finally agreed, "
        "according to officials who asked not to be named, on a tariff of 12 percent for most goods, "
        "with exceptions for farm products and medicine."
    )
    a = sentence.index("12 percent")
    lo, hi = quote_window(sentence, a, a + len("12 percent"), 16)
    assert lo <= a and a + len("12 percent") <= hi
    assert len(sentence[lo:hi].split()) <= 16
    assert quote_window("Short sentence with 12 percent.", 20, 30, 16) == (0, 31)


def test_a_sentence_closing_one_passage_is_quoted_with_its_sequel_from_the_overlapping_one() -> None:
    s1 = "Officials signed a fisheries accord on Monday in the port city."
    s2 = "The fisheries accord caps the catch of both fleets."
    s3 = "The accord also lets inspectors from each side board the other's trawlers."
    article = f"{s1} {s2} {s3}"
    a_end = len(s1) + 1 + len(s2)
    b_start = len(s1) + 1
    first = Passage(Chunk("a", "x.txt", "T", article[:a_end], 0, a_end), 0.9)  # s2 closes it
    second = Passage(Chunk("b", "x.txt", "T", article[b_start:], b_start, len(article)), 0.5)  # s2 opens it
    best = Candidate(0, b_start, a_end, s2, p=0.9)
    ev = Evidence("What does the fisheries accord do?", "q", [first, second], [best])
    ans = AnswerBuilder(float("inf"), 8, 16).extractive(ev)
    assert [s.text for s in ans.sentences] == [s2, s3]
    assert len(ans.citations) == 1 and ans.citations[0].chunk_id == "b"
    assert ans.citations[0].highlights == [(0, len(s2)), (len(s2) + 1, len(s2) + 1 + len(s3))]
    # Another article's passage never lends its sentences.
    other = Passage(Chunk("c", "y.txt", "T", article[b_start:], b_start, len(article)), 0.5)
    alone = AnswerBuilder(float("inf"), 8, 16).extractive(Evidence(ev.question, "q", [first, other], [best]))
    assert [s.text for s in alone.sentences] == [s2]


def test_a_short_answer_keeps_its_currency_sign_and_closes_what_it_opens() -> None:
    text = "Trade reached $185 billion in 2023, said the Liberal Democratic Party (LDP) of Japan (in Tokyo)."

    def tidy(span: str) -> str:
        a = text.index(span)
        x, y = tidy_span(text, a, a + len(span), 0, len(text))
        return text[x:y]

    assert tidy("185 billion") == "$185 billion"
    assert tidy("Liberal Democratic Party (LDP") == "Liberal Democratic Party (LDP)"
    assert tidy("LDP) of Japan") == "(LDP) of Japan"
    assert tidy("Japan (in") == "Japan"  # its closer is not next: cut before the opener
    assert tidy("in Tokyo)") == "(in Tokyo)" and tidy("Tokyo)") == "Tokyo"
    assert tidy("2023") == "2023" and tidy("Party") == "Party"
    a = text.index("185")
    assert tidy_span(text, a, a + 3, a, len(text)) == (a, a + 3)  # never outside its sentence


def test_the_bold_answer_is_the_tidied_span_and_its_offsets_point_at_it() -> None:
    text = "Bilateral trade reached $185 billion in 2023."
    passage = _passage(text, "trade.txt")
    at = text.index("185")
    best = Candidate(0, 0, len(text), text, p=0.9, span=(at, at + 11), span_text="185 billion", reader_span=12.0)
    ev = Evidence("How large was bilateral trade?", "How large was bilateral trade?", [passage], [best])
    ans = AnswerBuilder(short_answer_above=5.0, max_short_words=8, quote_words=16).extractive(ev)
    assert ans.short_answer == "$185 billion" and ans.text.startswith("**$185 billion** — ")
    n, a, b = ans.short_span or (0, 0, 0)
    assert ans.citations[n - 1].text[a:b] == "$185 billion"
