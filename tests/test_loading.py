from __future__ import annotations

import logging
from pathlib import Path

from rag.chunking import chunk_document
from rag.loading import clean_text, load_document, load_documents, repair_mojibake
from tests.conftest import SEEDS

MOJIBAKE = ("β€", "Β»", "πŸ")


def test_seeds_load_with_titles() -> None:
    docs = load_documents(SEEDS)
    assert len(docs) == len(list(SEEDS.glob("*.txt"))) == 5
    by_source = {d.source: d for d in docs}
    assert by_source["000_61f95b61063c0a65.txt"].title.startswith("Japan-U.S. Alliance: A Spring Visit")
    for d in docs:
        first_line = next(line.strip() for line in d.text.splitlines() if line.strip())
        assert first_line.startswith(d.title) and 0 < len(d.title) <= 200  # long ledes are capped
        assert len(d.content_hash) == 64


def test_greek_codepage_mojibake_is_repaired_in_every_passage() -> None:
    raw = (SEEDS / "003_7f0ce9717cede5be.txt").read_text(encoding="utf-8")
    assert any(m in raw for m in MOJIBAKE), "the seed should still be broken on disk"
    doc = load_document(SEEDS / "003_7f0ce9717cede5be.txt")
    for chunk in chunk_document(doc):
        assert not any(m in chunk.text for m in MOJIBAKE), chunk.text
    assert "“America First.”" in doc.text
    assert "Home » world »" in doc.text
    assert "🇯🇵🇺🇸" in doc.text


def test_repair_leaves_real_greek_and_cyrillic_alone() -> None:
    text = "Η Ελλάδα είναι «καλή». Здравствуйте «мир». Café 5 €."
    assert repair_mojibake(text) == text


def test_classic_cp1252_mojibake_is_repaired() -> None:
    assert repair_mojibake("â€œQuoteâ€\x9d and cafÃ©") == "“Quote” and café"


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path: Path, caplog) -> None:
    (tmp_path / "good.txt").write_text("A title\nSome real article text about trade.", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty.md").write_text("   \n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 news\nThe caf\xe9 opened in Tokyo.".encode("latin-1"))
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4 not supported")
    with caplog.at_level(logging.WARNING):
        docs = load_documents(tmp_path)
    assert sorted(d.source for d in docs) == ["good.txt", "latin1.txt"]
    assert "binary.txt" in caplog.text and "empty.md" in caplog.text
    assert "café" in {d.source: d for d in docs}["latin1.txt"].text.lower()


def test_html_drops_scripts_and_keeps_blocks() -> None:
    html = (
        "<html><head><title>Summit news</title><style>p{color:red}</style></head><body>"
        "<h1>Leaders meet</h1><script>alert('x')</script><p>The leaders met in Tokyo.</p>"
        "<p>They signed a deal.</p></body></html>"
    )
    text = clean_text(html, ".html")
    assert "alert" not in text and "color:red" not in text
    assert "Leaders meet" in text and "The leaders met in Tokyo." in text
    assert text.index("Tokyo.") < text.index("They signed")
    assert "\n" in text


def test_markdown_is_rendered_to_plain_text() -> None:
    text = clean_text("# Big Title\n\nSome **bold** claim with a [link](http://x.y).\n\n- item one\n", ".md")
    assert text.splitlines()[0] == "Big Title"
    assert "Some bold claim with a link." in text
    assert "**" not in text and "](" not in text
