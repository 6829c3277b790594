"""The browser chat, as users and programs meet it: a real server process on loopback, the
gradio_client API, and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.load import start_server
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # generator, servers, browsers or subprocesses: not in the fast loop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``python app.py`` on a free port, over a private copy of the articles, index missing."""
    work = tmp_path_factory.mktemp("app")
    proc, url, log_path = start_server(work, generator=None, timeout=240)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    yield {"url": url, "docs": work / "docs", "work": work, "port": port, "log": log_path}
    proc.terminate()
    proc.wait(timeout=30)
    assert not (work / "index" / "serve.json").exists(), "a stopped server must withdraw its announcement"


def test_listens_on_loopback_only(server: dict) -> None:
    out = server["log"].read_text()
    assert f"ready: http://127.0.0.1:{server['port']}" in out and "Traceback" not in out
    assert "5 added" in out  # the index was missing and got built at startup


def test_api_returns_cited_json(server: dict) -> None:
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    r = client.predict("By how much has Indo-Pacific defense spending risen?", None, api_name="/ask")
    assert not r["abstained"] and "18%" in r["text"]
    c = r["citations"][0]
    assert c["source"] == "002_ef4fb084e8f28a11.txt" and c["end"] > c["start"] and "18%" in c["text"]
    assert r["sentences"] and r["sentences"][0]["verified"]
    empty = client.predict("   ", None, api_name="/ask")
    assert "empty" in empty["error"]


def test_rag_ask_is_answered_by_the_running_server(server: dict) -> None:
    index = server["work"] / "index"
    assert json.loads((index / "serve.json").read_text())["url"] == server["url"].rstrip("/")
    args = [
        sys.executable,
        "-m",
        "rag.app.cli",
        "ask",
        "Who met at the White House?",
        "--json",
        "--docs",
        str(server["docs"]),
        "--index",
        str(index),
    ]
    remote = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert remote.returncode == 0, remote.stderr
    assert "answered by the running rag serve" in remote.stderr
    local = subprocess.run([*args, "--local", "--generator", "none"], capture_output=True, text=True, timeout=300)
    assert local.returncode == 0 and "answered by" not in local.stderr
    a, b = json.loads(remote.stdout), json.loads(local.stdout)
    assert a["citations"] and [c["chunk_id"] for c in a["citations"]] == [c["chunk_id"] for c in b["citations"]]
    bad = subprocess.run([*args[:4], "", *args[5:]], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "error" in bad.stderr


def test_upload_then_answerable_and_bad_uploads_rejected(server: dict, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    client = Client(server["url"], verbose=False)
    good = tmp_path / "hokkaido_fisheries.md"
    good.write_text(
        "# Hokkaido fisheries pact\n\nJapan and the United States signed a fisheries pact in Sapporo. "
        "The pact caps the annual salmon catch at 42,000 tonnes.\n"
    )
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(256)) * 50)
    evil = tmp_path / "evil.txt"
    evil.write_text("Sneaky\nThis file tries to escape the articles folder.")
    before = set(os.listdir(server["docs"]))
    table, status = client.predict(
        [handle_file(str(good)), handle_file(str(binary)), handle_file(str(SEEDS / "000_61f95b61063c0a65.txt"))],
        api_name="/upload",
    )
    assert "added hokkaido_fisheries.md" in status
    assert "photo.txt" in status and "binary" in status
    assert "already in the collection" in status
    files = {row[3] for row in table["data"]}
    assert "hokkaido_fisheries.md" in files and before <= files
    r = client.predict("What is the annual salmon catch cap in the fisheries pact?", None, api_name="/ask")
    assert not r["abstained"] and "42,000" in r["text"]
    assert r["citations"][0]["source"] == "hokkaido_fisheries.md"
    # a traversal name is stored inside the folder under a safe name
    from rag.ingest.articles import add_article, safe_name

    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    res = add_article(server["docs"], "../../outside.txt", evil.read_bytes(), set())
    assert res.ok and (server["docs"] / "outside.txt").is_file()
    assert not (server["docs"].parent / "outside.txt").exists()
    oversize = add_article(server["docs"], "big.txt", b"a" * 2000, set(), max_bytes=1000)
    assert not oversize.ok and "limit" in oversize.message


def _browser(p):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


FINISHED = "document.querySelectorAll('#chat .kind, #chat .abstain-box').length"  # one per final answer


