"""``rag eval``: a QA file, the news clusters or the SQuAD open setting run through the pipeline,
with the eval README's figures printed and the predictions written where asked."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rag.app.console import fail, guard, make_pipeline


def keep(out: Path | None, records: list[dict], shown: list[dict]) -> None:
    """``records`` written to ``out`` as JSON lines (when given); ``shown`` printed one per line."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    for r in shown:
        typer.echo(json.dumps(r))


def run_qa_eval(
    qa: Path | None, out: Path | None, docs: Path | None, index: Path | None, generator: str | None, verbose: bool
) -> None:
    from rag.evaluation.metrics import load_jsonl, run_eval

    if qa is None or not qa.is_file():
        fail(f"QA file not found: {qa}" if qa else "give a QA file, or --squad PATH", 2)
    try:
        items = load_jsonl(qa)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        fail(f"{qa} is not a JSON-lines QA file: {e}", 2)
    if not items or not all("question" in it and "id" in it for it in items):
        fail(f"{qa} has no items with 'id' and 'question'", 2)
    pipe = make_pipeline(docs, index, generator)
    guard(pipe.warm_up)

    def progress(i: int, n: int) -> None:
        typer.echo(f"\r{i}/{n} questions", nl=i == n, err=True)

    run = guard(lambda: run_eval(items, lambda q, h: pipe.query(q, history=h), progress))
    keep(out, run.predictions, run.rows if verbose else [])
    typer.echo(json.dumps(run.summary))
    print_figures(run.summary)


def print_figures(s: dict) -> None:
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


def run_news_eval(root: Path, part: str, generator: str | None, out: Path | None, verbose: bool) -> None:
    from rag.evaluation.news import part_clusters, run_news
    from rag.settings import default_cache_dir

    try:
        dirs = part_clusters(root, part)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e), 2)
    if not dirs:
        fail(f"{root} has no cluster of the {part!r} part of the split", 2)
    work = default_cache_dir() / "news-eval" / root.resolve().name
    typer.echo(f"{len(dirs)} clusters ({part}); their indexes under {work}", err=True)
    pipe = make_pipeline(dirs[0], work / dirs[0].name, generator)
    guard(pipe.warm_up)

    def progress(name: str, i: int, total: int) -> None:
        typer.echo(f"\r{i}/{total} clusters ({name})", nl=i == total, err=True)

    run = guard(lambda: run_news(pipe, dirs, work, progress))
    keep(out, run.predictions, run.rows if verbose else [])
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


def run_squad_eval(
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
        fail(f"SQuAD file not found: {squad}", 2)
    if part not in ("test", "calibration", "fusion", "reader"):
        fail(f"--part must be test, calibration, fusion or reader, not {part!r}", 2)
    work = default_cache_dir() / "squad-open"
    typer.echo(f"open-setting corpus and index under {work}", err=True)
    overrides = {"generator": generator} if generator else {}
    pipe = guard(lambda: open_pipeline(squad, work, show_progress=True, **overrides))
    guard(pipe.warm_up)
    cases = make_cases(squad, part, n, swapped=True)

    def progress(i: int, total: int) -> None:
        typer.echo(f"\r{i}/{total} questions", nl=i == total, err=True)

    summary, rows = guard(lambda: run(pipe, cases, progress))
    if followups:
        from rag.evaluation.squad import followup_pairs, load_split, load_squad, sample

        split = load_split()
        pairs = sample(followup_pairs(load_squad(squad), split["parts"][part]["indexed"]), followups, seed=3)
        summary["followups"] = guard(lambda: run_followups(pipe, pairs))
        summary["followups_without_history"] = guard(lambda: run_followups(pipe, pairs, with_history=False))
    if multipart:
        from rag.evaluation.squad import load_split, load_squad, multipart_pairs, sample

        two = sample(multipart_pairs(load_squad(squad), load_split()["parts"][part]["indexed"]), multipart, seed=4)
        summary["multipart"] = guard(lambda: run_multipart(pipe, two))
        whole = pipe.settings
        pipe.settings = whole.model_copy(update={"multipart": False})
        summary["multipart_asked_whole"] = guard(lambda: run_multipart(pipe, two))
        pipe.settings = whole
    keep(out, rows, rows if verbose else [])
    typer.echo(json.dumps({"part": part, **summary}))
    for name, value in summary.items():
        typer.echo(f"{name:>30}: {value}")
