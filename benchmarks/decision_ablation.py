"""Which hand rules of the answer-or-decline layer earn their place on news.

    python -m benchmarks.decision_ablation [--news ../shared/eval/news] [--part report]

The news clusters of one part of the split are asked with the default pipeline and with one rule
switched off at a time; each row prints the eval README's figures beside the full pipeline's,
measured in the same run:

- ``no_figure``: "how many …" / "how much did it cost" declined when the best sentence states no
  number / no sum (``Decider.no_figure``);
- ``entity_conflict``: the decision's entity-conflict input and the named-entity check
  (``rag.answer.entity_conflict``), as if no sentence ever conflicted;
- ``heading``: headlines, headings and link lines never the answer (``rag.answer.scoring.never_answers``).

The typing features (``type_match``, ``count_match``) are columns of the fitted scorer; their
ablation is a refit without them (``python -m rag.training.scorer --news DIR --without type_match,count_match``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.answer.decision import Decider
from rag.answer.evidence import Evidence
from rag.evaluation.news import part_clusters, run_news
from rag.machine import cpu_report
from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT.parent / "shared" / "eval" / "news"
FIGURES = ("accuracy", "false_abstain", "abstain_on_unanswerable", "citation_hit", "answers_with_unsupported_numbers")


class NoFigureOff(Decider):
    def no_figure(self, ev: Evidence) -> str | None:
        return None


class ConflictOff(Decider):
    def conflict(self, ev: Evidence) -> str | None:
        return None


def with_decider(kind: type[Decider]) -> type[Pipeline]:
    """The default pipeline deciding with ``kind`` (one rule switched off)."""

    class Variant(Pipeline):
        @property
        def decider(self) -> Decider:
            return kind(self.scorer, self.decision, self.refuse_below)

    return Variant


@contextmanager
def headings_answerable() -> Iterator[None]:
    import rag.answer.scoring

    kept = rag.answer.scoring.never_answers
    rag.answer.scoring.never_answers = lambda row: False
    try:
        yield
    finally:
        rag.answer.scoring.never_answers = kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--part", default="report")
    a = ap.parse_args()
    print(cpu_report())
    dirs = part_clusters(a.news, a.part)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        variants = {
            "full": Pipeline,
            "no_figure off": with_decider(NoFigureOff),
            "entity_conflict off": with_decider(ConflictOff),
        }
        results = {}
        for name, cls in variants.items():
            base = cls(None, None, docs_dir=dirs[0], index_dir=work / dirs[0].name, generator="none")
            results[name] = run_news(base, dirs, work).summary
        with headings_answerable():
            base = Pipeline(None, None, docs_dir=dirs[0], index_dir=work / dirs[0].name, generator="none")
            results["heading off"] = run_news(base, dirs, work).summary
    print(f"{len(dirs)} {a.part} clusters of {a.news}")
    print(f"{'variant':<22}" + "".join(f"{f[:18]:>20}" for f in FIGURES))
    for name, s in results.items():
        print(f"{name:<22}" + "".join(f"{s[f]:>20}" for f in FIGURES))
    print(json.dumps({k: {f: v[f] for f in (*FIGURES, "declined_by_kind")} for k, v in results.items()}))


if __name__ == "__main__":
    main()
