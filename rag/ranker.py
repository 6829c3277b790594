"""The sentence ranker: how likely one sentence, read together with the question, answers it.

A cross-encoder (one logit on [CLS] of "question [SEP] sentence") on the MiniLM body, trained by
``python -m rag.train_ranker`` on the SQuAD ``reader`` titles. The reader scores spans inside a
passage; the ranker judges each sentence on its own. Alone it picks the answering sentence more
often than the reader does, but fused into the answer score (``rag.scoring``) it moved the held-out
figures by about their noise at 2.5x the answer time, so it is not shipped or on by default
(docs/experiments.md). It stays pluggable: ``RAG_RANKER=folder`` with an answer scorer
fitted on it (``python -m rag.fit_scorer --ranker folder --out scorer.json``). Like the reader,
it runs on ONNX Runtime (float32) by default; a folder may leave out the word-embedding table,
which is then the packaged MiniLM's own (the trainer keeps it frozen).
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import ModelLoadError
from rag.reader import MAX_QUESTION_TOKENS, load_frozen_table_model, onnx_pair_model, run_pairs

MAX_LENGTH = 128


def resolve_ranker(name: str) -> Path:
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelLoadError(f"ranker {name!r} is not a folder with a sequence-classification model")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"ranker folder {path} has no config.json (not a transformers model)")
    return path


def load_ranker_model(path: Path) -> Any:
    return load_frozen_table_model(path, "AutoModelForSequenceClassification", "ranker")


def _export(path: Path) -> Any:
    from rag.onnx_models import export_transformer

    def export(folder: Path) -> dict:
        from transformers import AutoTokenizer

        sample = (["a question?", "another question here?"], ["a sentence.", "a longer sentence with words."])
        return export_transformer(
            load_ranker_model(path),
            AutoTokenizer.from_pretrained(str(path)),
            sample,
            ["logits"],
            folder,
            "RAG_RANKER_BACKEND",
        )

    return export


class Ranker:
    """Loads lazily; ``score(question, sentences)`` gives one logit per sentence."""

    def __init__(self, name: str, backend: str = "onnx", cache_dir: Path | None = None) -> None:
        if backend not in ("onnx", "torch"):
            raise ModelLoadError(f"ranker backend must be onnx or torch, not {backend!r}")
        self.name = name
        self.path = resolve_ranker(name)
        self.backend = backend
        if cache_dir is None:
            from rag.settings import default_cache_dir

            cache_dir = default_cache_dir()
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()

    @cached_property
    def onnx(self) -> tuple[Any, Any, Any]:
        return onnx_pair_model(
            self.path, "ranker", self.cache_dir, _export(self.path), MAX_LENGTH, f"ranker {self.name!r}"
        )

    @cached_property
    def model(self) -> tuple[Any, Any]:
        from transformers import AutoTokenizer

        try:
            return load_ranker_model(self.path), AutoTokenizer.from_pretrained(str(self.path))
        except ModelLoadError:
            raise
        except Exception as e:
            raise ModelLoadError(f"cannot load ranker {self.name!r} ({self.path}): {e}") from e

    def score(self, question: str, sentences: list[str], batch_size: int = 8) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        # Batches of similar length: a batch is padded to its longest pair, and sentence lengths
        # vary several-fold within one question's candidates.
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        scores = np.empty(len(sentences), dtype=np.float32)
        with self._lock:
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                scores[idx] = self._score(question, [sentences[j] for j in idx])
        return scores

    def _score(self, question: str, sentences: list[str]) -> np.ndarray:
        if self.backend == "onnx":
            (logits,), _ = run_pairs(self.onnx, question, sentences)
            return np.asarray(logits, dtype=np.float32)[:, 0]
        import torch

        model, tok = self.model
        ids = tok(question, add_special_tokens=False)["input_ids"]
        if len(ids) > MAX_QUESTION_TOKENS:
            question = tok.decode(ids[:MAX_QUESTION_TOKENS])
        enc = tok(
            [question] * len(sentences),
            sentences,
            truncation="only_second",
            max_length=MAX_LENGTH,
            padding=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            return model(**enc).logits[:, 0].float().numpy()
