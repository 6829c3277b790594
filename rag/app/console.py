"""What every command shares: logging set-up, one clear line instead of a traceback, the
pipeline built from command-line overrides, and an answer printed for a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.types import Answer

T = TypeVar("T")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("sentence_transformers", "transformers", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def fail(message: str, code: int = 1) -> NoReturn:
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
        fail(f"articles folder not found: {docs}", 2)
    return guard(lambda: Pipeline(None, None, **overrides))


def guard(fn: Callable[[], T]) -> T:
    """Known failures become one clear line and a non-zero exit, never a traceback."""
    from rag.answer.questions import InvalidQuestion
    from rag.index.store import IndexError_
    from rag.models.sources import ModelLoadError

    try:
        return fn()
    except (ModelLoadError, IndexError_, InvalidQuestion, FileNotFoundError, PermissionError) as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted", 130)


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
