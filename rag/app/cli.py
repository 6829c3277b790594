"""The ``rag`` command line: index articles, ask questions, evaluate on a QA set, serve the chat."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.types import Answer

T = TypeVar("T")

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


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("sentence_transformers", "transformers", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def make_pipeline(
    docs: Path | None = None,
    index: Path | None = None,
    generator: str | None = None,
    embedder: str | None = None,
    **more: object,
) -> Pipeline:
    from rag.pipeline import Pipeline

    overrides = {
        k: v
        for k, v in {"docs_dir": docs, "index_dir": index, "generator": generator, "embedder": embedder, **more}.items()
        if v is not None
    }
    if docs is not None and not docs.is_dir():
        _fail(f"articles folder not found: {docs}", 2)
    return _guard(lambda: Pipeline(None, None, **overrides))


def _guard(fn: Callable[[], T]) -> T:
    """Known failures become one clear line and a non-zero exit, never a traceback."""
    from rag.answer.questions import InvalidQuestion
    from rag.index.store import IndexError_
    from rag.models.embedding import ModelLoadError

    try:
        return fn()
    except (ModelLoadError, IndexError_, InvalidQuestion, FileNotFoundError, PermissionError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted", 130)


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
    _setup_logging(verbose)
    if workers is not None and ray is None:
        _fail("--workers applies to --ray", 2)
    pipe = make_pipeline(docs, index, "none", embedder, ray_address=ray, ray_workers=workers)
    report = _guard(lambda: pipe.sync(show_progress=True, strict=True))
    for s in report.skipped:
        typer.secho(f"skipped {s}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"{report.summary()} -> {pipe.settings.index_dir} ({len(pipe.index)} passages)")
    typer.echo(f"embedder: {pipe.embedder.id} ({pipe.embedder.choice.reason})")


def print_answer(ans: Answer, show_sources: bool = True) -> None:
    if ans.parts and not ans.abstained:
        for part in ans.parts:
            typer.secho(part.question, dim=True)
            print_answer(part, show_sources=False)
    elif ans.short_answer and ans.text.startswith("**"):
        bold, _, rest = ans.text[2:].partition("**")
        typer.secho(bold, bold=True, nl=False)
        typer.echo(rest)
    else:
        typer.echo(ans.text)
    if ans.rewritten_question:
        typer.secho(f"(searched for: {ans.rewritten_question})", dim=True)
    if show_sources and ans.citations:
        typer.echo("\nSources:" if not ans.abstained else "\nClosest passages:")
        for c in ans.citations:
            where = ", ".join(x for x in (c.page_label, f"chars {c.start}-{c.end}") if x)
            byline = " · ".join(x for x in (c.author, c.date) if x)
            typer.secho(f"[{c.n}] {c.source} ({where}) — {c.title}" + (f" — {byline}" if byline else ""), bold=True)
            typer.echo("    “" + " ".join(c.text.split()) + "”")


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
    _setup_logging(verbose)
    ans = None if local else _ask_server(question, docs, index, generator, top_k)
    if ans is None:
        pipe = make_pipeline(docs, index, generator)
        ans = _guard(lambda: pipe.query(question, top_k=top_k))
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
        _fail(str(e))
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
    from rag.evaluation.metrics import load_jsonl, run_eval

    _setup_logging(False)
    if squad is not None:
        return _squad_eval(squad, part, n, followups, multipart, generator, out, verbose)
    if news is not None:
        return _news_eval(news, news_part, generator, out, verbose)
    if qa is None or not qa.is_file():
        _fail(f"QA file not found: {qa}" if qa else "give a QA file, or --squad PATH", 2)
    try:
        items = load_jsonl(qa)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        _fail(f"{qa} is not a JSON-lines QA file: {e}", 2)
    if not items or not all("question" in it and "id" in it for it in items):
        _fail(f"{qa} has no items with 'id' and 'question'", 2)
    pipe = make_pipeline(docs, index, generator)
    _guard(pipe.warm_up)

    def progress(i: int, n: int) -> None:
        typer.echo(f"\r{i}/{n} questions", nl=i == n, err=True)

    run = _guard(lambda: run_eval(items, lambda q, h: pipe.query(q, history=h), progress))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in run.predictions)
    if verbose:
        for r in run.rows:
            typer.echo(json.dumps(r))
    typer.echo(json.dumps(run.summary))
    _print_figures(run.summary)


def _print_figures(s: dict) -> None:
    """The eval README's figures, one per line, as people read them."""
    rows = [
        ("questions", s["n"], ""),
        ("accuracy", s["accuracy"], "%"),
        ("citation_hit", s["citation_hit"], "%"),
        ("abstain_on_unanswerable", s["abstain_on_unanswerable"], "%"),
        ("false_abstain", s["false_abstain"], "%"),
        ("answers_with_unsupported_numbers", s["answers_with_unsupported_numbers"], "%"),
        ("mean_f1", s["mean_f1"], ""),
        ("retrieval recall@1/3/5", f"{s['recall@1']} / {s['recall@3']} / {s['recall@5']}", "%"),
        ("answers generated+verified / quoted", f"{s['answers_generated_verified']} / {s['answers_quoted']}", "%"),
        ("latency p50 / p90", f"{s.get('latency_p50_s')} / {s.get('latency_p90_s')}", " s"),
    ]
    for name, value, unit in rows:
        typer.echo(f"{name:>38}: {value}{unit}")


