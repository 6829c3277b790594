"""A question from the command line, as a person at a terminal waits for it.

    python -m benchmarks.cli_start [--repeat 3]

Every figure is a fresh ``rag ask`` process on the bundled articles, timed by this parent from
launch to exit (median of ``--repeat``), with the index and the model caches already built (one
untimed run first builds them, in temporary folders: the user's ``index/`` and ``~/.cache/rag``
are not touched). Peak RSS is the child's own high-water mark (``wait4``).

- extractive (``--generator none``) and default settings, answered in the process (``--local``);
- baseline in the same run: the extractive run on the torch encoders (``RAG_EMBED_BACKEND=torch
  RAG_READER_BACKEND=torch``), i.e. the previous runtime;
- with a ``rag serve`` running on the same index: ``rag ask`` hands the question to it;
- where the extractive process's time goes: the same steps ``rag ask`` takes, timed one by one in
  a fresh process (median of ``--repeat``), beside the interpreter's own start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.machine import cpu_report

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "When did Trump leave Japan?"


def ask(env: dict[str, str], *flags: str) -> dict:
    """Seconds from launch to exit of one ``rag ask``, and whether a server answered."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.app.cli", "ask", QUESTION, *flags],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"rag ask {' '.join(flags)} failed ({proc.returncode}):\n{err[-2000:]}")
    return {
        "seconds": seconds,
        "served": "answered by the running rag serve" in err,
        "answer": out.splitlines()[0] if out else "",
    }


def timed(env: dict[str, str], repeat: int, *flags: str) -> dict:
    runs = [ask(env, *flags) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "runs": [r["seconds"] for r in runs],
        "served": all(r["served"] for r in runs),
        "answer": runs[-1]["answer"],
    }


def peak_rss_mb(env: dict[str, str], *flags: str) -> float:
    """Peak RSS of one ``rag ask`` child, from the kernel's own accounting of that child."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.app.cli", "ask", QUESTION, *flags],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if proc.returncode != 0:
        raise RuntimeError(f"rag ask {' '.join(flags)} failed ({proc.returncode})")
    return usage.ru_maxrss / 1024


# The steps of an extractive ``rag ask``, in its order, each timed (a fresh process per run).
STEPS = """
import json, os, sys, time
laps, t = {}, time.perf_counter()
def lap(name):
    global t
    now = time.perf_counter(); laps[name] = now - t; t = now
import rag.app.cli
lap("import the CLI (typer)")
import rag.pipeline
lap("import the pipeline (answer layer, bm25s, scipy)")
from rag.answer.nlp import _import_spacy, nlp
_import_spacy(); lap("import spaCy")
nlp(); lap("load the spaCy pipeline (en_core_web_sm)")
pipe = rag.app.console.make_pipeline(None, None, "none"); lap("settings and components")
pipe.index; lap("open the index (FAISS, passages, BM25)")
pipe.embedder.encode_query("warm"); lap("embedder session (ONNX)")
pipe.reader.read("a?", ["A."], [[(0, 2)]]); lap("reader session (ONNX)")
ans = pipe.query(sys.argv[1]); lap("answer the question")
laps.update({"stage " + k: v for k, v in ans.timings.items() if k in ("retrieval", "grounding", "reading", "decision")})
print("STEPS " + json.dumps(laps), flush=True)
os._exit(0)
"""


def steps(env: dict[str, str], repeat: int) -> dict[str, float]:
    """Median seconds of each step of an extractive answer in a fresh process, and the
    interpreter's own start (``python -c pass``) as the floor under all of them."""
    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = time.perf_counter() - t0
        out = subprocess.run(
            [sys.executable, "-c", STEPS, QUESTION], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        line = next(x for x in out.stdout.splitlines() if x.startswith("STEPS "))
        runs.append({"Python interpreter start": bare, **json.loads(line[6:])})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(repeat: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(ROOT / "seeds", docs)
        base = {**os.environ, "RAG_DOCS_DIR": str(docs), "RAG_CACHE_DIR": f"{tmp}/cache"}
        onnx = {**base, "RAG_INDEX_DIR": f"{tmp}/index"}
        torch_env = {
            **base,
            "RAG_INDEX_DIR": f"{tmp}/index-torch",
            "RAG_EMBED_BACKEND": "torch",
            "RAG_READER_BACKEND": "torch",
        }
        ask(onnx, "--local", "--generator", "none")  # builds the index and the ONNX exports
        ask(torch_env, "--local", "--generator", "none")
        out = {
            "extractive": timed(onnx, repeat, "--local", "--generator", "none"),
            "default": timed(onnx, repeat, "--local"),
            "torch_extractive": timed(torch_env, repeat, "--local", "--generator", "none"),
            "steps": steps({**onnx, "RAG_GENERATOR": "none"}, repeat),
            "rss_mb": {
                "default": peak_rss_mb(onnx, "--local"),
                "torch_extractive": peak_rss_mb(torch_env, "--local", "--generator", "none"),
            },
        }
        port = free_port()
        log = open(Path(tmp) / "serve.log", "w")
        server = subprocess.Popen(
            [sys.executable, "-m", "rag.app.cli", "serve", "--port", str(port)],
            env=onnx,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.time() + 300
            while "ready:" not in (Path(tmp) / "serve.log").read_text(errors="replace"):
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("rag serve did not start:\n" + (Path(tmp) / "serve.log").read_text()[-2000:])
                time.sleep(0.3)
            out["with_server"] = timed(onnx, repeat)
            import psutil

            out["rss_mb"]["server"] = psutil.Process(server.pid).memory_info().rss / 1e6
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    return out


def print_table(r: dict) -> None:
    t = r["torch_extractive"]["seconds"]
    print(f"rag ask from a fresh process, caches built (median of {len(r['extractive']['runs'])})")
    print(
        f"{'extractive (--generator none)':<44} {r['extractive']['seconds']:6.2f} s   torch encoders: {t:.2f} s "
        f"({t / r['extractive']['seconds']:.2f}x slower)"
    )
    print(f"{'default settings':<44} {r['default']['seconds']:6.2f} s")
    print(
        f"{'with rag serve running':<44} {r['with_server']['seconds']:6.2f} s   answered by the server: {r['with_server']['served']}"
    )
    print("where an extractive answer's time goes (fresh process, each step in rag ask's order):")
    for name, secs in r["steps"].items():
        print(f"  {name:<58} {secs:6.2f} s")
    m = r["rss_mb"]
    print(
        f"{'peak RSS: rag ask default / torch encoders':<44} {m['default']:6.0f} / {m['torch_extractive']:.0f} MB; "
        f"rag serve after answering {m['server']:.0f} MB"
    )


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/cli_start.json"))
    args = ap.parse_args()
    r = run(args.repeat)
    print_table(r)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
