"""Loading, chunking and embedding on a Ray cluster, for archives that outgrow one machine.

``RayPreparer`` is a ``rag.index.store.Preparer``: the driver (``rag index --ray``) still plans from
file hashes, assembles and commits the same atomic generation as a single-process build; only the
new or changed articles go through a Ray Data pipeline::

    from_items(Pending rows) -> map_batches(_IndexWorker, actor pool) -> rows back to the driver

Each worker is an actor that builds its own ``Embedder`` from the embedder's *spec* (name,
backend, precision), so model weights never travel over the wire; it reads the article from its
path (the articles folder must be visible at the same path on every node: NFS, a shared volume),
cleans and chunks it with the same code as the local build, and embeds the passages the live index
does not already have. Ray Data restarts a worker that dies and retries its batch; if the run
fails anyway, ``RayIndexingError`` says so and nothing is committed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.preparing import Pending, Prepared, load_and_chunk, new_texts
from rag.index.store import IndexError_
from rag.models.embedding import Embedder
from rag.types import Chunk

log = logging.getLogger(__name__)

ARTICLES_PER_BATCH = 8  # ~100 passages: enough for the model, small enough to spread and retry


class RayIndexingError(IndexError_):
    """The Ray run could not finish; the previous index is still the live one."""


@dataclass(frozen=True)
class EmbedderSpec:
    """What a worker needs to build the same embedder as the driver (not the model itself)."""

    name: str
    backend: str
    dtype: str
    batch_size: int | None
    expected_id: str

    @classmethod
    def of(cls, embedder: Embedder) -> EmbedderSpec:
        return cls(embedder.name, embedder.backend, embedder.precision, embedder.batch_size, embedder.id)


@dataclass(frozen=True)
class WorkerConfig:
    spec: EmbedderSpec
    chunk_size: int
    chunk_overlap: int
    max_file_bytes: int
    threads: int


class _IndexWorker:
    """One Ray actor: loads the model once, then prepares batches of articles."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        spec, threads = config.spec, config.threads
        self.embedder = Embedder(
            spec.name, batch_size=spec.batch_size, dtype=spec.dtype, backend=spec.backend, threads=threads
        )
        if self.embedder.id != spec.expected_id:  # a node with another model version would mix vectors
            raise RayIndexingError(
                f"worker on {os.uname().nodename} has embedder {self.embedder.id!r}, the driver {spec.expected_id!r}"
            )
        self.embedder.dim  # load now, not inside the first batch  # noqa: B018
        self.args = (self.config.chunk_size, self.config.chunk_overlap, self.config.max_file_bytes)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        items = [
            Pending(str(s), Path(str(p)), frozenset(json.loads(str(k))))
            for s, p, k in zip(batch["source"], batch["path"], batch["known"], strict=True)
        ]
        done = [load_and_chunk(item, *self.args) for item in items]
        texts = [new_texts(item, d) for item, d in zip(items, done, strict=True)]
        vecs = self.embedder.encode([t for ts in texts for t in ts])
        out: dict[str, list] = {"source": [], "entry": [], "chunks": [], "vectors": [], "error": []}
        at = 0
        for d, ts in zip(done, texts, strict=True):
            out["source"].append(d.source)
            out["entry"].append(json.dumps(d.entry))
            out["chunks"].append(json.dumps([c.to_dict() for c in d.chunks], ensure_ascii=False))
            out["vectors"].append(vecs[at : at + len(ts)].astype(np.float32).tobytes())
            out["error"].append(d.error or "")
            at += len(ts)
        return out


def _prepared(row: dict, dim: int) -> Prepared:
    entry = json.loads(row["entry"])
    if entry is None:
        return Prepared(row["source"], error=row["error"] or f"{row['source']}: could not be read")
    chunks = [Chunk.from_dict(c) for c in json.loads(row["chunks"])]
    vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, dim)
    return Prepared(row["source"], entry, chunks, vectors)


@dataclass
class RayPreparer:
    """Prepares pending articles on a Ray cluster.

    ``address``: ``"local"`` starts a Ray instance on this machine with ``workers`` CPUs (one
    worker per core by default); anything else is passed to ``ray.init`` (``"auto"``, or
    ``ray://head:10001``). ``workers``: actors in the pool (default: the cluster's CPUs), each
    running the model on ``threads_per_worker`` cores."""

    embedder: Embedder
    chunk_size: int
    chunk_overlap: int
    max_file_bytes: int
    address: str = "local"
    workers: int | None = None
    threads_per_worker: int = 1
    show_progress: bool = False

    def __call__(self, pending: list[Pending]) -> list[Prepared]:
        ray = _import_ray()
        started = self._connect(ray)
        try:
            return list(self._run(ray, pending))
        except RayIndexingError:
            raise
        except Exception as e:  # Ray wraps worker errors in its own types; say what failed, keep the index
            cause = getattr(e, "cause", None) or e
            raise RayIndexingError(
                f"indexing on Ray failed ({type(cause).__name__}: {cause}); the previous index is unchanged"
            ) from e
        finally:
            if started:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Start or join a cluster; True when we started it (and must shut it down)."""
        if ray.is_initialized():
            return False
        kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        try:
            if self.address == "local":
                cpus = self.workers or os.cpu_count() or 1
                ray.init(
                    address="local", num_cpus=cpus * self.threads_per_worker, object_store_memory=512 * 2**20, **kwargs
                )
            else:
                ray.init(address=self.address, **kwargs)
        except Exception as e:
            raise RayIndexingError(f"cannot start or reach Ray at {self.address!r}: {e}") from e
        return True

    def _run(self, ray: Any, pending: list[Pending]) -> Iterator[Prepared]:
        import ray.data

        for name in ("ray", "ray.data"):  # Ray Data's INFO lines would bury the indexing report
            logging.getLogger(name).setLevel(logging.WARNING)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = self.show_progress
        cpus = ray.cluster_resources().get("CPU", 1)
        workers = self.workers or max(1, int(cpus // self.threads_per_worker))
        spec = EmbedderSpec.of(self.embedder)
        rows = [
            {"source": p.source, "path": str(p.path.resolve()), "known": json.dumps(sorted(p.known))} for p in pending
        ]
        workers = min(workers, len(rows))
        blocks = max(workers, min(len(rows), workers * 4, -(-len(rows) // ARTICLES_PER_BATCH)))
        config = WorkerConfig(spec, self.chunk_size, self.chunk_overlap, self.max_file_bytes, self.threads_per_worker)
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _IndexWorker,
            fn_constructor_kwargs={"config": config},
            batch_size=ARTICLES_PER_BATCH,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=self.threads_per_worker,
        )
        dim = self.embedder.dim
        seen: set[str] = set()
        for row in ds.iter_rows():
            seen.add(row["source"])
            yield _prepared(row, dim)
        missing = {p.source for p in pending} - seen
        if missing:
            raise RayIndexingError(
                f"the Ray run returned no result for {len(missing)} articles "
                f"(e.g. {sorted(missing)[0]}); the previous index is unchanged"
            )


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise RayIndexingError("indexing on Ray needs Ray: pip install 'rag[ray]'") from e
    return ray
