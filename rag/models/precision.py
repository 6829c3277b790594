"""Which precision the ONNX encoder runs at on this CPU: timed, not assumed.

int8 weights pay off only where the CPU multiplies 8-bit integers quickly (AVX-512 VNNI, AVX-VNNI,
AMX): on a 2-core EPYC with AVX-512 VNNI int8 embeds 2.0x the passages/s of float32, on a 2-core
EPYC with AVX2 only it embeds 0.97x (``docs/experiments.md``). So the first time an encoder runs on
a kind of CPU, both graphs are timed on the same passage-sized text and int8 is chosen only where
it is clearly faster; float32 is exact, int8 moves vectors a little (mean cosine 0.994 to float32).
The result is kept under the export's cache folder, keyed by the CPU's model and vector
extensions, so the timing runs once per machine kind (about a second) and a process that answers
from an existing index never runs it: an index keeps the precision it was built with
(``Embedder.follow``), since queries and stored vectors must come from the same graph.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.machine import cpu_info, cpu_key

INT8_MIN_SPEEDUP = 1.2  # below this, float32's exact vectors are worth more than the time saved
TIMING_CALLS = 8  # timed calls per precision, after one warm-up; median taken
# A passage-sized English text (about 130 word pieces, as a 600-character passage); written here.
SAMPLE = (
    "The council met on Tuesday evening to discuss the proposed budget for the coming year. "
    "Members argued over how much should go to road repairs, school buildings and the public "
    "library, which has cut its opening hours twice since the spring. The finance officer said "
    "that revenue from local taxes had risen by four percent, but that the cost of energy and "
    "wages had grown faster. A vote on the final plan is expected next month, after residents "
    "have had a chance to comment at two public hearings in the town hall and online."
)


BATCH = 8  # texts per call tried for float32 (int8 stays at one: it quantizes activations per call)
BATCH_MIN_SPEEDUP = 1.1  # per text, over one text per call: below this, one per call (no padding at all)


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision (and texts per call) an encoder runs at and why, as ``rag index`` prints it."""

    precision: str
    reason: str
    int8_ms: float | None = None  # median milliseconds per passage-sized text, one core, one per call
    float32_ms: float | None = None
    batch: int = 1  # texts per model call
    float32_batch_ms: float | None = None  # per text, BATCH equal texts per call


def _time_graph(path: Path, ids: Any, mask: Any) -> float:
    """Median milliseconds of one call of ``path`` on these inputs (one core), after a warm-up."""
    from rag.models.onnx_export import feed, session

    sess = session(path)
    inputs = feed(sess, ids, mask)
    sess.run(None, inputs)
    times = []
    for _ in range(TIMING_CALLS):
        t0 = time.perf_counter()
        sess.run(None, inputs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def measure(graphs: dict[str, Path], tokenizer: Any) -> PrecisionChoice:
    """Time both graphs on ``SAMPLE``, one text per call, and float32 on ``BATCH`` copies of it
    per call (equal lengths: the best case of the encoder's length-sorted batches)."""
    import numpy as np

    enc = tokenizer.encode(SAMPLE)

    def rows(n: int) -> tuple[Any, Any]:
        return np.array([enc.ids] * n, dtype=np.int64), np.array([enc.attention_mask] * n, dtype=np.int64)

    ms = {p: round(_time_graph(path, *rows(1)), 3) for p, path in graphs.items()}
    batched = round(_time_graph(graphs["float32"], *rows(BATCH)) / BATCH, 3)
    speedup = ms["float32"] / ms["int8"]
    cpu = cpu_info()
    where = f"{cpu['cpu']} with {', '.join(cpu['isa']) or 'no AVX2'}"
    if speedup >= INT8_MIN_SPEEDUP:
        return PrecisionChoice(
            "int8", f"int8 timed {speedup:.2f}x float32 on this CPU, {where}", ms["int8"], ms["float32"], 1, batched
        )
    batch = BATCH if ms["float32"] / batched >= BATCH_MIN_SPEEDUP else 1
    why = f"int8 timed only {speedup:.2f}x float32 (< {INT8_MIN_SPEEDUP}x) on this CPU, {where}"
    if batch > 1:
        why += f"; {BATCH} texts per call {ms['float32'] / batched:.2f}x one"
    return PrecisionChoice("float32", why, ms["int8"], ms["float32"], batch, batched)


def choice_file(export_folder: Path) -> Path:
    key = hashlib.sha256(cpu_key().encode()).hexdigest()[:12]
    return export_folder / f"precision-{key}.json"


def cached_choice(export_folder: Path, graphs: dict[str, Path], tokenizer: Any) -> PrecisionChoice:
    """The recorded choice for this CPU kind, measured and recorded (atomically) when missing."""
    path = choice_file(export_folder)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("precision") in ("int8", "float32"):
            return PrecisionChoice(
                saved["precision"],
                saved["reason"],
                saved.get("int8_ms"),
                saved.get("float32_ms"),
                int(saved.get("batch", 1)),
                saved.get("float32_batch_ms"),
            )
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    choice = measure(graphs, tokenizer)
    record = dict(asdict(choice), cpu=cpu_key())
    try:
        fd, tmp = tempfile.mkstemp(prefix=".precision-", dir=export_folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, path)
    except OSError:  # a read-only cache: measure again next time, still correct
        pass
    return choice
