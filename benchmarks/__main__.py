"""Every speed and memory figure of the product in one run, each beside its baseline, as a table.

    python -m benchmarks [--quick] [--only cleaning,indexing,incremental,ray,retrieval,answer,cli,load] [--out benchmarks/out]

Writes ``<out>/results.json`` (all figures, the machine, the date) and
``<out>/retrieval_latency.png`` (latency against index size). A full run takes about 20 minutes
on 2 cores; ``--quick`` runs every part at toy sizes in ~3 minutes (figures not judged against
the targets, which are stated for the full sizes).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from benchmarks import answer_latency, cleaning, cli_start, indexing, load, retrieval_scale
from rag.machine import cpu_info, cpu_report

SECTIONS = ("cleaning", "indexing", "incremental", "ray", "retrieval", "answer", "cli", "load")
FULL = {
    "articles": 300,
    "incremental_articles": 1000,
    "ray_articles": 600,
    "load_questions": 25,
    "sizes": [10_000, 100_000, 1_000_000],
    "kinds": ["clustered", "uniform"],
    "repeat": 3,
    "max_questions": None,
}
QUICK = {
    "articles": 20,
    "incremental_articles": 50,
    "ray_articles": 40,
    "load_questions": 3,
    "sizes": [10_000, 60_000],
    "kinds": ["clustered"],
    "repeat": 1,
    "max_questions": 6,
}


def machine() -> dict:
    import torch

    return {
        **cpu_info(),
        "report": cpu_report(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def targets(r: dict) -> list[tuple[str, float | None, float, str, str]]:
    """(figure, value, target, "min"|"max", unit): what issue #5 asks of this machine."""
    rows: list[tuple[str, float | None, float, str, str]] = []
    for folder, c in r.get("cleaning", {}).items():
        rows.append((f"title accuracy, {folder} files", c["rag"]["title_accuracy"] / 100, 0.90, "min", "%"))
        rows.append(
            (
                f"files with no chrome line indexed, {folder}",
                c["rag"]["files_without_chrome_indexed"] / 100,
                0.90,
                "min",
                "%",
            )
        )
    t = r.get("indexing", {})
    if t:
        rows.append(("encoder passages/s vs torch float32 encode", t["encoder"]["vs_torch_fp32"], 2.0, "min", "x"))
        if "vs_langchain_wall" in t["rag"]:
            rows.append(
                ("same corpus indexed, LangChain wall time / rag's", t["rag"]["vs_langchain_wall"], 1.5, "min", "x")
            )
    if "incremental" in r:
        rows.append(
            (
                f"1 of {r['incremental']['articles']} articles changed, share of full build",
                r["incremental"]["share_of_full"],
                0.02,
                "max",
                "%",
            )
        )
    by = {(x["kind"], x["n"]): x for x in r.get("retrieval", [])}
    for n, limit in ((100_000, 5.0), (1_000_000, 15.0)):
        if ("clustered", n) in by:
            rows.append((f"retrieval p50 at {n:,} passages", by["clustered", n]["product_p50_ms"], limit, "max", "ms"))
    if ("clustered", 1_000_000) in by:
        x = by["clustered", 1_000_000]
        rows.append(("approximate recall@10 at 1,000,000", x["recall_at_10"], 0.95, "min", ""))
        rows.append(("index memory at 1,000,000", x["product_mb"], 1600, "max", "MB"))
    a = r.get("answer")
    if a:
        rows.append(("warm answer p50 (SmolLM2)", a["warm"]["packaged"]["p50_s"], 3.0, "max", "s"))
        rows.append(("first streamed token p50", a["warm"]["packaged"].get("first_token_p50_s"), 1.5, "max", "s"))
        rows.append(("second start to first answer", a["second_start"]["seconds"], 8.0, "max", "s"))
        rows.append(("peak RSS with the default models", a["second_start"]["rss_mb"], 3072, "max", "MB"))
    c = r.get("cli")
    if c:
        rows.append(("rag ask, fresh process, extractive", c["extractive"]["seconds"], 3.0, "max", "s"))
        rows.append(("rag ask, fresh process, default settings", c["default"]["seconds"], 6.0, "max", "s"))
        rows.append(("rag ask with rag serve running", c["with_server"]["seconds"], 1.5, "max", "s"))
        rows.append(("peak RSS, rag ask with the default models", c["rss_mb"]["default"], 1536, "max", "MB"))
    ld = r.get("load")
    if ld:
        top = ld[max(ld)]
        rows.append(
            ("8 clients through the app: answers/s (issue baseline 0.34)", top["answers_per_s"], 3 * 0.34, "min", "")
        )
        rows.append(("8 clients through the app: p95", top["p95_s"], 10.0, "max", "s"))
        rows.append(
            ("8 clients through the app: errors or mixed-up answers", float(len(top["problems"])), 0.0, "max", "")
        )
        rows.append(("8 clients through the app: server RSS", top["rss_end_mb"], 1536, "max", "MB"))
    return rows


