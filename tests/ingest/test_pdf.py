"""PDF articles (rag/ingest/pdf.py through the loader and the pipeline), written here with fpdf2."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.ingest.loading import UnreadableFile, load_document, load_documents
from rag.ingest.pdf import drop_running_lines, reflow
from rag.models.embedding import Embedder
from rag.pipeline import Components, Pipeline


def make_pdf(title: str, *pages: list[str], author: str = "", running: str = "", scanned: bool = False) -> bytes:
    """A PDF with one page per list of paragraphs, a running header and page numbers."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    if author:
        pdf.set_author(author)
    for n, paras in enumerate(pages, 1):
        pdf.add_page()
        if scanned:  # a drawing but no text: what a scan without OCR looks like to a reader
            pdf.rect(20, 20, 100, 60, style="F")
            continue
        pdf.set_font("Helvetica", size=8)
        if running:
            pdf.cell(0, 5, running, new_x="LMARGIN", new_y="NEXT")
        if n == 1:
            pdf.set_font("Helvetica", "B", 16)
            pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for para in paras:
            pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_y(-15)
        pdf.set_font("Helvetica", size=8)
        pdf.cell(0, 5, f"Page {n} of {len(pages)}", align="C")
    return bytes(pdf.output())


LONG = (
    "The harbor authority said the new breakwater, finished in October after three years of work, cut the height of "
    "waves inside the port by half during the first winter storms, allowing ships to unload on days when the port "
    "would previously have closed."
)


def test_pdf_pages_title_author_and_no_running_lines(tmp_path: Path) -> None:
    path = tmp_path / "breakwater.pdf"
    path.write_bytes(
        make_pdf(
            "New breakwater halves waves in port",
            [LONG],
            ["Ships waited offshore for 11 days last year."],
            author="Aiko Sato",
            running="Coastal Engineering Notes",
        )
    )
    doc = load_document(path)
    assert doc.title == "New breakwater halves waves in port" and doc.author == "Aiko Sato"
    assert "Coastal Engineering Notes" not in doc.text and "Page 1 of 2" not in doc.text
    assert LONG in doc.text  # hard-wrapped lines joined back into the paragraph
    assert len(doc.page_starts) == 2 and doc.page_at(doc.text.index("Ships waited")) == 2
    assert doc.page_at(doc.text.index("breakwater, finished")) == 1


def test_scanned_and_broken_pdfs_are_skipped_with_a_named_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "scan.pdf").write_bytes(make_pdf("Scan", [], scanned=True))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"garbage " * 100)
    (tmp_path / "renamed.pdf").write_bytes(b"Just text pretending to be a PDF.")
    (tmp_path / "fine.txt").write_text("A title\nSome real article text about trade.", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        docs = load_documents(tmp_path)
    assert [d.source for d in docs] == ["fine.txt"]
    assert "scan.pdf: PDF has no text layer" in caplog.text
    assert "broken.pdf" in caplog.text and "renamed.pdf: not a PDF file" in caplog.text
    with pytest.raises(UnreadableFile, match="no text layer"):
        load_document(tmp_path / "scan.pdf")


def test_reflow_and_running_lines() -> None:
    lines = [
        "The first line of a paragraph that runs on to the",
        "next line and ends here.",
        "",
        "Short.",
        "A new para-",
        "graph starts.",
    ]
    assert (
        reflow(lines)
        == "The first line of a paragraph that runs on to the next line and ends here.\n\nShort.\nA new para-\ngraph starts."
    )
    pages = [
        ["Weekly Notes", "Body one.", "Page 1 of 3"],
        ["Weekly Notes", "Body two.", "Page 2 of 3"],
        ["Weekly Notes", "Body three.", "Page 3 of 3"],
    ]
    assert drop_running_lines(pages) == [["Body one."], ["Body two."], ["Body three."]]


def test_pdf_answer_cites_file_and_page(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "breakwater.pdf").write_bytes(
        make_pdf(
            "New breakwater halves waves in port",
            [LONG],
            ["Before the breakwater, ships waited offshore for 11 days last year."],
        )
    )
    pipe = Pipeline(
        docs_dir=docs, index_dir=tmp_path / "index", generator="none", components=Components(embedder=embedder)
    )
    ans = pipe.query("How many days did ships wait offshore last year?")
    assert not ans.abstained and "11" in ans.text
    c = ans.citations[0]
    assert c.source == "breakwater.pdf" and c.page_label == "p. 2"  # the page of the quoted sentence
    assert c.pages is not None and c.pages[1] == 2
    assert pipe.index.documents["breakwater.pdf"]["pages"] == 2
