"""The news evaluation (rag/evaluation/news.py) and what news needs of the product: clutter kept out of
the index, two-part questions whose later part refers back, and questions about another
cluster's story declined. Every article here is written for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.answer.decompose import refer_back, split_question
from rag.evaluation.metrics import score
from rag.evaluation.news import load_split, make_split, part_clusters, run_news
from rag.models.embedding import Embedder
from rag.pipeline import Components, Pipeline
from tests.conftest import ROOT

NEWS = ROOT.parent / "shared" / "eval" / "news"

FERRY = """Harbour board approves second ferry pier at Dunmere

Share this article: Facebook | X | WhatsApp | Email

By Ines Marlow

DUNMERE, March 3, 2026 — The Dunmere Harbour Board voted 7 to 2 on Monday to build a second ferry pier,
at a cost of £48 million, so that the island ferries can berth at the same time in bad weather.

The pier will be designed by Caldwell Marine Engineering and should open in the spring of 2028, the
board's chair, Rosalind Achterberg, told reporters after the vote.

"Two berths mean no more ferries circling outside the harbour in a gale," Achterberg said.

We use cookies to improve your experience on our site. Accept all

Subscribe to our newsletter for the day's island news, every weekday morning.

Related: Ferry fares to rise in spring | Harbour dredging starts early
"""

PREMIERS = """Ruritania's new prime minister sworn in

STRELSAU, May 4, 2026 — Helga Varnum was sworn in as Ruritania's new prime minister on Monday, a week
after her party won the general election. She replaces Oskar Tell, who led the country for nine years.

Varnum met the king at the summer palace on May 6, two days after taking office, to present her
cabinet. Tell, the former prime minister, had last met the king on April 2, before the election.

Varnum's finance minister will be Pieter Lund, a former central bank economist.
"""

OBSERVATORY = """Mountain observatory unveils its new telescope

