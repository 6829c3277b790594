"""Many clients at once against the running app: errors, mixed-up answers, memory growth, speed.

    python -m benchmarks.load [--clients 8] [--questions 25] [--generator packaged|none] [--batches 1,8]

Starts ``app.py`` on a free loopback port over a copy of the bundled articles, then runs
``--clients`` threads, each with its own ``gradio_client.Client``, each asking ``--questions``
questions through the JSON API, every third one a follow-up that carries that client's own
conversation. Checked: no errors; every answer is for the question its client asked (and a
follow-up was rewritten with that client's history, nobody else's); server memory after the run
versus after the first round. Printed: answers/s, latency p50/p95, RSS growth, for each
``--batches`` value in one run: 1 is one question at a time (the app before batched drafting),
8 lets up to 8 questions be answered at once with their drafts decoded in one batch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rag.machine import cpu_report

ROOT = Path(__file__).resolve().parents[1]
OPENERS = [
    ("Which professor at Wased University is quoted?", "What does he argue?"),
    ("What has Japan supplied to the Philippines?", "Who else is it working with?"),
    ("By how much has defense spending in the Indo-Pacific risen?", "Who reported that figure?"),
    ("In what year was the Treaty of San Francisco signed?", "What has the U.S. provided since then?"),
    ("When did Trump leave Japan?", "What were the agreements he left with aimed at?"),
    ("Where did the leaders of Japan, the Philippines and the U.S. meet in April 2024?", "What does it signify?"),
    ("How long had Takaichi been in office when she met Trump?", "What did she prioritize?"),
    ("What is the boiling point of mercury?", "And of water?"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    work: Path, generator: str | None = "none", extra_env: dict | None = None, timeout: float = 300
) -> tuple[subprocess.Popen, str, Path]:
    """``python app.py`` over a private copy of the articles; returns (process, url, log file).
    ``generator=None`` starts it as the README does (no flag, default draft policy); a generator
    named here is meant to draft (the packaged one does not by default)."""
    docs = work / "docs"
    if not docs.exists():
        shutil.copytree(ROOT / "seeds", docs)
    port = free_port()
    log_path = work / f"server-{port}.log"
    log = open(log_path, "w")
    cmd = [
        sys.executable,
        str(ROOT / "app.py"),
        "--port",
        str(port),
        "--docs",
        str(docs),
        "--index",
        str(work / "index"),
    ]
    drafts = generator not in (None, "none")
    proc = subprocess.Popen(
        cmd + (["--generator", generator] if generator is not None else []),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
        env={**os.environ, **({"RAG_DRAFT_POLICY": "always"} if drafts else {}), **(extra_env or {})},
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if "ready:" in log_path.read_text(errors="replace"):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, f"http://127.0.0.1:{port}/", log_path
            except OSError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not get ready:\n" + log_path.read_text(errors="replace")[-3000:])


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1e6


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def run_load(url: str, server_pid: int, clients: int = 8, questions: int = 25) -> dict:
    from gradio_client import Client

    latencies: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()
    first_round = threading.Barrier(clients + 1)
    rss: dict[str, float] = {}

    def client_main(ci: int) -> None:
        client = Client(url, verbose=False)
        history: list[dict] = []
        opener, followup = OPENERS[ci % len(OPENERS)]
        for qi in range(questions):
            is_followup = qi % 3 == 1
            question = followup if is_followup else opener
            if not is_followup:
                history = []
            t0 = time.perf_counter()
            try:
                r = client.predict(question, history or None, api_name="/ask")
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                r = {"error": f"{type(e).__name__}: {e}"}
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if "error" in r:
                    problems.append(f"client {ci} q{qi}: {r['error']}")
                elif r["question"] != question:
                    problems.append(f"client {ci} q{qi}: got the answer to {r['question']!r}")
                elif is_followup and opener not in (r.get("rewritten_question") or ""):
                    problems.append(f"client {ci} q{qi}: follow-up searched {r.get('rewritten_question')!r}")
                elif not r["citations"]:
                    problems.append(f"client {ci} q{qi}: no citations")
            if "error" not in r:
                history = [{"role": "user", "content": question}, {"role": "assistant", "content": r["plain_text"]}]
            if qi == 0:
                first_round.wait()

    threads = [threading.Thread(target=client_main, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    first_round.wait()
    rss["after_first_round"] = rss_mb(server_pid)
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    rss["end"] = rss_mb(server_pid)
    return {
        "clients": clients,
        "questions_each": questions,
        "answers": len(latencies),
        "seconds": wall,
        "answers_per_s": len(latencies) / wall,
        "p50_s": pct(latencies, 0.5),
        "p95_s": pct(latencies, 0.95),
        "rss_after_first_round_mb": rss["after_first_round"],
        "rss_end_mb": rss["end"],
        "rss_growth_mb": rss["end"] - rss["after_first_round"],
        "problems": problems,
    }


def compare(
    clients: int = 8,
    questions: int = 25,
    generator: str = "packaged",
    draft_policy: str = "auto",
    batches: tuple[int, ...] = (1, 8),
) -> dict[int, dict]:
    """``run_load`` against a fresh server per ``RAG_GENERATOR_MAX_BATCH`` value, in one run."""
    results = {}
    for batch in batches:
        with tempfile.TemporaryDirectory() as tmp:
            proc, url, _ = start_server(
                Path(tmp), generator, {"RAG_GENERATOR_MAX_BATCH": str(batch), "RAG_DRAFT_POLICY": draft_policy}
            )
            try:
                results[batch] = run_load(url, proc.pid, clients, questions)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    return results


def print_compare(results: dict[int, dict], generator: str, draft_policy: str) -> None:
    for batch, r in results.items():
        print(
            f"max batch {batch}: {r['clients']} clients x {r['questions_each']} questions ({generator}, draft policy "
            f"{draft_policy}): {r['answers']} answers in {r['seconds']:.1f} s = {r['answers_per_s']:.2f}/s; latency p50 "
            f"{r['p50_s']:.2f} s, p95 {r['p95_s']:.2f} s; server RSS {r['rss_after_first_round_mb']:.0f} -> "
            f"{r['rss_end_mb']:.0f} MB; {len(r['problems'])} problems",
            flush=True,
        )
        for p in r["problems"]:
            print("PROBLEM:", p)
    if len(results) > 1:
        first, last = results[min(results)], results[max(results)]
        print(
            f"throughput {last['answers_per_s'] / first['answers_per_s']:.2f}x, p95 {first['p95_s']:.1f} -> {last['p95_s']:.1f} s"
        )


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--questions", type=int, default=25)
    ap.add_argument("--generator", default="packaged")
    ap.add_argument(
        "--draft-policy",
        default="always",
        help="always: every answer drafted by the generator (the load this measures); auto: the product default",
    )
    ap.add_argument(
        "--batches",
        default="1,8",
        help="RAG_GENERATOR_MAX_BATCH values to compare in this run (1 = one question at a time, as before)",
    )
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/load.json"))
    args = ap.parse_args()
    results = compare(
        args.clients, args.questions, args.generator, args.draft_policy, tuple(int(b) for b in args.batches.split(","))
    )
    print_compare(results, args.generator, args.draft_policy)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    sys.exit(1 if any(r["problems"] for r in results.values()) else 0)


if __name__ == "__main__":
    main()
