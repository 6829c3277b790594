"""Answer latency: cold start to first answer, warm answers, first streamed token, peak memory.

    python -m benchmarks.answer_latency [--qa ../shared/eval/dev.jsonl] [--repeat 3]

- first run: a new process on the bundled articles with no index and no converted model weights
  (the GGUF is de-quantized and cached, the index built), timed from process launch to the
  verified answer, by the parent;
- second start: the same with the index and the converted weights on disk (median of
  ``--repeat``); baseline in the same run: the same with ``--generator none`` (extractive);
- warm: ``Pipeline.query`` over the questions of ``--qa`` (dev.jsonl when present, else built-in
  ones) in one process with everything loaded: p50/p90 per answer and time to the first streamed
  token; baselines: the same questions extractive, and retrieval alone;
- peak RSS of the second-start process, with and without the generator.

Everything runs in a temporary index and model cache: the user's ``index/`` and
``~/.cache/rag`` are not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.machine import cpu_report

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
QUESTION = "By how much has defense spending in the Indo-Pacific risen?"
BUILT_IN = [
    "By how much has defense spending in the Indo-Pacific risen?",
    "When did Trump leave Japan?",
    "What has Japan supplied to the Philippines?",
    "In what year was the Treaty of San Francisco signed?",
    "Which missiles is Japan easing export restrictions on?",
    "Where did the leaders of Japan, the Philippines and the U.S. meet in April 2024?",
    "What is the boiling point of mercury?",
    "How long had Takaichi been in office when she met Trump?",
]

# The child answers one question, reports, and leaves without the interpreter's slow teardown.
CHILD = """
import json, os, sys, time
t0 = time.perf_counter()
from rag.pipeline import Pipeline
ans = Pipeline(generator=sys.argv[1], draft_policy="never" if sys.argv[1] == "none" else "always").query(sys.argv[2])
# VmHWM, not ru_maxrss: the latter keeps the high-water mark of the forking parent across exec.
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print("ANSWER " + json.dumps({"in_process_s": time.perf_counter() - t0, "abstained": ans.abstained,
      "kinds": [s.kind for s in ans.sentences], "rss_mb": peak}),
      flush=True)
os._exit(0)
"""


# Where a warm answer's time goes (Answer.timings); the rest is question analysis, splitting, rewriting.
STAGES = ("retrieval", "grounding", "reading", "decision", "draft", "question analysis and other")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def start_to_answer(generator: str, env: dict[str, str]) -> dict:
    """Seconds from launching a process to its first verified answer, measured by the parent."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, generator, QUESTION],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            cwd=ROOT,
        )
        report = None
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("ANSWER "):
                report = json.loads(line[7:])
                report["seconds"] = time.perf_counter() - t0
        proc.wait()
        if report is None:
            err.seek(0)
            raise RuntimeError(
                f"the {generator} process gave no answer (exit {proc.returncode}):\n{err.read()[-2000:]}"
            )
    return report


def questions(qa: Path | None) -> tuple[list[tuple[str, list | None]], str]:
    if qa and qa.is_file():
        items = [json.loads(line) for line in qa.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [(it["question"], it.get("history")) for it in items], str(qa)
    return [(q, None) for q in BUILT_IN], "built-in questions"


def warm(tmp: Path, env: dict[str, str], qs: list[tuple[str, list | None]]) -> dict:
    from rag.pipeline import Pipeline

    out: dict = {}
    for generator in ("packaged", "none"):
        pipe = Pipeline(
            generator=generator,
            index_dir=Path(env["RAG_INDEX_DIR"]),
            cache_dir=Path(env["RAG_CACHE_DIR"]),
            draft_policy="never" if generator == "none" else "always",
        )  # "packaged": SmolLM2 drafting
        pipe.warm_up()
        totals, first, retrieval = [], [], []
        stages: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        for q, history in qs:
            if generator == "none":  # before the answer, so no part of it is remembered yet
                t0 = time.perf_counter()
                pipe.retrieve(q, history)
                retrieval.append(time.perf_counter() - t0)
            ans = pipe.query(q, history=history)
            totals.append(ans.timings["total"])
            for stage in STAGES[:-1]:
                stages[stage] += ans.timings.get(stage, 0.0)
            stages["question analysis and other"] += ans.timings["total"] - sum(
                ans.timings.get(x, 0.0) for x in STAGES[:-1]
            )
            if "first_token" in ans.timings:
                first.append(ans.timings["first_token"])
        out[generator] = {"p50_s": pct(totals, 0.5), "p90_s": pct(totals, 0.9), "n": len(totals)}
        out[generator]["stage_share"] = {k: v / max(sum(totals), 1e-9) for k, v in stages.items()}
        if first:
            out[generator]["first_token_p50_s"] = pct(first, 0.5)
            out[generator]["first_token_p90_s"] = pct(first, 0.9)
        if retrieval:
            out["retrieval_p50_s"] = pct(retrieval, 0.5)
    return out


def run(qa: Path | None = DEV, repeat: int = 3, max_questions: int | None = None) -> dict:
    qs, source = questions(qa)
    qs = qs[:max_questions] if max_questions else qs
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RAG_INDEX_DIR": f"{tmp}/index", "RAG_CACHE_DIR": f"{tmp}/cache"}
        out: dict = {"questions": source, "n_questions": len(qs)}
        out["first_run"] = start_to_answer("packaged", env)  # builds the index, converts the GGUF
        seconds = [start_to_answer("packaged", env) for _ in range(repeat)]
        base = [start_to_answer("none", env) for _ in range(repeat)]
        out["second_start"] = {
            "seconds": statistics.median(r["seconds"] for r in seconds),
            "runs": [r["seconds"] for r in seconds],
            "rss_mb": max(r["rss_mb"] for r in seconds),
        }
        out["second_start_extractive"] = {
            "seconds": statistics.median(r["seconds"] for r in base),
            "runs": [r["seconds"] for r in base],
            "rss_mb": max(r["rss_mb"] for r in base),
        }
        out["warm"] = warm(Path(tmp), env, qs)
    return out


def print_table(r: dict) -> None:
    w, s, b = r["warm"], r["second_start"], r["second_start_extractive"]
    g, x = w["packaged"], w["none"]
    print(f"answer latency ({r['n_questions']} questions from {r['questions']})")
    print(f"{'first run to first answer (builds index, converts GGUF)':<58} {r['first_run']['seconds']:7.2f} s")
    print(
        f"{'second start to first answer, SmolLM2':<58} {s['seconds']:7.2f} s   extractive {b['seconds']:.2f} s "
        f"({s['seconds'] / b['seconds']:.2f}x)"
    )
    print(
        f"{'warm answer p50 / p90, SmolLM2':<58} {g['p50_s']:7.2f} / {g['p90_s']:.2f} s   extractive "
        f"{x['p50_s']:.2f} / {x['p90_s']:.2f} s, retrieval alone {w['retrieval_p50_s']:.3f} s"
    )
    for name, run in (("extractive", x), ("SmolLM2", g)):
        shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in run["stage_share"].items() if v >= 0.005)
        print(f"{'share of warm answer time, ' + name:<58} {shares}")
    if "first_token_p50_s" in g:
        print(f"{'first streamed token p50 / p90':<58} {g['first_token_p50_s']:7.2f} / {g['first_token_p90_s']:.2f} s")
    print(f"{'peak RSS, SmolLM2 / extractive':<58} {s['rss_mb']:7.0f} / {b['rss_mb']:.0f} MB")


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--qa", type=Path, default=DEV)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/answer_latency.json"))
    args = ap.parse_args()
    r = run(args.qa, args.repeat)
    print_table(r)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
