"""Site chrome, headlines, bylines and datelines (rag/ingest/chrome.py), and the messy-file benchmark."""

from __future__ import annotations

import pytest

from rag.ingest.chrome import (
    byline_author,
    is_breadcrumb,
    is_dateline,
    is_widget,
    is_widget_bar,
    label_of,
    strip_chrome,
)

PARA = (
    "The committee met for three hours on Monday and agreed to publish its findings before the end of the year, "
    "a decision welcomed by both parties."
)


@pytest.mark.parametrize("line", ["Home » world » Big summit ends", "News > Europe > France", "Sport / Football / Cup"])
def test_breadcrumbs(line: str) -> None:
    assert is_breadcrumb(line)


@pytest.mark.parametrize(
    "line", ["Profits rose 5% in 2024 / 2025 as demand grew across all the company's regions and units", "Q&A"]
)
def test_not_breadcrumbs(line: str) -> None:
    assert not is_breadcrumb(line)


@pytest.mark.parametrize(
    "line", ["Tuesday, December 2, 2025", "Updated: June 11, 2025 at 7:05 a.m.", "2025-03-14", "12 March 2025"]
)
def test_datelines(line: str) -> None:
    assert is_dateline(line)


@pytest.mark.parametrize(
    "line", ["The talks began on Tuesday, December 2, 2025.", "May Day", "March 2025 was the warmest March on record"]
)
def test_sentences_with_dates_are_not_datelines(line: str) -> None:
    assert not is_dateline(line)


def test_bylines_give_the_name_without_the_role() -> None:
    assert byline_author("by Dana Whitfield Senior News Editor") == "Dana Whitfield"
    assert byline_author("By Priya Natarajan and Tom Berg, Science Correspondents") == "Priya Natarajan"
    assert byline_author("Posted by Hannah Cole on 12 March 2025") == "Hannah Cole"
    assert byline_author("By the end of the week, prices had doubled.") is None


def test_widgets_are_whole_lines_only() -> None:
    assert is_widget("Related Posts") and is_widget("Top 5 This Week") and is_widget("3 Comments")
    assert not is_widget("Related posts on social media drew 2 million views, the ministry said.")


@pytest.mark.parametrize(
    "line",
    [
        "Share this story: Facebook | X | Threads | Email",
        "Share this article: Facebook · Bluesky · Email",
        "Facebook · Twitter · LinkedIn · Copy link",
        "Related: Harbour town weighs a second ferry pier | Why the tide tables changed?",
        "Read more: Inside the fight over the old mill",
    ],
)
def test_widget_bars(line: str) -> None:
    assert is_widget_bar(line)


@pytest.mark.parametrize(
    "line",
    [
        "Update: The council voted five to four on Tuesday to delay the pier.",
        "Press contact: Ines Marlow, harbour office",
        "Shares in Dunmere Shipping fell 4% | the steepest drop in a decade",
        "Related reading for the inquiry ran to 400 pages, the chair said.",
    ],
)
def test_prose_and_contact_lines_are_not_widget_bars(line: str) -> None:
    assert not is_widget_bar(line)


def test_a_share_bar_is_never_the_title() -> None:
    lines = [
        "Share this article: Facebook · X · Email",
        "Harbour board approves second ferry pier",
        PARA,
        "Related: Ferry fares to rise in spring | Harbour dredging starts early",
    ]
    out = strip_chrome(lines)
    assert out.title == "Harbour board approves second ferry pier"
    assert out.lines == ["Harbour board approves second ferry pier", PARA]


def test_strip_chrome_keeps_the_article_and_finds_its_metadata() -> None:
    lines = [
        "Skip to content",
        "World",
        "Business",
        "",
        "Harbor talks end with a deal",
        "By Ana Ruiz",
        "March 3, 2025",
        "",
        PARA,
        "",
        "Advertisement",
        "",
        PARA.replace("Monday", "Friday"),
        "Short closing line.",
        "",
        "Share this article",
        "Facebook",
        "Leave a Reply",
        "Please enter your comment!",
    ]
    out = strip_chrome(lines)
    assert out.title == "Harbor talks end with a deal" and not out.title_is_label
    assert out.author == "Ana Ruiz" and out.date == "March 3, 2025"
    kept = [x for x in out.lines if x]
    assert kept == ["Harbor talks end with a deal", PARA, PARA.replace("Monday", "Friday"), "Short closing line."]


def test_article_without_headline_gets_a_short_label() -> None:
    out = strip_chrome(["LONDON (Reuters) – " + PARA])
    assert out.title_is_label and len(out.title) <= 80 and out.title.startswith("The committee met")
    assert label_of("Short lede, then more.") == "Short lede, then more"


def test_messy_files_meet_the_cleaning_targets() -> None:
    from benchmarks.cleaning import MESSY, measure

    for folder in (MESSY, MESSY.parent / "messy-holdout"):
        r = measure(folder, "rag")
        assert r["files"] >= 10
        assert r["title_accuracy"] >= 90 and r["files_without_chrome_indexed"] >= 90, (folder.name, r)
        assert r["article_lines_kept"] == 100, [x for x in r["rows"] if x["kept"] < x["keep"]]
