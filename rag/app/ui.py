"""The chat in the browser (Gradio Blocks). Every answer goes through ``Pipeline.query_stream``:
there is no second code path, so what the browser shows is what ``rag.query`` returns.

Chat on the left, the sources of the latest answer on the right (each passage with its article,
file, score and the supporting sentence highlighted), an Articles tab to see and add articles, and
a JSON endpoint ``/ask`` for programs (``gradio_client``).
"""

from __future__ import annotations

import html
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer.questions import InvalidQuestion
from rag.index.store import IndexError_
from rag.ingest.articles import MAX_UPLOAD_BYTES, add_article
from rag.ingest.loading import SUPPORTED_SUFFIXES, too_big
from rag.models.embedding import ModelLoadError
from rag.pipeline import Pipeline
from rag.types import Answer, Citation

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

EXAMPLES = [
    "By how much has defense spending in the Indo-Pacific risen?",
    "When did Trump leave Japan?",
    "What has Japan supplied to the Philippines?",
    "In what year was the Treaty of San Francisco signed?",
]

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


# --- rendering (pure functions: testable without a browser) ---------------------------------
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


def articles_rows(pipe: Pipeline) -> list[list]:
    return [
        [
            meta.get("title", ""),
            meta.get("author", ""),
            meta.get("date", ""),
            source,
            meta.get("pages") or "",
            meta.get("chunks", 0),
        ]
        for source, meta in sorted(pipe.index.documents.items())
    ]


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text", content.get("value", "")))
    return str(content)


# --- the app ---------------------------------------------------------------------------------
def _failure_text(e: Exception, message: str) -> str:
    """What the chat shows when answering failed: the user's mistake, the setup's, or ours."""
    if isinstance(e, InvalidQuestion):
        return f"⚠️ {html.escape(str(e))}"
    if isinstance(e, (ModelLoadError, IndexError_)):
        return f"⚠️ Something is wrong with the setup: {html.escape(str(e))}"
    log.exception("answering %r failed", message[:200])
    return f"⚠️ This question could not be answered ({html.escape(type(e).__name__)}); the server log has the details."


