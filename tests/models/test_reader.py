"""The answer reader (rag/models/reader.py): any reader folder is read the way the packaged one is."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from rag.models.reader import PACKAGED_READER, Reader

PASSAGES = [
    "The port strike ended after five days. Dockworkers won a 4 percent raise, the union said on Tuesday.",
    "Officials in Osaka said the new terminal cost 56 billion yen and opens in April.",
]
SENTENCES = [[(0, 38), (39, len(PASSAGES[0]))], [(0, len(PASSAGES[1]))]]


def _shifted_copy(folder: Path, start: float, end: float) -> Path:
    """The packaged reader with its start/end logits moved by constants: a reader whose every
    logit differs from the packaged one by a known amount."""
    shutil.copytree(PACKAGED_READER, folder)
    state = load_file(str(folder / "model.safetensors"))
    bias = state["qa_outputs.bias"].float()
    bias[0] += start
    bias[1] += end
    state["qa_outputs.bias"] = bias.to(state["qa_outputs.bias"].dtype)
    save_file(state, str(folder / "model.safetensors"))
    return folder


@pytest.mark.parametrize("backend", ["torch", pytest.param("onnx", marks=pytest.mark.slow)])
def test_a_reader_folder_is_read_with_its_own_weights(tmp_path: Path, backend: str) -> None:
    shifted = _shifted_copy(tmp_path / "shifted", start=2.0, end=-1.0)
    one = Reader("packaged", backend=backend, cache_dir=tmp_path / "cache")
    other = Reader(str(shifted), backend=backend, cache_dir=tmp_path / "cache")
    question = "How much did the new terminal cost?"
    s1, e1, t1 = one.logits(question, PASSAGES)
    s2, e2, t2 = other.logits(question, PASSAGES)
    assert t1 == t2
    for a, b in zip(s1, s2, strict=True):
        np.testing.assert_allclose(b - a, 2.0, atol=2e-2)
    for a, b in zip(e1, e2, strict=True):
        np.testing.assert_allclose(b - a, -1.0, atol=2e-2)
    alone, moved = one.read(question, PASSAGES, SENTENCES), other.read(question, PASSAGES, SENTENCES)
    assert moved[1][0].text == alone[1][0].text and "56 billion yen" in alone[1][0].text
    assert moved[1][0].score == pytest.approx(alone[1][0].score + 1.0, abs=3e-2)
    assert moved[1][0].null == pytest.approx(alone[1][0].null + 1.0, abs=3e-2)


def test_a_folder_that_is_not_a_reader_is_named(tmp_path: Path) -> None:
    from rag.models.sources import ModelLoadError

    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        Reader(str(tmp_path))