def _news_eval(root: Path, part: str, generator: str | None, out: Path | None, verbose: bool) -> None:
    from rag.evaluation.news import part_clusters, run_news
    from rag.settings import default_cache_dir

    try:
        dirs = part_clusters(root, part)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e), 2)
    if not dirs:
        _fail(f"{root} has no cluster of the {part!r} part of the split", 2)
    work = default_cache_dir() / "news-eval" / root.resolve().name
    typer.echo(f"{len(dirs)} clusters ({part}); their indexes under {work}", err=True)
    pipe = make_pipeline(dirs[0], work / dirs[0].name, generator)
    _guard(pipe.warm_up)

    def progress(name: str, i: int, total: int) -> None:
        typer.echo(f"\r{i}/{total} clusters ({name})", nl=i == total, err=True)

    run = _guard(lambda: run_news(pipe, dirs, work, progress))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in run.predictions)
    if verbose:
        for r in run.rows:
            typer.echo(json.dumps(r))
    s = run.summary
    typer.echo(json.dumps(s))
    for name in (
        "n",
        "clusters",
        "accuracy",
        "false_abstain",
        "abstain_on_unanswerable",
        "citation_hit",
        "answers_with_unsupported_numbers",
        "mean_f1",
        "recall@1",
        "recall@3",
        "recall@5",
        "latency_p50_s",
        "latency_p90_s",
    ):
        typer.echo(f"{name:>34}: {s.get(name)}")
    for group in ("accuracy_by_type", "false_abstain_by_type", "declined_by_kind"):
        typer.echo(f"{group:>34}: " + ", ".join(f"{k} {v}" for k, v in s[group].items()))


def _squad_eval(
    squad: Path,
    part: str,
    n: int,
    followups: int,
    multipart: int,
    generator: str | None,
    out: Path | None,
    verbose: bool,
) -> None:
    from rag.evaluation.squad_open import make_cases, open_pipeline, run, run_followups, run_multipart
    from rag.settings import default_cache_dir

    if not squad.is_file():
        _fail(f"SQuAD file not found: {squad}", 2)
    if part not in ("test", "calibration", "fusion", "reader"):
        _fail(f"--part must be test, calibration, fusion or reader, not {part!r}", 2)
    work = default_cache_dir() / "squad-open"
    typer.echo(f"open-setting corpus and index under {work}", err=True)
    overrides = {"generator": generator} if generator else {}
    pipe = _guard(lambda: open_pipeline(squad, work, show_progress=True, **overrides))
    _guard(pipe.warm_up)
    cases = make_cases(squad, part, n, swapped=True)

    def progress(i: int, total: int) -> None:
        typer.echo(f"\r{i}/{total} questions", nl=i == total, err=True)

    summary, rows = _guard(lambda: run(pipe, cases, progress))
    if followups:
        from rag.evaluation.squad import followup_pairs, load_split, load_squad, sample

        split = load_split()
        pairs = sample(followup_pairs(load_squad(squad), split["parts"][part]["indexed"]), followups, seed=3)
        summary["followups"] = _guard(lambda: run_followups(pipe, pairs))
        summary["followups_without_history"] = _guard(lambda: run_followups(pipe, pairs, with_history=False))
    if multipart:
        from rag.evaluation.squad import load_split, load_squad, multipart_pairs, sample

        two = sample(multipart_pairs(load_squad(squad), load_split()["parts"][part]["indexed"]), multipart, seed=4)
        summary["multipart"] = _guard(lambda: run_multipart(pipe, two))
        whole = pipe.settings
        pipe.settings = whole.model_copy(update={"multipart": False})
        summary["multipart_asked_whole"] = _guard(lambda: run_multipart(pipe, two))
        pipe.settings = whole
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if verbose:
        for r in rows:
            typer.echo(json.dumps(r))
    typer.echo(json.dumps({"part": part, **summary}))
    for name, value in summary.items():
        typer.echo(f"{name:>30}: {value}")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 7860,
    docs: DocsOpt = None,
    index: IndexOpt = None,
    generator: GenOpt = None,
) -> None:
    """Start the chat in the browser (Gradio)."""
    _setup_logging(False)
    from rag.app.ui import serve

    pipe = make_pipeline(docs, index, generator)
    _guard(lambda: serve(pipe, host=host, port=port))


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
