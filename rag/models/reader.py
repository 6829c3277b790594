"""The answer reader: which words of a passage answer the question, and how sure it is.

An extractive question-answering model (a span start/end head on the MiniLM body) reads the
question with each retrieved passage and proposes the best answer span in it, plus a "no answer
here" score (the start/end logits at [CLS], as in SQuAD 2.0 readers). It is trained here on the
SQuAD titles of the ``reader`` part (``python -m rag.training.reader``) with near-miss and
other-title passages as no-answer examples, and ships inside the package
(``rag/data/reader/``). Its word-embedding table is the packaged MiniLM's own, frozen during
training, so the package carries only the rest of the weights.

Spans never cross a sentence boundary: the short answer a reader is shown always lies inside the
sentence that is quoted for it, so it is verified by construction.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.models.sources import MODEL_LOAD_LOCK, ModelLoadError, resolve_embedder
from rag.settings import PACKAGE_DIR

PACKAGED_READER = PACKAGE_DIR / "data" / "reader"
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
MAX_ANSWER_TOKENS = 30
MAX_LENGTH = 256
MAX_QUESTION_TOKENS = 64
NO_SPAN_MARGIN = 20.0  # a sentence the reader never saw scores this far below "no answer"


@dataclass
class Span:
    """The reader's best answer inside one sentence of a passage (offsets relative to the passage)."""

    passage_index: int
    start: int
    end: int
    text: str
    score: float  # start + end logit of the span
    null: float  # start + end logit of "no answer in this passage"
    sentence: tuple[int, int]  # the sentence holding the span


def reader_folder(name: str) -> Path:
    """Where one reader's files are ("packaged": ours), whether or not they are there."""
    return PACKAGED_READER if name in ("packaged", "default", "") else Path(name).expanduser()


def resolve_reader(name: str) -> Path:
    path = reader_folder(name)
    if path == PACKAGED_READER:
        if not (PACKAGED_READER / "config.json").is_file():
            raise ModelLoadError(
                f"the packaged reader is missing from {PACKAGED_READER}; retrain: python -m rag.training.reader"
            )
        return PACKAGED_READER
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"reader folder {path} has no config.json (not a transformers QA model)")
    return path


