"""A running ``rag serve`` answers ``rag ask`` too, so a command-line question costs no model load.

The server announces itself in its index folder (``serve.json``: address, process id, articles
folder); ``rag ask`` on the same index finds it, checks that the process is alive and that it
serves the same articles, and posts the question to its ``/api/ask`` route (plain JSON, the same
``Answer`` the JSON API returns). Anything amiss (stale file, other articles, server busy or gone)
and the caller answers in-process instead; nothing is lost either way.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

SERVER_FILE = "serve.json"
API_PATH = "/api/ask"


@dataclass
class ServerInfo:
    url: str  # e.g. http://127.0.0.1:7860
    pid: int
    docs_dir: str
    generator: str


def announce(index_dir: Path, info: ServerInfo) -> Path:
    """Write ``serve.json`` atomically; the server removes it when it stops (``withdraw``)."""
    path = Path(index_dir) / SERVER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{SERVER_FILE}-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(info)), encoding="utf-8")
    os.replace(tmp, path)
    return path


def withdraw(path: Path) -> None:
    """Remove the announcement, but only our own (a newer server may have replaced it)."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        if json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid():
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def find_server(index_dir: Path, docs_dir: Path) -> ServerInfo | None:
    """The live server on this index serving these articles, if any."""
    try:
        info = ServerInfo(**json.loads((Path(index_dir) / SERVER_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(info.pid) or Path(info.docs_dir).resolve() != Path(docs_dir).resolve():
        return None
    return info


def ask_server(info: ServerInfo, question: str, top_k: int | None = None, timeout: float = 120.0) -> dict:
    """The server's answer as ``Answer.to_dict()``; raises ``ConnectionError`` when it cannot answer."""
    body = json.dumps({"question": question, "top_k": top_k}).encode("utf-8")
    req = urllib.request.Request(
        info.url.rstrip("/") + API_PATH, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            out = json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        if e.code == 400:  # the question itself was refused: asking here would refuse it too
            raise ValueError(json.loads(e.read().decode("utf-8") or "{}").get("error", "invalid question")) from e
        raise ConnectionError(f"server at {info.url} answered HTTP {e.code}") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ConnectionError(f"server at {info.url} did not answer: {e}") from e
    if "error" in out and "text" not in out:
        raise ValueError(out["error"])
    return out
