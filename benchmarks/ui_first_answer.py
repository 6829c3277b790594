"""Seconds from the server printing "ready" to the first answer on the page, in real Chromium.

    python benchmarks/ui_first_answer.py [--generator packaged|none]

Starts ``app.py`` on a free loopback port over a copy of the bundled articles (index already
built, model weights cached: a second start), opens the page, asks one question and waits for the
verified answer. Baseline in the same run: the same question through the JSON API.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.machine import cpu_report

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "By how much has defense spending in the Indo-Pacific risen?"


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--generator", default="packaged")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(ROOT / "seeds", docs)
        subprocess.run(
            [sys.executable, "-m", "rag.app.cli", "index", "--docs", str(docs), "--index", f"{tmp}/index"],
            check=True,
            capture_output=True,
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        t_start = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "app.py"),
                "--port",
                str(port),
                "--docs",
                str(docs),
                "--index",
                f"{tmp}/index",
                "--generator",
                args.generator,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ},
        )
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("ready:"):
                break
        t_ready = time.perf_counter()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.locator("#question textarea").fill(QUESTION)
                page.locator("#ask").click()
                page.wait_for_function(
                    "document.querySelectorAll('#chat .kind, #chat .abstain-box').length > 0", timeout=120_000
                )
                t_answer = time.perf_counter()
                browser.close()
            from gradio_client import Client

            t0 = time.perf_counter()
            Client(f"http://127.0.0.1:{port}/", verbose=False).predict(QUESTION, None, api_name="/ask")
            api = time.perf_counter() - t0
        finally:
            proc.terminate()
    print(f"{'start to ready (s)':<42} {t_ready - t_start:8.2f}")
    print(f"{'ready to first answer on the page (s)':<42} {t_answer - t_ready:8.2f}   target <= 10")
    print(f"{'same question via the JSON API, warm (s)':<42} {api:8.2f}   baseline")


if __name__ == "__main__":
    main()
