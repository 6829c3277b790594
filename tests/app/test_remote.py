"""How ``rag ask`` finds a running server: announcement, liveness, same articles only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.app.remote import SERVER_FILE, ServerInfo, announce, ask_server, find_server, withdraw
from rag.types import Answer


def test_announce_find_withdraw(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    path = announce(tmp_path / "index", ServerInfo("http://127.0.0.1:1", os.getpid(), str(docs), "none"))
    assert path.name == SERVER_FILE and not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]
    found = find_server(tmp_path / "index", docs)
    assert found is not None and found.pid == os.getpid()
    assert find_server(tmp_path / "index", tmp_path) is None  # another articles folder: not this server
    withdraw(path)
    assert not path.exists() and find_server(tmp_path / "index", docs) is None


def test_stale_or_foreign_announcements_are_ignored(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    path = announce(tmp_path, ServerInfo("http://127.0.0.1:1", pid, str(tmp_path), "none"))
    assert find_server(tmp_path, tmp_path) is None  # that process has exited
    withdraw(path)
    assert path.exists()  # not ours to remove
    path.write_text("{not json")
    assert find_server(tmp_path, tmp_path) is None


def test_unreachable_server_is_a_connection_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectionError):
        ask_server(ServerInfo("http://127.0.0.1:9", os.getpid(), str(tmp_path), "none"), "anything?", timeout=2)


def test_answer_survives_json(pipeline) -> None:
    ans = pipeline.query("Who met at the White House?")
    back = Answer.from_dict(json.loads(json.dumps(ans.to_dict())))
    assert json.loads(json.dumps(back.to_dict())) == json.loads(json.dumps(ans.to_dict()))
    assert back.citations[0].page_label == ans.citations[0].page_label and back.plain_text == ans.plain_text
