"""Kill the indexer with SIGKILL at random points of builds and incremental updates, many times,
and check after every kill that what the next start loads is the old index or the new one,
complete and consistent, never a mix.

    python -m benchmarks.faults [--rounds 100] [--articles 20]

Each round runs ``rag index`` in a fresh process while the articles folder alternates between two
states (a few articles edited, one removed, two added), and kills it either at a random moment
of its run or the moment the index folder shows a given stage of the commit: the temporary
generation folder, its FAISS file, the renamed generation, the new ``CURRENT`` pointer. Then:

- ``IndexStore.load()`` succeeds (or finds no index, if none was ever completed);
- passages, FAISS vectors, stored vectors and the manifest's count agree;
- the manifest's articles (name -> sha256) are exactly those of one state of the folder;
- every passage's text is that span of its article in that state, and sampled vectors are the
  embeddings of their passages.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.corpus import write_corpus
from rag.index.store import IndexStore
from rag.ingest.loading import load_document
from rag.machine import cpu_report
from rag.models.embedding import Embedder

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("time", "tmp-folder", "tmp-faiss", "new-generation", "pointer")


@dataclass
class Report:
    rounds: int = 0
    kills: int = 0
    by_trigger: dict[str, int] = field(default_factory=dict)
    loaded_old: int = 0
    loaded_new: int = 0
    no_index: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.kills} kills in {self.rounds} rounds ({', '.join(f'{k} {v}' for k, v in sorted(self.by_trigger.items()))}); "
            f"afterwards the old index {self.loaded_old}x, the new one {self.loaded_new}x, none yet {self.no_index}x; "
            f"{len(self.failures)} inconsistent"
        )


def folder_state(docs: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(docs.iterdir()) if p.is_file()}


def make_states(docs: Path, n_articles: int) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Two contents of the articles folder: A, and B = A with 3 edited, 1 removed, 2 added."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_corpus(Path(tmp), n_articles + 2, seed=11)
        generated = {p.name: p.read_bytes() for p in paths}
    a = {p.name: p.read_bytes() for p in sorted((ROOT / "seeds").glob("*.txt"))}
    names = sorted(generated)
    a.update({n: generated[n] for n in names[:n_articles]})
    b = dict(a)
    for n in names[:3]:
        b[n] = a[n] + b"\nA correction was appended to this article after publication.\n"
    del b[names[3]]
    b.update({n: generated[n] for n in names[n_articles:]})
    return a, b


def write_state(docs: Path, state: dict[str, bytes]) -> None:
    for p in docs.iterdir():
        if p.name not in state:
            p.unlink()
    for name, data in state.items():
        target = docs / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def _stage_seen(index_dir: Path, stage: str, before: set[str]) -> bool:
    try:
        names = set(os.listdir(index_dir))
    except FileNotFoundError:
        return False
    if stage == "tmp-folder":
        return any(n.startswith(".tmp-") for n in names)
    if stage == "tmp-faiss":
        return any(n.startswith(".tmp-") and (index_dir / n / "faiss.index").exists() for n in names)
    if stage == "new-generation":
        return any(n.startswith("gen-") and n not in before for n in names)
    if stage == "pointer":
        return any(n.startswith(".CURRENT-") for n in names)
    return False


def run_indexer(
    docs: Path, index_dir: Path, kill: tuple[str, float] | None = None, timeout: float = 300
) -> tuple[bool, str]:
    """Run ``rag index``; with ``kill``, SIGKILL it at that trigger. (killed?, what triggered)."""
    before = set(os.listdir(index_dir)) if index_dir.exists() else set()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.app.cli", "index", "--docs", str(docs), "--index", str(index_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    t0 = time.perf_counter()
    while proc.poll() is None:
        if kill is not None:
            stage, at = kill
            if (stage == "time" and time.perf_counter() - t0 >= at) or (
                stage != "time" and _stage_seen(index_dir, stage, before)
            ):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True, stage
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            raise TimeoutError("rag index did not finish")
        time.sleep(0.0005)
    if proc.returncode != 0:
        raise RuntimeError(f"rag index failed with exit code {proc.returncode}")
    return False, "finished"


def check_index(
    index_dir: Path, allowed: dict[str, dict[str, bytes]], embedder: Embedder, rng: random.Random
) -> str | None:
    """Which state the loadable index holds ("A"/"B"/"none"), or raise AssertionError."""
    loaded = IndexStore(index_dir).load()
    if loaded is None:
        return "none"
    m = loaded.manifest
    assert len(loaded.chunks) == loaded.faiss_index.ntotal == len(loaded.vectors) == m["count"], "counts disagree"
    held = {src: meta["hash"] for src, meta in m["docs"].items()}
    matches = [
        name for name, state in allowed.items() if held == {n: hashlib.sha256(d).hexdigest() for n, d in state.items()}
    ]
    assert matches, f"the manifest's articles match no state of the folder: {sorted(held)[:5]}"
    state = allowed[matches[0]]
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for c in loaded.chunks:
            assert c.source in state, f"passage of {c.source}, which that state does not have"
            if c.source not in texts:
                path = Path(tmp) / c.source
                path.write_bytes(state[c.source])
                texts[c.source] = load_document(path, c.source).text
            assert texts[c.source][c.start : c.end] == c.text, f"passage {c.id} is not its article's span"
    rows = rng.sample(range(len(loaded.chunks)), min(3, len(loaded.chunks)))
    fresh = embedder.encode([loaded.chunks[r].text for r in rows])
    sims = np.sum(fresh * np.asarray(loaded.vectors[rows]), axis=1)
    assert np.all(sims > 0.99), f"stored vectors are not their passages' embeddings ({sims})"
    return matches[0]


def kill_loop(rounds: int, n_articles: int = 20, seed: int = 0, embedder: Embedder | None = None, log=print) -> Report:
    rng = random.Random(seed)
    emb = embedder or Embedder()
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        docs, index_dir = Path(tmp) / "docs", Path(tmp) / "index"
        docs.mkdir()
        a, b = make_states(docs, n_articles)
        states = {"A": a, "B": b}
        # How long an uninterrupted full build and update take: the range random kills land in.
        write_state(docs, a)
        t0 = time.perf_counter()
        run_indexer(docs, index_dir)
        full = time.perf_counter() - t0
        write_state(docs, b)
        t0 = time.perf_counter()
        run_indexer(docs, index_dir)
        update = time.perf_counter() - t0
        folder, on_disk = "B", check_index(index_dir, states, emb, rng)
        for r in range(rounds):
            report.rounds += 1
            first_build = r % 5 == 4  # every fifth round starts from no index at all
            if first_build:
                shutil.rmtree(index_dir)
                on_disk = "none"
            elif on_disk == "none":  # a killed first build: complete one, so updates are tested again
                run_indexer(docs, index_dir)
                on_disk = check_index(index_dir, states, emb, rng)
            folder = "B" if folder == "A" else "A"
            write_state(docs, states[folder])
            stage = rng.choice(STAGES)
            at = rng.uniform(0, 1.1 * (full if first_build else update))
            killed, trigger = run_indexer(docs, index_dir, (stage, at))
            if killed:
                report.kills += 1
                report.by_trigger[trigger] = report.by_trigger.get(trigger, 0) + 1
            try:
                held = check_index(index_dir, states, emb, rng)
                assert held in (on_disk, folder), f"holds {held}, but only {on_disk} (old) or {folder} (new) are right"
            except AssertionError as e:
                report.failures.append(f"round {r} ({trigger}): {e}")
                log(f"round {r + 1}: INCONSISTENT after {trigger}: {e}")
                break
            if held == "none":
                report.no_index += 1
            elif held == folder and held != on_disk:
                report.loaded_new += 1
            else:
                report.loaded_old += 1
            log(
                f"round {r + 1}/{rounds}: {'killed at ' + trigger if killed else 'finished before the kill'}; "
                f"index held {on_disk} -> {held}"
            )
            on_disk = held
        # A completed run afterwards cleans up what the killed ones left behind, at once.
        run_indexer(docs, index_dir)
        assert check_index(index_dir, states, emb, rng) == folder
        leftovers = [n for n in os.listdir(index_dir) if n.startswith((".tmp-", ".CURRENT-"))]
        generations = [n for n in os.listdir(index_dir) if n.startswith("gen-")]
        if leftovers or len(generations) > 2:
            report.failures.append(f"left behind: {leftovers}, {len(generations)} generations")
    return report


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--articles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    report = kill_loop(args.rounds, args.articles, args.seed)
    print(report.summary())
    print(f"{(time.perf_counter() - t0) / 60:.1f} min")
    for f in report.failures:
        print("FAILURE:", f)
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
