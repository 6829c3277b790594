"""A question from the command line, as a person at a terminal waits for it.

    python -m benchmarks.cli_start [--repeat 3]

Every figure is a fresh ``rag ask`` process on the bundled articles, timed by this parent from
launch to exit (median of ``--repeat``), with the index and the model caches already built (one
untimed run first builds them, in temporary folders: the user's ``index/`` and ``~/.cache/rag``
are not touched). Peak RSS is the child's own high-water mark (``wait4``).

- extractive (``--generator none``) and default settings, answered in the process (``--local``);
- baseline in the same run: the extractive run on the torch encoders (``RAG_EMBED_BACKEND=torch
  RAG_READER_BACKEND=torch``), i.e. the previous runtime;
- with a ``rag serve`` running on the same index: ``rag ask`` hands the question to it.
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
        [sys.executable, "-m", "rag.cli", "ask", QUESTION, *flags],
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
        [sys.executable, "-m", "rag.cli", "ask", QUESTION, *flags],
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
            "rss_mb": {
                "default": peak_rss_mb(onnx, "--local"),
                "torch_extractive": peak_rss_mb(torch_env, "--local", "--generator", "none"),
            },
        }
        port = free_port()
        log = open(Path(tmp) / "serve.log", "w")
        server = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
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
