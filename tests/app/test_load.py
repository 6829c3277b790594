"""The running app under concurrent clients (browser-less, gradio_client over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.load import run_load, start_server

pytestmark = pytest.mark.slow  # generator, servers, browsers or subprocesses: not in the fast loop


@pytest.fixture(scope="module")
def extractive_server(tmp_path_factory: pytest.TempPathFactory):
    proc, url, log = start_server(tmp_path_factory.mktemp("load"), generator="none")
    yield proc, url, log
    proc.terminate()
    proc.wait(timeout=30)


def test_eight_clients_25_questions_each(extractive_server) -> None:
    """The full count with extractive answers (fast); ``python -m benchmarks.load`` runs it with
    the default generator."""
    proc, url, log = extractive_server
    r = run_load(url, proc.pid, clients=8, questions=25)
    print(
        f"{r['answers']} answers, {r['answers_per_s']:.1f}/s, p50 {r['p50_s']:.2f} s, p95 {r['p95_s']:.2f} s, "
        f"RSS {r['rss_after_first_round_mb']:.0f} -> {r['rss_end_mb']:.0f} MB"
    )
    assert r["answers"] == 200 and not r["problems"], r["problems"][:5]
    assert r["rss_growth_mb"] < 150, r
    assert "Traceback" not in Path(log).read_text()
