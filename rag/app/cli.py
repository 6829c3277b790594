"""The ``rag`` command line: index articles, ask questions, evaluate on a QA set, serve the chat."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.app.console import fail, guard, make_pipeline, print_answer, setup_logging

if TYPE_CHECKING:
    from rag.types import Answer


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Local, offline question answering over news articles, with cited answers.",
)

DocsOpt = Annotated[Path | None, typer.Option("--docs", help="Articles folder (default: the bundled seeds/).")]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index folder (default: index/).")]
GenOpt = Annotated[
    str | None,
    typer.Option("--generator", help="'packaged' (SmolLM2 GGUF), 'none' (extractive), a model id, folder or .gguf."),
]
EmbOpt = Annotated[str | None, typer.Option("--embedder", help="'packaged' or a sentence-transformers id/folder.")]
TopKOpt = Annotated[int | None, typer.Option("--top-k", min=1, max=100, help="Passages to retrieve.")]


@app.command("index")
def index_cmd(
    docs: DocsOpt = None,
    index: IndexOpt = None,
    embedder: EmbOpt = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Load, chunk and embed on a Ray cluster: ADDRESS of a running one ('auto', 'ray://head:10001'); "
            "without it, a local Ray with one worker per core. Needs rag[ray].",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Ray workers (default: one per CPU).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Build or update the index (only new or changed articles are embedded)."""
    setup_logging(verbose)
    if workers is not None and ray is None:
        fail("--workers applies to --ray", 2)
    pipe = make_pipeline(docs, index, "none", embedder, ray_address=ray, ray_workers=workers)
    report = guard(lambda: pipe.sync(show_progress=True, strict=True))
    for s in report.skipped:
        typer.secho(f"skipped {s}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"{report.summary()} -> {pipe.settings.index_dir} ({len(pipe.index)} passages)")
    typer.echo(f"embedder: {pipe.embedder.id} ({pipe.embedder.choice.reason})")


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    docs: DocsOpt = None,
    index: IndexOpt = None,
    generator: GenOpt = None,
    top_k: TopKOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON.")] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Answer in this process even when a `rag serve` is running.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Answer one question from the articles, then list the numbered sources.

    When a ``rag serve`` runs on the same index and articles, it answers (no model load here)."""
    setup_logging(verbose)
    ans = None if local else _ask_server(question, docs, index, generator, top_k)
    if ans is None:
        pipe = make_pipeline(docs, index, generator)
        ans = guard(lambda: pipe.query(question, top_k=top_k))
    if as_json:
        typer.echo(json.dumps(ans.to_dict(), ensure_ascii=False, indent=1))
    else:
        print_answer(ans)
    _leave()


def _leave() -> None:
    """Exit now that the answer is printed: tearing down the loaded models and modules takes
    0.3-0.4 s of a one-question command (``benchmarks/cli_start.py``), and nothing is left to
    write (index generations are committed atomically during the sync)."""
    import os

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _ask_server(
    question: str, docs: Path | None, index: Path | None, generator: str | None, top_k: int | None
) -> Answer | None:
    """The running server's Answer, or None when there is none for these settings (or it failed)."""
    from rag.app.remote import ask_server, find_server
    from rag.settings import Settings
    from rag.types import Answer

    overrides = {k: v for k, v in {"docs_dir": docs, "index_dir": index}.items() if v is not None}
    settings = Settings.model_validate(overrides)
    info = find_server(settings.index_dir, settings.docs_dir)
    if info is None or (generator is not None and generator != info.generator):
        return None
    try:
        ans = Answer.from_dict(ask_server(info, question, top_k))
    except ConnectionError as e:
        typer.secho(f"{e}; answering here instead", fg=typer.colors.YELLOW, err=True)
        return None
    except ValueError as e:
        fail(str(e))
    typer.secho(f"(answered by the running rag serve at {info.url}; --local to answer here)", dim=True, err=True)
    return ans


@app.command("eval")
def eval_cmd(
    qa: Annotated[Path | None, typer.Argument(help="QA set, JSON lines (see the eval README).", dir_okay=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write predictions here (JSON lines).")] = None,
    docs: DocsOpt = None,
    index: IndexOpt = None,
    generator: GenOpt = None,
    squad: Annotated[
        Path | None,
        typer.Option("--squad", help="SQuAD v1.1 JSON: run the open-setting test titles instead.", dir_okay=False),
    ] = None,
    part: Annotated[
        str, typer.Option("--part", help="Split part for --squad: test (default), calibration, fusion.")
    ] = "test",
    n: Annotated[int, typer.Option("--n", help="With --squad: questions of each kind (0 = all).")] = 150,
    followups: Annotated[
        int, typer.Option("--followups", help="With --squad: follow-up pairs to ask (0 = none).")
    ] = 100,
    multipart: Annotated[
        int, typer.Option("--multipart", help="With --squad: two-part questions to ask (0 = none).")
    ] = 100,
    news: Annotated[
        Path | None,
        typer.Option(
            "--news",
            help="A news collection (cluster folders with questions.jsonl), each indexed alone.",
            file_okay=False,
        ),
    ] = None,
    news_part: Annotated[
        str, typer.Option("--news-part", help="With --news: report (default), calibration, fit or all clusters.")
    ] = "report",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print one row per question.")] = False,
) -> None:
    """Run every question through rag.query and print the figures of the eval README.

    With ``--squad``: the SQuAD titles of one part of the committed split, in the open setting
    (answerable, other-title and near-miss questions; see rag/evaluation/squad_open.py)."""
    from rag.app.evaluating import run_news_eval, run_qa_eval, run_squad_eval

    setup_logging(False)
    if squad is not None:
        return run_squad_eval(squad, part, n, followups, multipart, generator, out, verbose)
    if news is not None:
        return run_news_eval(news, news_part, generator, out, verbose)
    return run_qa_eval(qa, out, docs, index, generator, verbose)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 7860,
    docs: DocsOpt = None,
    index: IndexOpt = None,
    generator: GenOpt = None,
) -> None:
    """Start the chat in the browser (Gradio)."""
    setup_logging(False)
    from rag.app.ui import serve

    pipe = make_pipeline(docs, index, generator)
    guard(lambda: serve(pipe, host=host, port=port))


def _ray_default(argv: list[str]) -> list[str]:
    """``--ray`` may stand alone (a local Ray): give it its default value, which click options
    cannot declare themselves."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--ray" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, "local")
            break
    return out


def main() -> None:
    import sys

    app(args=_ray_default(sys.argv[1:]))


if __name__ == "__main__":
    main()
