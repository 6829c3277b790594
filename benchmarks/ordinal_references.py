"""How often the ordinal resolver (``rag.answer.rewriting.resolve_ordinal``) rewrites a follow-up, and
how often it names the right item. Measured on SQuAD v1.1 dev, which it was not written on.

    python -m benchmarks.ordinal_references

Two measurements, each with the conversation the product would have (the previous question, and
our answer quoting the sentence or leading with the short span in bold):

- **false rewrites**: every consecutive question pair on one paragraph. SQuAD's second questions
  stand alone, so any rewrite is wrong ("What was the first Apollo crew?" must not become a
  question about an item of the previous answer).
- **items named**: every distinct gold answer that is a list ("A, B and C"), followed by "Tell
  me more about the second one." and "… the last one.". The expected item is the answer split at
  its commas and "and"/"or", a rough reference of its own: an answer like "rotifers and mollusc
  and crustacean larvae" has no one right split. A rewrite naming another item is the costly
  outcome; leaving the question as typed falls back to carrying the previous turn as context.
"""

from __future__ import annotations

import argparse
import json
import re
from itertools import pairwise
from pathlib import Path

from rag.answer.rewriting import resolve_ordinal
from rag.machine import cpu_report
from rag.training.reader import DEFAULT_SQUAD

_LIST = re.compile(r"[^,]+(, [^,]+)+,? (and|or) [^,]+")
_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")


def _sentence(context: str, at: int) -> str:
    start = context.rfind(". ", 0, at) + 2 if context.rfind(". ", 0, at) >= 0 else 0
    end = context.find(". ", at)
    return context[start : end + 1 if end >= 0 else len(context)]


def false_rewrites(squad: dict, limit: int | None = None) -> dict:
    pairs = rewritten = 0
    examples: list[tuple[str, str]] = []
    for article in squad["data"]:
        for para in article["paragraphs"]:
            for q1, q2 in pairwise(para["qas"]):
                if limit is not None and pairs >= limit:
                    break
                pairs += 1
                said = _sentence(para["context"], q1["answers"][0]["answer_start"])
                history = [
                    {"role": "user", "content": q1["question"]},
                    {"role": "assistant", "content": f"“{said}” [1]"},
                ]
                out = resolve_ordinal(q2["question"], history)
                if out != q2["question"]:
                    rewritten += 1
                    examples.append((q2["question"], out))
    return {"pairs": pairs, "rewritten": rewritten, "examples": examples[:10]}


def items_named(squad: dict, limit: int | None = None) -> dict:
    seen: set[str] = set()
    counts = {"asked": 0, "expected item": 0, "left as typed": 0, "another item": 0}
    examples: list[tuple[str, str]] = []
    for article in squad["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                gold = qa["answers"][0]["text"]
                if gold in seen or not _LIST.fullmatch(gold) or (limit is not None and len(seen) >= limit):
                    continue
                items = [x.strip(" .") for x in _SPLIT.split(gold) if x.strip(" .")]
                if any(len(x.split()) > 6 for x in items):
                    continue
                seen.add(gold)
                history = [
                    {"role": "user", "content": qa["question"]},
                    {"role": "assistant", "content": f"**{gold}** — “…” [1]"},
                ]
                for index, words in ((1, "the second one"), (-1, "the last one")):
                    asked = f"Tell me more about {words}."
                    out = resolve_ordinal(asked, history)
                    counts["asked"] += 1
                    if out == f"Tell me more about {items[index]}.":
                        counts["expected item"] += 1
                    elif out == asked:
                        counts["left as typed"] += 1
                    else:
                        counts["another item"] += 1
                        examples.append((gold, out))
    return {**counts, "examples": examples[:10]}


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--limit", type=int, default=None, help="question pairs / list answers to try")
    a = ap.parse_args()
    squad = json.loads(a.squad.read_text())
    fr = false_rewrites(squad, a.limit)
    print(f"false rewrites: {fr['rewritten']} of {fr['pairs']} consecutive SQuAD question pairs")
    for q, out in fr["examples"]:
        print(f"  {q!r} -> {out!r}")
    it = items_named(squad, a.limit)
    n = it["asked"]
    print(f"list answers: {n // 2}, ordinal follow-ups asked: {n}")
    for k in ("expected item", "left as typed", "another item"):
        print(f"  {k:>14}: {it[k]:4d} ({100 * it[k] / max(n, 1):.1f}%)")
    for gold, out in it["examples"]:
        print(f"  {gold!r} -> {out!r}")


if __name__ == "__main__":
    main()
