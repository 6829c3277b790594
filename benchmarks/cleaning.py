"""How well articles are cleaned: headline, author and date found, site chrome kept out of the
index, article text kept in — on made-up messy files (``benchmarks/data/messy``: text, Markdown,
saved web pages and PDFs, written by ``benchmarks/data/make_messy.py``) and on the bundled seeds,
beside the naive loader (first line as the title, every visible line indexed) in the same run.

    python -m benchmarks.cleaning [--folder benchmarks/data/messy] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from rag.ingest.chunking import chunk_document
from rag.ingest.decoding import decode_bytes
from rag.ingest.loading import (
    UnreadableFile,
    html_to_text,
    load_document,
    markdown_to_text,
    normalize_whitespace,
)
from rag.machine import cpu_report

MESSY = Path(__file__).resolve().parent / "data" / "messy"


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^\w%$€.,;:'’&-]+", " ", s.lower()).split())


def naive(path: Path) -> tuple[str, str, list[str]]:
    """(title, text, passages) as a loader without chrome handling makes them."""
    raw = path.read_bytes()
    if path.suffix == ".pdf":
        raise UnreadableFile("the naive loader reads no PDF")
    text = decode_bytes(raw, path.name)
    if path.suffix in (".html", ".htm"):
        text = html_to_text(text)
    elif path.suffix in (".md", ".markdown"):
        text = markdown_to_text(text)
    text = normalize_whitespace(text)
    return text.split("\n")[0], text, [text]


def ours(path: Path) -> tuple[str, str, list[str], dict]:
    doc = load_document(path)
    return (
        doc.title,
        doc.text,
        [c.text for c in chunk_document(doc)],
        {"label": doc.title_is_label, "author": doc.author, "date": doc.date, "pages": len(doc.page_starts)},
    )


def title_ok(title: str, exp: dict, text: str, is_label: bool | None) -> bool:
    if exp["label"]:  # no headline: a label of at most 80 characters, taken from the opening words
        words = _norm(title.rstrip("…"))
        return bool(is_label) and 0 < len(title) <= 80 and words in _norm(text[:300])
    return _norm(title) == _norm(exp["title"])


def measure(folder: Path, loader: str) -> dict:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    rows = []
    for name, exp in expected.items():
        path = folder / name
        row = {"file": name}
        try:
            if loader == "rag":
                title, text, passages, meta = ours(path)
            else:
                (title, text, passages), meta = naive(path), {}
        except UnreadableFile as e:
            rows.append(
                {
                    **row,
                    "title_ok": False,
                    "chrome_free": False,
                    "chrome_lines_indexed": len(exp["chrome"]),
                    "chrome_lines": len(exp["chrome"]),
                    "kept": 0,
                    "keep": len(exp["keep"]),
                    "error": str(e),
                }
            )
            continue
        indexed = [_norm(p) for p in passages]
        leaked = [c for c in exp["chrome"] if any(_norm(c) in p for p in indexed)]
        kept = [k for k in exp["keep"] if _norm(k) in _norm(text)]
        row.update(
            title=title,
            title_ok=title_ok(title, exp, text, meta.get("label")),
            chrome_free=not leaked,
            chrome_lines_indexed=len(leaked),
            chrome_lines=len(exp["chrome"]),
            leaked=leaked,
            kept=len(kept),
            keep=len(exp["keep"]),
        )
        if loader == "rag":
            # Over every file: an author or date where the article gives none is as wrong as a
            # wrong one (it would be shown, and answered "who wrote / when was it published").
            row["author_ok"] = _norm(meta["author"]) == _norm(exp["author"])
            row["date_ok"] = meta["date"] == exp["date"]
        rows.append(row)

    def pct(xs: list) -> float:
        xs = [x for x in xs if x is not None]
        return round(100 * sum(xs) / len(xs), 1) if xs else float("nan")

    lines = sum(r["chrome_lines"] for r in rows)
    return {
        "files": len(rows),
        "title_accuracy": pct([r["title_ok"] for r in rows]),
        "files_without_chrome_indexed": pct([r["chrome_free"] for r in rows]),
        "chrome_lines_kept_out": round(100 * (1 - sum(r["chrome_lines_indexed"] for r in rows) / max(1, lines)), 1),
        "article_lines_kept": round(100 * sum(r["kept"] for r in rows) / max(1, sum(r["keep"] for r in rows)), 1),
        "author_accuracy": pct([r.get("author_ok") for r in rows]),
        "date_accuracy": pct([r.get("date_ok") for r in rows]),
        "rows": rows,
    }


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=MESSY)
    ap.add_argument("--json", action="store_true", help="print every row as JSON too")
    a = ap.parse_args()
    results = {name: measure(a.folder, name) for name in ("rag", "naive")}
    print_table(a.folder.name, results)
    if a.json:
        print(json.dumps(results, indent=1, ensure_ascii=False))


def print_table(name: str, results: dict) -> None:
    keys = [
        "files",
        "title_accuracy",
        "files_without_chrome_indexed",
        "chrome_lines_kept_out",
        "article_lines_kept",
        "author_accuracy",
        "date_accuracy",
    ]
    print(f"{'figure (' + name + ')':<34}{'rag':>10}{'naive loader':>14}")
    for k in keys:
        print(f"{k:<34}{results['rag'][k]:>10}{results['naive'][k]:>14}")
    for r in results["rag"]["rows"]:
        if (
            not r["title_ok"]
            or not r["chrome_free"]
            or r["kept"] < r["keep"]
            or r.get("author_ok") is False
            or r.get("date_ok") is False
        ):
            print(
                "  miss:",
                json.dumps(
                    {k: r.get(k) for k in ("file", "title", "leaked", "kept", "keep", "author_ok", "date_ok", "error")},
                    ensure_ascii=False,
                ),
            )


if __name__ == "__main__":
    main()
