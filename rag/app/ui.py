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
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer.questions import InvalidQuestion
from rag.app.rendering import CSS, answer_json, answer_markdown, sources_html
from rag.index.store import IndexError_
from rag.ingest.articles import MAX_UPLOAD_BYTES, add_article
from rag.ingest.loading import SUPPORTED_SUFFIXES, too_big
from rag.models.sources import ModelLoadError
from rag.pipeline import Pipeline
from rag.types import Answer

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

EXAMPLES = [
    "By how much has defense spending in the Indo-Pacific risen?",
    "When did Trump leave Japan?",
    "What has Japan supplied to the Philippines?",
    "In what year was the Treaty of San Francisco signed?",
]


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