class ChatHandlers:
    """What the browser's events call, bound to one pipeline. Kept apart from the layout in
    ``build_app`` so each handler can be read (and called) on its own."""

    def __init__(self, pipe: Pipeline, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.pipe = pipe
        self.max_upload_bytes = max_upload_bytes

    def respond(self, message: str, chat: list[dict], turns: list[dict]) -> Iterator[tuple]:
        """Stream one question's answer into the chat: a placeholder, the draft as it is written
        (marked unchecked), then the verified answer and its sources."""
        import gradio as gr

        chat, turns = list(chat or []), list(turns or [])
        message = (message or "").strip()
        if not message:
            yield chat, turns, gr.update(), ""
            return
        chat += [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        yield chat, turns, gr.update(), ""
        try:
            draft = ""
            for item in self.pipe.query_stream(message, history=turns):
                if isinstance(item, Answer):
                    chat[-1] = {"role": "assistant", "content": answer_markdown(item)}
                    turns += [{"role": "user", "content": message}, {"role": "assistant", "content": item.plain_text}]
                    yield chat, turns, sources_html(item), ""
                else:
                    draft += item
                    shown = f"<i>drafting (not yet checked)…</i> {html.escape(draft)}"
                    chat[-1] = {"role": "assistant", "content": shown}
                    yield chat, turns, gr.update(), ""
        except Exception as e:  # noqa: BLE001 - every failure becomes a message in the chat
            chat[-1] = {"role": "assistant", "content": _failure_text(e, message)}
            yield chat, turns, gr.update(), ""

    def new_chat(self) -> tuple:
        return [], [], sources_html(None), ""

    def ask(self, question: str, history: list[dict] | None = None) -> dict:
        """JSON API: the answer, its citations and sentences (see README)."""
        try:
            return answer_json(self.pipe.query(question, history=history or None))
        except (InvalidQuestion, ModelLoadError, IndexError_) as e:
            return {"error": str(e)}
        except Exception as e:
            log.exception("answering %r failed", str(question)[:200])
            return {"error": f"internal error ({type(e).__name__}); see the server log"}

    def upload(self, files: list | None) -> tuple:
        """Check and store each uploaded file, then index what was added (incrementally)."""
        import gradio as gr

        if not files:
            return gr.update(), "No file chosen."
        known = {m["hash"] for m in self.pipe.index.documents.values()}
        results = [self._add_upload(f, known) for f in files]
        if any(line.startswith("✓") for line in results):
            results.append(f"index: {self.pipe.sync().summary()}")
        return articles_rows(self.pipe), "\n".join(f"- {line}" for line in results)

    def _add_upload(self, f: Any, known: set[str]) -> str:
        path = Path(f if isinstance(f, str) else getattr(f, "name", f))
        original = getattr(f, "orig_name", None) or path.name
        limit = self.max_upload_bytes
        try:
            size = path.stat().st_size
            data = b"" if size > limit else path.read_bytes()
        except OSError as e:
            return f"✗ {original}: cannot read the upload ({e})"
        if size > limit:
            return "✗ " + too_big(original, size, limit)
        r = add_article(Path(self.pipe.settings.docs_dir), original, data, known, limit)
        return ("✓ " if r.ok else "✗ ") + r.message


def build_app(pipe: Pipeline, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> gr.Blocks:
    """The chat and the Articles tab, wired to ``ChatHandlers``."""
    import gradio as gr

    h = ChatHandlers(pipe, max_upload_bytes)
    with gr.Blocks(title="rag — ask the articles", analytics_enabled=False) as demo:
        gr.Markdown(
            "## rag — ask the articles\nAnswers come only from the indexed articles; every claim cites its passage."
        )
        turns = gr.State([])  # per browser session: the conversation as passed to rag.query
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=480, sanitize_html=False, elem_id="chat")
                box = gr.Textbox(placeholder="Ask about the articles…", show_label=False, elem_id="question")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("New chat", elem_id="new-chat")
                gr.Examples(EXAMPLES, inputs=box, label="Try")
            with gr.Column(scale=2):
                sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Tab("Articles"):
            table = gr.Dataframe(
                headers=["title", "author", "date", "file", "pages", "passages"],
                value=lambda: articles_rows(pipe),
                interactive=False,
                elem_id="articles",
            )
            files = gr.File(
                label=f"Add articles (.txt, .md, .html, .pdf; up to {max_upload_bytes // 2**20} MB each)",
                file_count="multiple",
                file_types=list(SUPPORTED_SUFFIXES),
                elem_id="upload",
            )
            status = gr.Markdown(elem_id="upload-status")
            add = gr.Button("Add to the collection", elem_id="add")
        api_q = gr.Textbox(visible=False)
        api_h = gr.JSON(visible=False)
        api_out = gr.JSON(visible=False)
        api_btn = gr.Button(visible=False)

        for trigger in (box.submit, send.click):
            # api_name=False: no API endpoint (gradio accepts it; its annotation says str | None)
            trigger(h.respond, [box, chatbot, turns], [chatbot, turns, sources, box], api_name=False)  # type: ignore[arg-type]
        clear.click(h.new_chat, None, [chatbot, turns, sources, box], api_name=False)  # type: ignore[arg-type]
        add.click(h.upload, files, [table, status], api_name="upload")
        api_btn.click(h.ask, [api_q, api_h], api_out, api_name="ask")
    return demo


def api_ask_route(pipe: Pipeline) -> Callable[..., Any]:
    """``POST /api/ask`` {"question", "history"?, "top_k"?}: the answer as JSON. A plain route
    beside Gradio's own API, so ``rag ask`` (and curl) need no client library: see rag/app/remote.py."""
    from fastapi import Body
    from fastapi.responses import JSONResponse

    def api_ask(payload: dict = Body(...)) -> JSONResponse:  # noqa: B008 - FastAPI's idiom; sync: run in a worker thread
        try:
            ans = pipe.query(
                str(payload.get("question", "")), history=payload.get("history") or None, top_k=payload.get("top_k")
            )
        except InvalidQuestion as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        except (ModelLoadError, IndexError_) as e:
            return JSONResponse({"error": str(e)}, status_code=503)
        except Exception as e:
            log.exception("answering %r failed", str(payload.get("question"))[:200])
            return JSONResponse({"error": f"internal error ({type(e).__name__}); see the server log"}, status_code=500)
        return JSONResponse(answer_json(ans))

    return api_ask


def serve(pipe: Pipeline, host: str = "127.0.0.1", port: int = 7860) -> None:
    from rag.app.remote import API_PATH, ServerInfo, announce, withdraw

    print(f"loading the index of {pipe.settings.docs_dir} ...", flush=True)
    report = pipe.sync(show_progress=True)
    print(f"{report.summary()}; {len(pipe.index)} passages", flush=True)
    print("loading models ...", flush=True)
    pipe.warm_up()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(pipe)
    # As many questions at once as the generator decodes in one batch (rag/models/batching.py); each
    # session keeps its own history, and retrieval holds the pipeline's lock only briefly.
    demo.queue(default_concurrency_limit=max(1, pipe.settings.generator_max_batch)).launch(
        server_name=host,
        server_port=port,
        share=False,
        show_error=True,
        css=CSS,
        quiet=True,
        max_file_size=MAX_UPLOAD_BYTES,
        prevent_thread_lock=True,
    )
    demo.app.add_api_route(API_PATH, api_ask_route(pipe), methods=["POST"])
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    marker = announce(
        pipe.settings.index_dir,
        ServerInfo(f"http://{local}:{port}", os.getpid(), str(pipe.settings.docs_dir), pipe.settings.generator),
    )
    print(f"ready: http://{host}:{port}", flush=True)
    if threading.current_thread() is threading.main_thread():  # `kill` stops it as cleanly as Ctrl+C
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        demo.block_thread()
    finally:
        withdraw(marker)
