"""The abstention trade-off on a QA set: how often the system refuses answerable questions versus
answers unanswerable ones, for a range of evidence thresholds (``min_support``).

    python benchmarks/calibrate.py ../shared/eval/dev.jsonl [--generator none]

Each question is answered once with the threshold at zero; the best candidate's support score is
recorded and every threshold is then applied to it, so the curve costs one pass.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rag.evaluation import load_jsonl, norm
from rag.pipeline import Pipeline


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qa", type=Path)
    ap.add_argument("--generator", default="none")
    args = ap.parse_args()
    pipe = Pipeline(generator=args.generator, min_support=0.0)
    rows = []
    for it in load_jsonl(args.qa):
        ans = pipe.query(it["question"], history=it.get("history"))
        support = ans.support
        golds = [it["answer"], *it.get("aliases", [])]
        correct = any(norm(g) in norm(ans.plain_text) for g in golds) and not ans.abstained
        rows.append((it["type"] == "unanswerable", support, correct, it["id"]))
    answerable = [r for r in rows if not r[0]]
    unanswerable = [r for r in rows if r[0]]
    print(f"{'min_support':>11} {'false_abstain':>13} {'abstain_unans':>13} {'accuracy':>8}")
    for t in [x / 100 for x in range(20, 62, 2)]:
        fa = sum(r[1] < t for r in answerable) / len(answerable)
        au = sum(r[1] < t for r in unanswerable) / max(1, len(unanswerable))
        acc = sum(r[2] and r[1] >= t for r in answerable) / len(answerable)
        print(f"{t:>11.2f} {100 * fa:>12.1f}% {100 * au:>12.1f}% {100 * acc:>7.1f}%")
    print("\nper question (support, correct):")
    for unans, support, correct, qid in sorted(rows, key=lambda r: r[1]):
        print(f"  {qid} {'UNANSWERABLE' if unans else ('ok' if correct else 'wrong'):>12} {support:.3f}")


if __name__ == "__main__":
    main()
