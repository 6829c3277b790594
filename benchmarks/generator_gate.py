"""When does a SmolLM2 draft survive verification? Measured on the SQuAD calibration titles.

    python -m benchmarks.generator_gate [--n 80]

Every answerable calibration question is answered with the generator forced on
(``draft_policy=always``); the table splits the answers by whether the reader found a short
answer, and reports how often a model-written sentence survived verification, accuracy with and
without the generator, and the time the draft cost. The default policy (draft only when there is
no short answer) rests on these figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rag.evaluation.squad_open import contains_gold, make_cases, open_pipeline
from rag.machine import cpu_report
from rag.settings import default_cache_dir
from rag.training.reader import DEFAULT_SQUAD


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--n", type=int, default=80)
    a = ap.parse_args()
    work = default_cache_dir() / "squad-open"
    gen = open_pipeline(a.squad, work, generator="packaged", draft_policy="always")
    ext = open_pipeline(a.squad, work, generator="none")
    gen.warm_up()
    cases = [c for c in make_cases(a.squad, "calibration", a.n) if c.answerable]
    groups: dict[str, list[dict]] = {"short answer found": [], "no short answer": []}
    for c in cases:
        ev = ext.gather(c.q.question)
        if ev.support < ext.refuse_below:
            continue
        key = "short answer found" if ext.answers.short_answer(ev) is not None else "no short answer"
        t0 = time.perf_counter()
        g = gen.query(c.q.question)
        dt = time.perf_counter() - t0
        e = ext.query(c.q.question)
        groups[key].append(
            {
                "survived": any(s.kind == "generated" for s in g.sentences),
                "gen_ok": contains_gold(g.plain_text, c.q.answers),
                "ext_ok": contains_gold(e.plain_text, c.q.answers),
                "seconds": dt,
            }
        )
    print(
        f"{'calibration questions':<22} {'n':>4} {'draft kept':>11} {'acc. with draft':>16} {'acc. extractive':>16} {'draft p50 s':>12}"
    )
    for key, rows in groups.items():
        if not rows:
            continue

        def pct(k: str, rows: list = rows) -> float:
            return 100 * sum(r[k] for r in rows) / len(rows)

        print(
            f"{key:<22} {len(rows):>4} {pct('survived'):>10.1f}% {pct('gen_ok'):>15.1f}% {pct('ext_ok'):>15.1f}% "
            f"{statistics.median(r['seconds'] for r in rows):>12.2f}"
        )


if __name__ == "__main__":
    main()
