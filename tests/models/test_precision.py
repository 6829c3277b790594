"""The encoder's precision: timed on this CPU where nothing else decides it, kept by an index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.index.store import IndexStore
from rag.index.sync import sync_index
from rag.machine import cpu_key, cpu_report
from rag.models.embedding import Embedder
from rag.models.precision import BATCH, BATCH_MIN_SPEEDUP, INT8_MIN_SPEEDUP, choice_file
from tests.conftest import SEEDS


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    """A model cache holding the real export (graphs linked, not copied) and no precision record."""
    real = Embedder()._export[0].folder
    folder = tmp_path / "cache" / "onnx" / real.name
    folder.mkdir(parents=True)
    for f in real.iterdir():
        if not f.name.startswith("precision-"):
            (folder / f.name).symlink_to(f)
    return tmp_path / "cache"


def _record(cache: Path, precision: str) -> None:
    """What this CPU kind's timing would have recorded on a machine that chose ``precision``."""
    folder = next((cache / "onnx").iterdir())
    choice_file(folder).write_text(json.dumps({"precision": precision, "reason": f"{precision} recorded"}))


def test_auto_times_both_graphs_once_and_records_why(cache: Path) -> None:
    emb = Embedder(cache_dir=cache)
    choice = emb.choice
    assert choice.int8_ms and choice.float32_ms and choice.int8_ms > 0 and choice.float32_ms > 0
    faster = choice.float32_ms / choice.int8_ms >= INT8_MIN_SPEEDUP
    assert choice.precision == ("int8" if faster else "float32")
    assert choice.float32_batch_ms and choice.float32_batch_ms > 0
    batched = choice.precision == "float32" and choice.float32_ms / choice.float32_batch_ms >= BATCH_MIN_SPEEDUP
    assert choice.batch == emb.batch_size == (BATCH if batched else 1)  # int8: always one text per call
    assert emb.id.endswith(f"onnx-{choice.precision}") and "this CPU" in choice.reason
    record = json.loads(choice_file(emb._export[0].folder).read_text())
    assert record["precision"] == choice.precision and record["cpu"] == cpu_key()
    again = Embedder(cache_dir=cache).choice  # read back, not timed again
    assert again == choice


@pytest.mark.parametrize(("built", "machine_would"), [("int8", "float32"), ("float32", "int8")])
def test_an_index_keeps_its_precision_on_a_machine_that_would_choose_the_other(
    cache: Path, tmp_path: Path, built: str, machine_would: str
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    store = IndexStore(tmp_path / "index")
    index, _ = sync_index(docs, store, Embedder(dtype=built, cache_dir=cache), 600, 1)

    _record(cache, machine_would)
    assert Embedder(cache_dir=cache).precision == machine_would  # a fresh index would get this one
    auto = Embedder(cache_dir=cache)
    reopened, report = sync_index(docs, store, auto, 600, 1)
    assert not report.wrote and report.rebuilt_reason is None  # nothing re-embedded
    assert auto.precision == built and "index was built with" in auto.choice.reason
    # queries come from the index's graph: a stored passage finds itself at cosine ~1
    chunk = reopened.chunks[3]
    scores, rows = reopened.search(auto.encode_query(chunk.text)[None, :], 1)
    assert rows[0][0] == 3 and scores[0][0] > 0.9999
    assert np.allclose(auto.encode([chunk.text])[0], index.vectors[3], atol=1e-5)


def test_an_explicit_precision_other_than_the_index_rebuilds_it(cache: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    store = IndexStore(tmp_path / "index")
    sync_index(docs, store, Embedder(dtype="int8", cache_dir=cache), 600, 1)
    index, report = sync_index(docs, store, Embedder(dtype="float32", cache_dir=cache), 600, 1)
    assert report.wrote and report.rebuilt_reason == "settings or embedder changed"
    assert index.manifest["settings"]["embedder"].endswith("onnx-float32")


def test_cpu_report_names_the_vector_extensions() -> None:
    report = cpu_report()
    assert report.startswith("CPU: ") and "cores; ISA:" in report
    flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0].split()
    assert ("AVX2" in report) == ("avx2" in flags)
    assert ("AVX-512 VNNI" in report) == ("avx512_vnni" in flags)