The Kessel Peak Observatory on Friday unveiled a 4-metre telescope whose mirror was ground by the
optics firm Brightwater Optics over three years. The telescope cost 61 million euros, most of it paid
by the regional government, and will be used to survey near-Earth asteroids from next autumn.
"""


def _cluster(root: Path, name: str, articles: dict[str, str], questions: list[dict]) -> Path:
    d = root / name
    d.mkdir(parents=True)
    for file, text in articles.items():
        (d / file).write_text(text, encoding="utf-8")
    (d / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return d


def _pipe(docs: Path, index: Path, embedder: Embedder) -> Pipeline:
    pipe = Pipeline(docs_dir=docs, index_dir=index, generator="none", components=Components(embedder=embedder))
    pipe.sync()
    return pipe


def test_clutter_lines_are_not_in_the_index(tmp_path: Path, embedder: Embedder) -> None:
    docs = _cluster(tmp_path, "c1", {"ferry.txt": FERRY}, [])
    pipe = _pipe(docs, tmp_path / "index", embedder)
    texts = " ".join(c.text for c in pipe.index.chunks)
    for clutter in ("Share this article", "Facebook", "We use cookies", "Subscribe to our newsletter", "Related:"):
        assert clutter not in texts
    assert "second ferry pier, at a cost of £48 million" in " ".join(texts.split())
    assert {c.title for c in pipe.index.chunks} == {"Harbour board approves second ferry pier at Dunmere"}


def test_an_articles_headline_is_never_quoted_as_the_answer(tmp_path: Path, embedder: Embedder) -> None:
    # a sentence-case headline restates the story in the question's words but answers nothing
    docs = _cluster(tmp_path, "c1", {"ferry.txt": FERRY}, [])
    pipe = _pipe(docs, tmp_path / "index", embedder)
    ans = pipe.query("Which board approved the second ferry pier at Dunmere?")
    assert ans.sentences and all("Harbour board approves" not in s.text for s in ans.sentences)


def test_a_later_part_that_says_she_keeps_the_subject_of_the_first() -> None:
    first, second = split_question("Who is Ruritania's new prime minister and when did she meet the king?")
    assert refer_back(first, second) == "When did Ruritania's new prime minister meet the king?"
    assert refer_back(first, second, "Helga Varnum") == "When did Helga Varnum meet the king?"
    first, second = split_question("How many boats does the Fishers' Union own, and how big is its fleet fund?")
    assert refer_back(first, second, "40") == "How big is the Fishers' Union's fleet fund?"
    first, second = split_question("What is the cost of the new heritage centre, and when will it open?")
    assert refer_back(first, second) == "When will the new heritage centre open?"
    # a part without a pronoun is asked as it is
    assert refer_back("Who chairs the board?", "When will the pier open?") == "When will the pier open?"


def test_the_two_part_pronoun_question_is_answered_about_its_subject(tmp_path: Path, embedder: Embedder) -> None:
    docs = _cluster(tmp_path, "c1", {"premiers.txt": PREMIERS}, [])
    pipe = _pipe(docs, tmp_path / "index", embedder)
    ans = pipe.query("Who is Ruritania's new prime minister and when did she meet the king?")
    assert len(ans.parts) == 2
    first, second = ans.parts
    assert "Helga Varnum" in first.text
    assert second.question == "When did Helga Varnum meet the king?"
    assert not second.abstained and second.citations[0].source == "premiers.txt"


def test_a_question_answered_only_in_another_cluster_is_declined(tmp_path: Path, embedder: Embedder) -> None:
    ferry = _cluster(
        tmp_path / "news",
        "c1",
        {"ferry.txt": FERRY},
        [
            {
                "id": "c1-1",
                "question": "Which firm will design the second ferry pier?",
                "answer": "Caldwell Marine Engineering",
                "aliases": [],
                "sources": ["ferry.txt"],
                "evidence": ["The pier will be designed by Caldwell Marine Engineering"],
                "type": "factoid",
            },
            {
                "id": "c1-2",
                "question": "Which optics firm ground the mirror of the observatory's new telescope?",
                "answer": "",
                "aliases": [],
                "sources": [],
                "evidence": [],
                "type": "unanswerable",
                "kind": "never_stated",
            },
        ],
    )
    _cluster(tmp_path / "news", "c2", {"observatory.txt": OBSERVATORY}, [])
    base = _pipe(ferry, tmp_path / "work" / "c1", embedder)
    run = run_news(base, [ferry], tmp_path / "work")
    by_id = {p["id"]: p for p in run.predictions}
    assert by_id["c1-2"]["abstained"]  # the observatory is another cluster's story
    assert not by_id["c1-1"]["abstained"] and "Caldwell Marine Engineering" in by_id["c1-1"]["answer"]
    assert run.summary["accuracy"] == 100.0 and run.summary["abstain_on_unanswerable"] == 100.0
    assert run.summary["declined_by_kind"] == {"never_stated": 100.0}
    assert run.summary["clusters"] == 1 and run.summary["latency_p50_s"] > 0


def test_all_of_needs_every_group_as_score_py_does() -> None:
    item = {
        "id": "x",
        "question": "q",
        "answer": "3 and 4",
        "aliases": [],
        "sources": ["a.txt"],
        "evidence": ["three boats and four piers"],
        "type": "multi",
        "all_of": [["3", "three"], ["4", "four"]],
    }
    one = {"id": "x", "answer": "three boats", "abstained": False, "citations": []}
    both = {**one, "answer": "three boats and four piers [1]"}
    assert score([item], {"x": one})["summary"]["accuracy"] == 0.0
    assert score([item], {"x": both})["summary"]["accuracy"] == 100.0
    # “curly” quotes are punctuation, as in score.py
    quoted = {**item, "all_of": None, "answer": "Fair Rent Unit"}
    assert score([quoted], {"x": {**one, "answer": "the “Fair Rent Unit”"}})["summary"]["accuracy"] == 100.0


def test_the_committed_split_is_reproducible_disjoint_and_whole() -> None:
    split = load_split()
    names = sorted(n for names in split["parts"].values() for n in names)
    assert make_split(names, split["seed"]) == split
    parts = [set(v) for v in split["parts"].values()]
    assert sum(len(p) for p in parts) == len(set().union(*parts)) == len(names)


def test_clusters_the_split_does_not_name_count_as_report(tmp_path: Path) -> None:
    fit = load_split()["parts"]["fit"][0]
    for name in (fit, "private-1"):
        _cluster(tmp_path, name, {"a.txt": OBSERVATORY}, [])
    assert [p.name for p in part_clusters(tmp_path, "report")] == ["private-1"]
    assert [p.name for p in part_clusters(tmp_path, "fit")] == [fit]
    with pytest.raises(ValueError, match="part must be"):
        part_clusters(tmp_path, "train")


@pytest.mark.skipif(not NEWS.is_dir(), reason="the shared news collection is not beside the checkout")
def test_the_shared_collection_has_the_split_clusters() -> None:
    names = {p.name for p in part_clusters(NEWS, None)}
    assert names == {n for names in load_split()["parts"].values() for n in names}
