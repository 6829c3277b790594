"""The encoders on ONNX Runtime: same answers as torch, exported once, cached atomically."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.models.embedding import Embedder, export_sentence_encoder
from rag.models.onnx_export import cached_export
from rag.models.reader import Reader
from rag.models.sources import ModelLoadError
from tests.conftest import SEEDS

TEXTS = [
    "Japan and the United States agreed to deepen their security cooperation.",
    "Who leads the government in Tokyo?",
    "The trade deficit narrowed to $56 billion in the third quarter, the ministry said on Tuesday.",
    "A short one.",
]


@pytest.fixture(scope="module")
def torch_fp32() -> Embedder:
    return Embedder(backend="torch", dtype="float32")


def test_onnx_float32_matches_torch(torch_fp32: Embedder) -> None:
    onnx = Embedder(backend="onnx", dtype="float32")
    cos = (onnx.encode(TEXTS) * torch_fp32.encode(TEXTS)).sum(axis=1)
    assert cos.min() > 0.9999


def test_int8_stays_close_and_ranks_alike(torch_fp32: Embedder) -> None:
    int8 = Embedder(dtype="int8")
    assert int8.backend == "onnx" and int8.precision == "int8" and int8.id.endswith("onnx-int8")
    a, b = int8.encode(TEXTS), torch_fp32.encode(TEXTS)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.97
    # the question is nearest to the same sentences under both
    assert np.argsort(-(a[1] @ a.T))[:2].tolist() == np.argsort(-(b[1] @ b.T))[:2].tolist()


def test_a_vector_does_not_depend_on_its_neighbours() -> None:
    """Threads and batching change nothing with the default one text per call, in either precision
    (int8 quantizes activations per call: batched, a vector moves with its batch, cosine > 0.98)."""
    many = [f"{t} ({i})" for i in range(40) for t in TEXTS]  # enough calls to use every core
    for emb in (Embedder(dtype="float32"), Embedder(dtype="int8")):
        assert emb.batch_size == 1
        together = emb.encode(many)
        one_by_one = np.stack([emb.encode([t])[0] for t in many[:12]])
        assert np.allclose(together[:12], one_by_one, atol=1e-5)
    int8 = Embedder(dtype="int8")
    batched = int8.encode(many, batch_size=16)
    assert (batched * int8.encode(many)).sum(axis=1).min() > 0.98


def test_backend_and_precision_are_checked_and_named() -> None:
    with pytest.raises(ModelLoadError, match="backend"):
        Embedder(backend="tensorrt")
    with pytest.raises(ModelLoadError, match="dtype"):
        Embedder(backend="onnx", dtype="bfloat16")
    assert Embedder(backend="torch", dtype="float32").id != Embedder(backend="onnx", dtype="float32").id


def test_export_is_cached_and_atomic(tmp_path: Path) -> None:
    calls = []

    emb = Embedder()
    real = cached_export(emb.path, "embedder", emb.cache_dir, export_sentence_encoder(emb.path))

    def export(folder: Path) -> dict:  # the real exported files, copied as if freshly written
        calls.append(folder)
        for f in ("model.onnx", "tokenizer.json"):
            (folder / f).write_bytes((real.folder / f).read_bytes())
        return {**real.meta, "model_type": "already fused"}

    first = cached_export(SEEDS, "probe", tmp_path, export)
    second = cached_export(SEEDS, "probe", tmp_path, export)
    assert len(calls) == 1 and first.folder == second.folder
    assert {"model.onnx", "model-int8.onnx", "tokenizer.json", "meta.json"} <= set(os.listdir(first.folder))
    assert not [p for p in (tmp_path / "onnx").iterdir() if p.name.startswith(".tmp-")]


def test_failed_export_leaves_nothing(tmp_path: Path) -> None:
    def broken(folder: Path) -> dict:
        (folder / "model.onnx").write_bytes(b"half a file")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        cached_export(SEEDS, "broken", tmp_path, broken)
    assert list((tmp_path / "onnx").iterdir()) == []


def test_onnx_reader_matches_torch_reader() -> None:
    question = "How much did the trade deficit narrow to?"
    passages = [TEXTS[2] + " " + TEXTS[0], TEXTS[0]]
    sentences = [[(0, len(TEXTS[2])), (len(TEXTS[2]) + 1, len(passages[0]))], [(0, len(TEXTS[0]))]]
    onnx, torch_reader = Reader(backend="onnx"), Reader(backend="torch")
    s1, e1, t1 = onnx.logits(question, passages)
    s2, e2, t2 = torch_reader.logits(question, passages)
    assert all(np.abs(a - b).max() < 1e-3 for a, b in zip(s1 + e1, s2 + e2, strict=True))
    assert t1 == [[tuple(o) if o else None for o in row] for row in t2]
    spans = onnx.read(question, passages, sentences)
    assert spans[0][0].text == torch_reader.read(question, passages, sentences)[0][0].text
    assert "56 billion" in spans[0][0].text


def test_extractive_answer_imports_no_torch(pipeline) -> None:
    """A fresh process answering without the generator loads neither torch nor transformers."""
    code = (
        "import sys, rag\n"
        f"p = rag.Pipeline(docs_dir={str(pipeline.settings.docs_dir)!r}, index_dir={str(pipeline.settings.index_dir)!r},"
        " generator='none')\n"
        "a = p.query('Who met at the White House?')\n"
        "assert a.citations, a.text\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
