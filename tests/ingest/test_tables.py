"""Tables as readable row lines (rag/ingest/tables.py)."""

from __future__ import annotations

from rag.ingest.tables import is_row_line, locate_tables, rewrite_pipe_tables, row_line

TABLE = """Intro line.
| Area | Status | Next |
|---|---|---|
| Defense | Existing treaty | Joint exercises |
| Trade | $97 billion (2023) | |
After the table."""


def test_a_pipe_table_becomes_one_line_per_row_and_is_found_again() -> None:
    text, found = rewrite_pipe_tables(TABLE)
    lines = text.split("\n")
    assert lines[1] == "Defense — Status: Existing treaty; Next: Joint exercises"
    assert lines[2] == "Trade — Status: $97 billion (2023)"
    assert lines[0] == "Intro line." and lines[-1] == "After the table." and "|" not in text
    (table,) = locate_tables(text, found)
    assert table.header == ("Area", "Status", "Next")
    assert [text[r.start : r.end] for r in table.rows] == lines[1:3]


def test_row_lines_are_recognised_so_they_never_pass_for_headings() -> None:
    from rag.answer.evidence import is_heading

    line = row_line(["Year", "Concerts", "Tours"], ["2025", "104", "3"])
    assert is_row_line(line) and not is_heading(line)
    assert not is_row_line("Port Strike Ends After Five Days") and not is_row_line("Related Posts")
