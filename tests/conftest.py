"""Shared fixtures: real articles, the real packaged embedder, real indexes in temporary folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.models.embedding import Embedder
from rag.pipeline import Components, Pipeline

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SQUAD = ROOT.parent / "shared" / "eval" / "external" / "squad-v1.1" / "dev-v1.1.json"
needs_squad = pytest.mark.skipif(not SQUAD.is_file(), reason="SQuAD v1.1 dev is not beside the checkout")

# Two sentences of the bundled articles, for tests that check drafts against a passage.
SPENDING = (
    "According to a recent report by the Council on Foreign Relations, defense spending in the Indo-Pacific "
    "region has risen by 18% in the last year, highlighting the growing need for security alliances."
)
TREATY = (
    "Since the 1951 Treaty of San Francisco, the U.S. has provided a security umbrella for Japan, allowing it "
    "to focus on economic development."
)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def seeds_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the bundled articles, so no test touches the repository's seeds/."""
    dst = tmp_path_factory.mktemp("seeds")
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, dst / f.name)
    return dst


def synced_pipeline(docs: Path, index_dir: Path, embedder: Embedder) -> Pipeline:
    """An extractive pipeline over ``docs`` with its own, freshly built index, sharing one loaded
    embedder across fixtures."""
    pipe = Pipeline(docs_dir=docs, index_dir=index_dir, generator="none", components=Components(embedder=embedder))
    pipe.sync()
    return pipe


@pytest.fixture(scope="session")
def pipeline(seeds_copy: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Pipeline:
    """An extractive pipeline over the seeds, with its own index folder."""
    return synced_pipeline(seeds_copy, tmp_path_factory.mktemp("index"), embedder)
