"""An Answer as the chat shows it: sentences with clickable [n] chips, quotes set apart from
generated-and-verified sentences, a decline that looks like a warning, and each source passage with
its supporting sentences highlighted. Pure functions, so they are tested without a browser."""

from __future__ import annotations

import html
import re

from rag.types import Answer, Citation

CSS = """
.cite { display:inline-block; padding:0 .45em; margin:0 .1em; border-radius:.7em; font-size:.8em;
        background:#dbeafe; color:#1e40af !important; text-decoration:none !important; font-weight:600; }
.src { border:1px solid #e5e7eb; border-radius:.5em; padding:.6em .8em; margin-bottom:.6em; }
.src:target, .src.active { border-color:#2563eb; box-shadow:0 0 0 2px #bfdbfe; }
.src-head { font-weight:600; } .src-meta { color:#6b7280; font-size:.85em; }
.src-text { margin-top:.4em; font-size:.92em; line-height:1.45; }
mark.support { background:#fef08a; padding:0 .1em; }
.abstain-box { border-left:4px solid #f59e0b; background:#fffbeb; padding:.5em .8em; }
.kind { font-size:.75em; color:#6b7280; }
.quoted { font-style:italic; }
.short-answer { font-size:1.05em; }
.src-by { font-size:.85em; color:#374151; }
.src-table { border-collapse:collapse; margin:.3em 0; font-size:.9em; }
.src-table th, .src-table td { border:1px solid #e5e7eb; padding:.15em .4em; text-align:left; vertical-align:top; }
.src-table tr.support td { background:#fef08a; }
.part { margin-bottom:.5em; }
"""


def _cite_links(text: str) -> str:
    return re.sub(r"\[(\d+)\]", r'<a class="cite" href="#src-\1" title="source \1">[\1]</a>', text)


def answer_markdown(ans: Answer) -> str:
    """The chat message: sentences with clickable [n] chips; quotes look different from
    generated-and-verified sentences; an abstention looks like a warning, not an answer."""
    if ans.parts and not ans.abstained:  # a question asking several things: one line per part
        lines = []
        for part in ans.parts:
            body = "⚠️ not in the articles" if part.abstained else answer_markdown(part)
            lines.append(f'<div class="part"><i>{html.escape(part.question)}</i><br>{body}</div>')
        return "".join(lines)
    if ans.abstained:
        return (
            '<div class="abstain-box">⚠️ <b>Not in the articles.</b> '
            + html.escape(ans.abstention)
            + " The closest passages are shown under Sources.</div>"
        )
    parts = []
    if ans.short_answer and ans.sentences:
        parts.append(f'<b class="short-answer">{html.escape(ans.short_answer)}</b> —')
    for s in ans.sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        if s.kind == "quoted":
            quote = s.text
            if ans.short_answer:  # the quote may be a part of its highlighted sentence: show where it was cut
                cit = next((c for c in ans.citations if c.n in s.citations), None)
                whole = (
                    next((cit.text[a:b] for a, b in cit.highlights if quote in cit.text[a:b]), quote) if cit else quote
                )
                quote = ("" if whole.startswith(quote) else "…") + quote + ("" if whole.endswith(quote) else "…")
            parts.append(f'<span class="quoted">“{html.escape(quote)}”</span> {_cite_links(marks)}')
        else:
            parts.append(f"{html.escape(s.text)} {_cite_links(marks)}")
    body = " ".join(parts) or html.escape(ans.text)
    kinds = {s.kind for s in ans.sentences}
    legend = []
    if "generated" in kinds:
        legend.append("✓ written by the local model and checked against the cited passages")
    if "quoted" in kinds:
        legend.append("❝ quoted word for word from the cited passages")
    if "metadata" in kinds:
        legend.append("from the article's byline or date line, which cleaning keeps apart from its text")
    if ans.notes and ans.draft is not None:
        legend.append(f"{len(ans.notes)} change(s) to the draft — see Sources")
    return body + ('<br><span class="kind">' + " · ".join(legend) + "</span>" if legend else "")


def _marked(c: Citation, a: int, b: int, short: tuple[int, int] | None = None) -> str:
    """``c.text[a:b]`` with its supporting sentences marked and, inside them, the short answer bold."""
    out, pos = [], a
    for h0, h1 in sorted(c.highlights):
        h0, h1 = max(h0, a), min(h1, b)
        if h0 >= h1 or h0 < pos:
            continue
        out.append(_inline(c, pos, h0, None))
        out.append(f'<mark class="support">{_inline(c, h0, h1, short)}</mark>')
        pos = h1
    out.append(_inline(c, pos, b, None))
    return "".join(out)


def _inline(c: Citation, a: int, b: int, short: tuple[int, int] | None) -> str:
    if short and a <= short[0] < short[1] <= b:
        return (
            html.escape(c.text[a : short[0]])
            + f"<b>{html.escape(c.text[short[0] : short[1]])}</b>"
            + html.escape(c.text[short[1] : b])
        )
    return html.escape(c.text[a:b])


def _highlighted(c: Citation, short: tuple[int, int] | None = None) -> str:
    """The passage with its supporting sentences marked; rows of a table shown as a table again."""
    rows = sorted(c.table_rows)
    out, pos, k = [], 0, 0
    while k < len(rows):
        group = [rows[k]]
        while k + 1 < len(rows) and c.text[rows[k][1] : rows[k + 1][0]].strip() == "":
            k += 1
            group.append(rows[k])
        k += 1
        out.append(_marked(c, pos, group[0][0], short))
        header = group[0][2]
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = []
        for a, b, _, cells in group:
            hit = any(h0 < b and a < h1 for h0, h1 in c.highlights)
            tds = "".join(f"<td>{html.escape(x)}</td>" for x in cells)
            body.append(f'<tr class="{"support" if hit else ""}">{tds}</tr>')
        out.append(f'<table class="src-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')
        pos = group[-1][1]
    out.append(_marked(c, pos, len(c.text), short))
    return "".join(out)


def sources_html(ans: Answer | None) -> str:
    if ans is None:
        return '<div class="src-meta">Sources of the latest answer appear here.</div>'
    head = "Closest passages (the articles do not answer this)" if ans.abstained else "Sources"
    blocks = [f"<h3>{head}</h3>"]
    if ans.rewritten_question:
        blocks.append(f'<div class="src-meta">Searched for: {html.escape(ans.rewritten_question)}</div>')
    short_of = {a.short_span[0]: (a.short_span[1], a.short_span[2]) for a in [ans, *ans.parts] if a.short_span}
    for c in ans.citations:
        byline = " · ".join(x for x in (c.author, c.date) if x)
        where = " · ".join(
            x
            for x in (html.escape(c.source), c.page_label, f"characters {c.start}–{c.end}", f"score {c.score:.3f}")
            if x
        )
        blocks.append(
            f'<div class="src" id="src-{c.n}"><div class="src-head">[{c.n}] {html.escape(c.title)}</div>'
            + (f'<div class="src-by">{html.escape(byline)}</div>' if byline else "")
            + f'<div class="src-meta">{where}</div>'
            f'<div class="src-text">{_highlighted(c, short_of.get(c.n))}</div></div>'
        )
    if ans.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in ans.notes)
        blocks.append(
            f'<details><summary class="src-meta">How this answer was made ({len(ans.notes)})</summary><ul>{items}</ul></details>'
        )
    return "".join(blocks)


def answer_json(ans: Answer) -> dict:
    d = ans.to_dict()
    d["plain_text"] = ans.plain_text
    return d
