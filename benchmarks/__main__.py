"""Every speed and memory figure of the product in one run, each beside its baseline, as a table.

    python -m benchmarks [--quick] [--only indexing,incremental,retrieval,answer] [--out benchmarks/out]

Writes ``<out>/results.json`` (all figures, the machine, the date) and
``<out>/retrieval_latency.png`` (latency against index size). A full run takes about 20 minutes
on 2 cores; ``--quick`` runs every part at toy sizes in ~3 minutes (figures not judged against
the targets, which are stated for the full sizes).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from benchmarks import answer_latency, cleaning, indexing, retrieval_scale

SECTIONS = ("cleaning", "indexing", "incremental", "retrieval", "answer")
FULL = {"articles": 300, "incremental_articles": 1000, "sizes": [10_000, 100_000, 1_000_000],
        "kinds": ["clustered", "uniform"], "repeat": 3, "max_questions": None}
QUICK = {"articles": 20, "incremental_articles": 50, "sizes": [10_000, 60_000], "kinds": ["clustered"],
         "repeat": 1, "max_questions": 6}


def machine() -> dict:
    import torch

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu or platform.processor(), "python": platform.python_version(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M")}


def targets(r: dict) -> list[tuple[str, float | None, float, str, str]]:
    """(figure, value, target, "min"|"max", unit): what issue #5 asks of this machine."""
    rows: list[tuple[str, float | None, float, str, str]] = []
    for folder, c in r.get("cleaning", {}).items():
        rows.append((f"title accuracy, {folder} files", c["rag"]["title_accuracy"] / 100, 0.90, "min", "%"))
        rows.append((f"files with no chrome line indexed, {folder}", c["rag"]["files_without_chrome_indexed"] / 100, 0.90, "min", "%"))
    t = r.get("indexing", {})
    if t:
        rows.append(("indexing speed, share of the raw encode limit", t["rag"]["share_of_raw"], 0.90, "min", "%"))
        if "vs_langchain_passages" in t["rag"]:
            rows.append(("indexing passages/s vs LangChain tutorial", t["rag"]["vs_langchain_passages"], 1.5, "min", "x"))
    if "incremental" in r:
        rows.append((f"1 of {r['incremental']['articles']} articles changed, share of full build",
                     r["incremental"]["share_of_full"], 0.02, "max", "%"))
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
    return rows


def print_summary(r: dict, judged: bool) -> None:
    print("\n" + "=" * 100)
    print(f"{'figure':<58} {'value':>10} {'target':>10}  verdict")
    for name, value, target, kind, unit in targets(r):
        if value is None:
            print(f"{name:<58} {'-':>10} {target:>10g}  no measurement")
            continue
        fmt = {"%": lambda v: f"{100 * v:.1f}", "": lambda v: f"{v:.3f}", "x": lambda v: f"{v:.2f}",
               "s": lambda v: f"{v:.2f}", "ms": lambda v: f"{v:.2f}"}.get(unit, lambda v: f"{v:.0f}")
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
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    if "cleaning" in only:
        print("\n## cleaning: headlines and site chrome on made-up messy files", flush=True)
        results["cleaning"] = {}
        for folder in (cleaning.MESSY, cleaning.MESSY.parent / "messy-holdout"):
            r = {name: cleaning.measure(folder, name) for name in ("rag", "naive")}
            cleaning.print_table(folder.name, r)
            results["cleaning"][folder.name] = {k: {m: v for m, v in x.items() if m != "rows"} for k, x in r.items()}
    if "indexing" in only or "incremental" in only:
        from rag.embedding import Embedder

        emb = Embedder()
        if "indexing" in only:
            print("\n## indexing throughput", flush=True)
            results["indexing"] = indexing.throughput(cfg["articles"], not args.no_langchain, emb)
            indexing.print_throughput(results["indexing"])
        if "incremental" in only:
            print("\n## incremental update", flush=True)
            results["incremental"] = indexing.incremental(cfg["incremental_articles"], emb)
            indexing.print_incremental(results["incremental"])
    if "retrieval" in only:
        print("\n## dense retrieval at scale", flush=True)
        results["retrieval"] = retrieval_scale.run(cfg["sizes"], cfg["kinds"])
        retrieval_scale.plot(results["retrieval"], args.out / "retrieval_latency.png")
        print(f"plot: {args.out / 'retrieval_latency.png'}")
    if "answer" in only:
        print("\n## answer latency", flush=True)
        results["answer"] = answer_latency.run(args.qa, cfg["repeat"], cfg["max_questions"])
        answer_latency.print_table(results["answer"])

    results["seconds"] = time.perf_counter() - t0
    print_summary(results, judged=not args.quick)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"all figures: {args.out / 'results.json'} ({results['seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