def print_summary(r: dict, judged: bool) -> None:
    print("\n" + "=" * 100)
    print(r["machine"]["report"])
    print(f"{'figure':<58} {'value':>10} {'target':>10}  verdict")
    for name, value, target, kind, unit in targets(r):
        if value is None:
            print(f"{name:<58} {'-':>10} {target:>10g}  no measurement")
            continue
        fmt = {
            "%": lambda v: f"{100 * v:.1f}",
            "": lambda v: f"{v:.3f}",
            "x": lambda v: f"{v:.2f}",
            "s": lambda v: f"{v:.2f}",
            "ms": lambda v: f"{v:.2f}",
        }.get(unit, lambda v: f"{v:.0f}")
        ok = value >= target if kind == "min" else value <= target
        verdict = "met" if ok else f"MISSED by {abs(value - target) / target:.0%}"
        if not judged:
            verdict = "(quick run, not judged)"
        sign = ">=" if kind == "min" else "<="
        print(f"{name:<58} {fmt(value) + ' ' + unit:>10} {sign + ' ' + fmt(target):>10}  {verdict}")
    print("=" * 100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="toy sizes, ~3 minutes; not judged against targets")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--no-langchain", action="store_true", help="skip the LangChain baseline (needs the bench extra)")
    ap.add_argument("--qa", type=Path, default=answer_latency.DEV, help="questions for warm answers (dev.jsonl)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    results: dict = {"machine": machine(), "quick": args.quick, "config": cfg}
    print(results["machine"]["report"], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    if "cleaning" in only:
        print("\n## cleaning: headlines and site chrome on made-up messy files", flush=True)
        results["cleaning"] = {}
        for folder in (cleaning.MESSY, cleaning.MESSY.parent / "messy-holdout"):
            r = {name: cleaning.measure(folder, name) for name in ("rag", "naive")}
            cleaning.print_table(folder.name, r)
            results["cleaning"][folder.name] = {k: {m: v for m, v in x.items() if m != "rows"} for k, x in r.items()}
    if {"indexing", "incremental", "ray"} & set(only):
        from rag.models.embedding import Embedder

        emb = Embedder()
        if "indexing" in only:
            print("\n## indexing throughput", flush=True)
            results["indexing"] = indexing.throughput(cfg["articles"], not args.no_langchain, emb)
            indexing.print_throughput(results["indexing"])
        if "incremental" in only:
            print("\n## incremental update", flush=True)
            results["incremental"] = indexing.incremental(cfg["incremental_articles"], emb)
            indexing.print_incremental(results["incremental"])
        if "ray" in only:
            print("\n## indexing on Ray: single process vs 1 and 2 local workers", flush=True)
            results["ray"] = indexing.ray_scaling(cfg["ray_articles"], emb)
            indexing.print_ray(results["ray"])
    if "retrieval" in only:
        print("\n## dense retrieval at scale", flush=True)
        results["retrieval"] = retrieval_scale.run(cfg["sizes"], cfg["kinds"])
        retrieval_scale.plot(results["retrieval"], args.out / "retrieval_latency.png")
        print(f"plot: {args.out / 'retrieval_latency.png'}")
    if "answer" in only:
        print("\n## answer latency", flush=True)
        results["answer"] = answer_latency.run(args.qa, cfg["repeat"], cfg["max_questions"])
        answer_latency.print_table(results["answer"])

    if "cli" in only:
        print("\n## rag ask from a fresh process", flush=True)
        results["cli"] = cli_start.run(cfg["repeat"])
        cli_start.print_table(results["cli"])

    if "load" in only:
        print("\n## 8 clients at once through the app (default settings)", flush=True)
        results["load"] = load.compare(8, cfg["load_questions"], "packaged", "auto", (1, 8))
        load.print_compare(results["load"], "packaged", "auto")

    results["seconds"] = time.perf_counter() - t0
    print_summary(results, judged=not args.quick)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"all figures: {args.out / 'results.json'} ({results['seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