def load_frozen_table_model(path: Path, auto_class: str, what: str) -> Any:
    """A BERT-style model with a task head from ``path`` (``auto_class``: the transformers Auto
    class); a missing word-embedding table is taken from the packaged MiniLM (the reader and the
    ranker are trained with it frozen, so it is the same tensor)."""
    import torch
    import transformers
    from safetensors.torch import load_file

    config = transformers.AutoConfig.from_pretrained(str(path))
    with MODEL_LOAD_LOCK:
        model = getattr(transformers, auto_class).from_config(config)
    state = load_file(str(path / "model.safetensors"))
    if WORD_EMBEDDINGS not in state:
        base, _ = resolve_embedder("packaged")
        base_state = load_file(str(Path(base) / "model.safetensors"))
        key = next(k for k in base_state if k.endswith("embeddings.word_embeddings.weight"))
        state[WORD_EMBEDDINGS] = base_state[key]
    state = {k: v.to(torch.float32) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ModelLoadError(
            f"{what} weights in {path} do not fit its config: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    model.eval()
    return model


def load_qa_model(path: Path) -> Any:
    return load_frozen_table_model(path, "AutoModelForQuestionAnswering", "reader")


def onnx_pair_model(
    path: Path, kind: str, cache_dir: Path, export: Callable[[Path], dict], max_length: int, what: str
) -> tuple[Any, Any, Any]:
    """(session, pair tokenizer, plain tokenizer) of the cached float32 ONNX export of a model
    that reads (question, text) pairs."""
    from tokenizers import Tokenizer

    from rag.models.onnx_export import OnnxExportError, cached_export, session

    try:
        exported = cached_export(path, kind, cache_dir, export)
        sess = session(exported.graph("float32"), threads=min(2, os.cpu_count() or 1))
    except OnnxExportError as e:
        raise ModelLoadError(str(e)) from e
    except Exception as e:
        raise ModelLoadError(f"cannot load {what} on ONNX Runtime: {e}") from e
    plain = Tokenizer.from_file(str(exported.folder / "tokenizer.json"))
    plain.no_truncation()
    plain.no_padding()
    pairs = Tokenizer.from_file(str(exported.folder / "tokenizer.json"))
    pairs.enable_truncation(max_length, strategy="only_second")
    pairs.enable_padding(pad_id=exported.meta["pad_id"])
    return sess, pairs, plain


def run_pairs(model: tuple[Any, Any, Any], question: str, texts: list[str]) -> tuple[list, list]:
    """The ONNX outputs for (question, text) pairs, and the encodings (token offsets). A question
    longer than MAX_QUESTION_TOKENS is cut: a pasted essay must still leave room for the text."""
    from rag.models.onnx_export import feed

    sess, pairs, plain = model
    ids = plain.encode(question, add_special_tokens=False).ids
    if len(ids) > MAX_QUESTION_TOKENS:
        question = plain.decode(ids[:MAX_QUESTION_TOKENS])
    enc = pairs.encode_batch([(question, t) for t in texts])
    arr = {k: np.array([getattr(e, k) for e in enc], dtype=np.int64) for k in ("ids", "attention_mask", "type_ids")}
    return sess.run(None, feed(sess, arr["ids"], arr["attention_mask"], arr["type_ids"])), enc


def export_reader(path: Path) -> Callable[[Path], dict]:
    """An ``export(folder)`` for ``rag.models.onnx_export.cached_export``: the QA model's start/end logits."""
    from rag.models.onnx_export import export_transformer

    def export(folder: Path) -> dict:
        from transformers import AutoTokenizer

        sample = (["a question?", "another question here?"], ["a passage.", "a longer passage with words."])
        return export_transformer(
            load_qa_model(path),
            AutoTokenizer.from_pretrained(str(path)),
            sample,
            ["start_logits", "end_logits"],
            folder,
            "RAG_READER_BACKEND",
        )

    return export


class Reader:
    """Loads lazily; ``read`` returns, per passage, the best ``Span`` inside each given sentence.

    ``backend="onnx"`` (default) runs the float32 graph exported once from the same weights on
    ONNX Runtime (logits within 1e-4 of torch; no torch import when answering). It stays float32:
    the answer scorer was calibrated on these logits, and int8 would move them."""

    def __init__(
        self, name: str = "packaged", max_length: int = MAX_LENGTH, backend: str = "onnx", cache_dir: Path | None = None
    ) -> None:
        if backend not in ("onnx", "torch"):
            raise ModelLoadError(f"reader backend must be onnx or torch, not {backend!r}")
        self.name = name
        self.path = resolve_reader(name)
        self.max_length = max_length
        self.backend = backend
        if cache_dir is None:
            from rag.settings import default_cache_dir

            cache_dir = default_cache_dir()
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()

    @cached_property
    def onnx_model(self) -> tuple[Any, Any, Any]:
        """(session, pair tokenizer, plain tokenizer) of the cached ONNX export."""
        path = self.path
        return onnx_pair_model(
            path, "reader", self.cache_dir, export_reader(path), self.max_length, f"reader {self.name!r}"
        )

    def _logits_onnx(self, question: str, passages: list[str]) -> tuple[list[np.ndarray], list[np.ndarray], list[list]]:
        (starts, ends), enc = run_pairs(self.onnx_model, question, passages)
        toks = [[(tuple(o) if s == 1 else None) for o, s in zip(e.offsets, e.sequence_ids, strict=True)] for e in enc]
        return list(starts), list(ends), toks

    @cached_property
    def tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.path))

    @cached_property
    def model(self) -> Any:
        try:
            return load_qa_model(self.path)
        except ModelLoadError:
            raise
        except Exception as e:
            raise ModelLoadError(f"cannot load reader {self.name!r} ({self.path}): {e}") from e

    def logits(self, question: str, passages: list[str]) -> tuple[list[np.ndarray], list[np.ndarray], list[list]]:
        """Start/end logits per passage and the character offsets of each passage token."""
        if self.backend == "onnx":
            with self._lock:
                return self._logits_onnx(question, passages)
        import torch

        with self._lock:
            ids = self.tokenizer(question, add_special_tokens=False)["input_ids"]
            if len(ids) > MAX_QUESTION_TOKENS:  # a pasted essay must still leave room for the passage
                question = self.tokenizer.decode(ids[:MAX_QUESTION_TOKENS])
            enc = self.tokenizer(
                [question] * len(passages),
                passages,
                truncation="only_second",
                max_length=self.max_length,
                padding=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = enc.pop("offset_mapping").tolist()
            seq_ids = [enc.sequence_ids(i) for i in range(len(passages))]
            with torch.inference_mode():
                out = self.model(**enc)
        starts, ends = out.start_logits.float().numpy(), out.end_logits.float().numpy()
        toks = [
            [(o if s == 1 else None) for o, s in zip(off, sid, strict=True)]
            for off, sid in zip(offsets, seq_ids, strict=True)
        ]
        return list(starts), list(ends), toks

    def read(self, question: str, passages: list[str], sentences: list[list[tuple[int, int]]]) -> list[list[Span]]:
        """For each passage, the best span inside each of its ``sentences`` (same order)."""
        if not passages:
            return []
        starts, ends, toks = self.logits(question, passages)
        out = []
        for pi, (st, en, offs) in enumerate(zip(starts, ends, toks, strict=True)):
            null = float(st[0] + en[0])
            row = []
            for sent in sentences[pi]:
                found = best_span(st, en, offs, sent)
                if found is None:
                    row.append(
                        Span(pi, sent[0], sent[0], "", null - NO_SPAN_MARGIN, null, sent)
                    )  # cut off by truncation
                else:
                    (a, b), score = found
                    row.append(Span(pi, a, b, passages[pi][a:b], score, null, sent))
            out.append(row)
        return out


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: list,
    sentence: tuple[int, int],
    max_tokens: int = MAX_ANSWER_TOKENS,
) -> tuple[tuple[int, int], float] | None:
    """((char start, char end), start+end logit) of the best span of tokens inside ``sentence``."""
    pos = np.array(
        [i for i, o in enumerate(offsets) if o is not None and o[1] > o[0] and sentence[0] <= o[0] < sentence[1]]
    )
    if not len(pos):
        return None
    scores = start_logits[pos][:, None] + end_logits[pos][None, :]
    gap = pos[None, :] - pos[:, None]
    scores = np.where((gap >= 0) & (gap < max_tokens), scores, -np.inf)
    i, j = divmod(int(np.argmax(scores)), len(pos))
    return (offsets[pos[i]][0], min(offsets[pos[j]][1], sentence[1])), float(scores[i, j])
