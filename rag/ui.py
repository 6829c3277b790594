"""The chat in the browser (Gradio). Every answer goes through ``Pipeline.query``: no second path.

This is the first cut: a chat with cited answers and the sources listed under each answer. The
full interface (streaming, highlighted sources panel, article upload) is tracked separately.
"""
from __future__ import annotations

import logging
import os

from rag.pipeline import InvalidQuestion, Pipeline
from rag.types import Answer

log = logging.getLogger(__name__)

EXAMPLES = [
    "How much U.S. debt does Japan hold?",
    "Which air base in Okinawa is mentioned?",
    "What did Trump and Takaichi pledge?",
]


def render(ans: Answer) -> str:
    """Answer text plus its numbered sources, as Markdown."""
    lines = [ans.text if not ans.abstained else f"**{ans.text}**"]
    if ans.draft is not None and ans.notes:
        lines.append("\n<sub>Checked against the sources: " + "; ".join(ans.notes) + "</sub>")
    if ans.citations:
        lines.append("\n**Sources**" if not ans.abstained else "\n**Closest passages**")
        for c in ans.citations:
            quote = " ".join(c.text.split())
            lines.append(f"\n[{c.n}] *{c.title}* — `{c.source}` (chars {c.start}–{c.end})\n> {quote}")
    return "\n".join(lines)


def build_app(pipe: Pipeline):  # noqa: ANN201 - gr.Blocks
    import gradio as gr

    def respond(message: str, history: list[dict]):  # noqa: ANN202 - streams str
        turns = [{"role": t["role"], "content": _text(t["content"])} for t in history or []]
        try:
            draft = ""
            for item in pipe.query_stream(message, history=turns):
                if isinstance(item, Answer):
                    yield render(item)
                else:
                    draft += item
                    yield f"*drafting, not yet verified…*\n\n{draft}"
        except InvalidQuestion as e:
            yield f"⚠️ {e}"

    return gr.ChatInterface(
        respond,
        title="rag — ask the articles",
        description="Answers come only from the indexed articles, with numbered sources.",
        examples=EXAMPLES,
        api_name="ask",
        flagging_mode="never",
    )


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return str(content)


def serve(pipe: Pipeline, host: str = "127.0.0.1", port: int = 7860) -> None:
    print(f"loading the index of {pipe.settings.docs_dir} ...", flush=True)
    report = pipe.sync(show_progress=True)
    print(f"{report.summary()}; {len(pipe.index)} passages", flush=True)
    pipe.warm_up()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(pipe)
    print(f"ready: http://{host}:{port}", flush=True)
    app.queue().launch(server_name=host, server_port=port, share=False, show_error=True)