def _ask(page, question: str) -> None:
    """Ask and wait for the *verified* answer (the streamed draft does not count)."""
    n = page.evaluate(FINISHED)
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(f"n => {FINISHED} > n", arg=n, timeout=90_000)


def test_browser_answer_citation_and_highlight(server: dict, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(server["url"])
        _ask(page, "When did Trump leave Japan?")
        chip = page.locator("#chat a.cite").first
        assert chip.inner_text() == "[1]"
        mark = page.locator("#sources mark.support").first
        assert "October 29th" in mark.inner_text()
        assert "002_ef4fb084e8f28a11.txt" in page.locator("#sources").inner_text()
        chip.click()
        page.wait_for_function("location.hash === '#src-1'")
        page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
        assert (tmp_path / "answer.png").stat().st_size > 10_000
        # an abstention looks different and still shows the closest passages
        _ask(page, "What is the boiling point of mercury in kelvin?")
        assert page.locator("#chat .abstain-box").count() == 1
        assert "Closest passages" in page.locator("#sources").inner_text()
        # a pasted wall of text gets a visible reason, not a spinner or a traceback
        page.locator("#question textarea").fill("Indo-Pacific " * 400)
        page.locator("#ask").click()
        page.wait_for_function(
            "document.querySelector('#chat').innerText.includes('the limit is 2,000')", timeout=30_000
        )
        assert "Traceback" not in page.locator("#chat").inner_text()
        page.locator("#new-chat").click()
        page.wait_for_function(f"{FINISHED} === 0")
        browser.close()


def test_browser_pdf_upload_is_answerable_with_its_page(server: dict, tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from tests.ingest.test_pdf import make_pdf

    pdf = tmp_path / "glacier_survey.pdf"
    pdf.write_bytes(
        make_pdf(
            "Glacier survey finds record retreat",
            ["Page one is about the survey team, which spent six weeks on the ice field with drones and GPS stakes."],
            [
                "The survey measured a retreat of 312 meters at the glacier's tongue since the last count, the largest on record."
            ],
            author="Ines Laurent",
        )
    )
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(server["url"])
        page.get_by_role("tab", name="Articles").click()
        page.locator("#upload").wait_for(state="visible")
        for attempt in range(3):  # a busy machine can mount the tab's upload handler after the first try
            page.locator("#upload input[type=file]").set_input_files(str(pdf))
            try:
                page.wait_for_function(
                    "document.querySelector('#upload').innerText.includes('glacier_survey.pdf')", timeout=40_000
                )
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
                    raise AssertionError(
                        "the upload never showed the file; #upload reads: "
                        + repr(page.locator("#upload").inner_text()[:500])
                    ) from None
        page.locator("#add").click()
        page.wait_for_function(
            "document.querySelector('#upload-status').innerText.includes('added glacier_survey.pdf')", timeout=120_000
        )
        assert "Glacier survey finds record retreat" in page.locator("#articles").inner_text()
        page.get_by_role("tab", name="Chat").click()
        _ask(page, "How far has the glacier's tongue retreated since the last count?")
        sources = page.locator("#sources").inner_text()
        assert "312 meters" in page.locator("#chat").inner_text()
        assert "glacier_survey.pdf" in sources and "p. 2" in sources and "Ines Laurent" in sources
        browser.close()


def test_two_sessions_keep_their_own_history(server: dict) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        a, b = browser.new_context().new_page(), browser.new_context().new_page()
        for page in (a, b):
            page.goto(server["url"])
        # both questions are asked before either answer arrives: the queue serves them in turn
        for page, q in (
            (a, "Which professor at Wased University is quoted?"),
            (b, "Which think tank reported on defense spending in the Indo-Pacific?"),
        ):
            page.locator("#question textarea").fill(q)
            page.locator("#ask").click()
        for page in (a, b):
            page.wait_for_function(f"{FINISHED} > 0", timeout=90_000)
        _ask(a, "What does he argue?")
        _ask(b, "By how much did it say spending rose?")
        src_a, src_b = a.locator("#sources").inner_text(), b.locator("#sources").inner_text()
        assert (
            "Searched for:" in src_a
            and "Wased" in src_a
            and "think tank" not in src_a.split("Searched for:")[1].split("\n")[0]
        )
        assert (
            "Searched for:" in src_b
            and "think tank" in src_b.split("Searched for:")[1].split("\n")[0]
            and "Wased" not in src_b.split("Searched for:")[1].split("\n")[0]
        )
        browser.close()
