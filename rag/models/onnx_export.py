"""Encoders on ONNX Runtime: exported once from the configured weights, cached, then run without torch.

Why: on this 2-core CPU the fused, int8 MiniLM graph embeds about twice the passages per second
of torch float32 (``benchmarks/indexing.py`` prints both in one run), and a process that only
answers extractively need not import torch or transformers at all (seconds of start-up).

The export is the only step that needs torch: it loads the weights the way the torch backend
does (safetensors only, no remote code), traces them with eager attention so ONNX Runtime's
transformer optimizer can fuse attention, LayerNorm and GELU, and for ``int8`` quantizes the
weights of every matrix product (dynamic quantization, per channel). Nothing touches a hub for
the packaged models. The result goes to ``<cache>/onnx/<key>/``, written to a temporary folder
and renamed into place, so a crash mid-export leaves no half file; ``key`` covers the source
weights (path, size, mtime), the model kind and the library versions, so new weights re-export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the exported graph or its meta.json changes
_EXPORT_LOCK = threading.Lock()
PRECISIONS = ("float32", "int8")


class OnnxExportError(RuntimeError):
    """The model could not be exported to ONNX; the message says which and why."""


@dataclass
class OnnxModel:
    """An exported encoder: its graph files, tokenizer and how to pool its output."""

    folder: Path
    meta: dict

    def graph(self, precision: str) -> Path:
        return self.folder / ("model-int8.onnx" if precision == "int8" else "model.onnx")


def _fingerprint(source: Path | str, kind: str) -> str:
    """Changes whenever the source weights or the exporting libraries change."""
    import onnxruntime

    parts = [kind, str(source), f"format{EXPORT_FORMAT}", f"ort{onnxruntime.__version__}"]
    path = Path(source)
    if path.exists():
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix in (".safetensors", ".json", ".txt"):
                st = f.stat()
                parts.append(f"{f.relative_to(path)}:{st.st_size}:{int(st.st_mtime)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def cached_export(source: Path | str, kind: str, cache_dir: Path, export: Callable[[Path], dict]) -> OnnxModel:
    """The cached export of ``source``; ``export(folder)`` writes model.onnx and tokenizer.json
    into ``folder`` and returns the metadata the runtime needs."""
    folder = Path(cache_dir) / "onnx" / f"{kind}-{_fingerprint(source, kind)}"
    meta_file = folder / "meta.json"
    with _EXPORT_LOCK:
        if not meta_file.is_file():
            log.warning("exporting %s %s to ONNX (once; cached in %s)", kind, source, folder)
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
            try:
                with warnings.catch_warnings():  # the tracer's and quantizer's advice is for their developers
                    warnings.simplefilter("ignore")
                    quiet = logging.getLogger().level
                    logging.getLogger().setLevel(logging.ERROR)
                    try:
                        meta = export(tmp)
                        _optimize(tmp / "model.onnx", meta)
                        _quantize(tmp / "model.onnx", tmp / "model-int8.onnx")
                    finally:
                        logging.getLogger().setLevel(quiet)
                (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
                try:
                    os.replace(tmp, folder)
                except OSError:  # another process finished first: keep its copy
                    if not meta_file.is_file():
                        raise
            except OnnxExportError:
                raise
            except Exception as e:
                raise OnnxExportError(f"cannot export {kind} {source} to ONNX: {e}") from e
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return OnnxModel(folder, json.loads(meta_file.read_text(encoding="utf-8")))


def export_transformer(
    model: Any, tokenizer: Any, sample: tuple, outputs: list[str], folder: Path, setting: str
) -> dict:
    """The steps every encoder export shares: the fast tokenizer saved as ``tokenizer.json``,
    attention switched to the eager form ONNX Runtime's optimizer fuses, and ``model`` traced on
    ``tokenizer(*sample)`` into ``model.onnx``. ``setting`` names the knob that avoids ONNX.
    Returns the metadata the runtime needs."""
    if not getattr(tokenizer, "is_fast", False):
        raise OnnxExportError(f"{model.name_or_path}: no fast tokenizer (tokenizer.json); set {setting}=torch")
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    try:
        model.set_attn_implementation("eager")
    except Exception as e:  # noqa: BLE001 - unfused attention is slower, not wrong
        log.info("attention stays unfused in the ONNX export: %s", e)
    enc = tokenizer(*sample, padding=True, return_tensors="pt")
    inputs = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
    _trace(model, inputs, outputs, folder / "model.onnx")
    return {**model_meta(model.config), "pad_id": int(tokenizer.pad_token_id or 0)}


def _trace(module: Any, inputs: dict, outputs: list[str], path: Path) -> None:
    """``torch.onnx.export`` with batch and sequence axes left dynamic."""
    import torch

    names = list(inputs)

    class Positional(torch.nn.Module):  # the exporter passes inputs by position
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, *args: Any) -> Any:
            out = self.inner(**dict(zip(names, args, strict=False)))
            return tuple(out[k] for k in outputs)

    axes = {k: {0: "batch", 1: "tokens"} for k in names + outputs}
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            Positional().eval(),
            tuple(inputs[k] for k in names),
            str(path),
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _optimize(path: Path, meta: dict) -> None:
    """Fuse attention/LayerNorm/GELU for BERT-like graphs; other architectures run unfused."""
    if meta.get("model_type") not in ("bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra"):
        return
    try:
        from onnxruntime.transformers import optimizer

        model_type = (
            "bert" if meta["model_type"] in ("mpnet", "electra", "xlm-roberta", "roberta") else meta["model_type"]
        )
        opt = optimizer.optimize_model(
            str(path), model_type=model_type, num_heads=meta["num_heads"], hidden_size=meta["hidden_size"], opt_level=1
        )
        meta["fused"] = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
        opt.save_model_to_file(str(path))
    except Exception as e:  # noqa: BLE001 - an unfused graph is slower, not wrong
        log.warning("ONNX graph fusion skipped (%s); the graph runs unfused", e)


def _quantize(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def model_meta(config: Any) -> dict:
    return {
        "model_type": getattr(config, "model_type", ""),
        "num_heads": int(getattr(config, "num_attention_heads", 0)),
        "hidden_size": int(getattr(config, "hidden_size", 0)),
    }


def session(path: Path, threads: int = 1) -> Any:
    """An ONNX Runtime session; ``threads`` intra-op threads (callers run batches in parallel
    threads instead: MiniLM's matrices are too small to split well over cores)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def feed(sess: Any, ids: np.ndarray, mask: np.ndarray, type_ids: np.ndarray | None = None) -> dict:
    """The inputs this graph takes (some architectures have no token types)."""
    wanted = {i.name for i in sess.get_inputs()}
    out = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in wanted:
        out["token_type_ids"] = type_ids if type_ids is not None else np.zeros_like(ids)
    return {k: v for k, v in out.items() if k in wanted}
