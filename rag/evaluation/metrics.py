"""Measuring answers against a QA set, with the definitions of the project's eval README.

The figures must agree with the reference scorer, so normalization, overlap and number extraction
follow it exactly. Retrieval recall@k uses the same 60%-of-evidence-words coverage as
``citation_hit``, over the top-k retrieved passages.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.text import NUMBER_TOKEN
from rag.types import Answer

REFUSAL = re.compile(
    r"(not (found|mentioned|stated|contain|covered|provided|in the (sources|articles|documents|context))"
    r"|(do not|don't|does not|doesn't|cannot|can't|could not|couldn't) (know|find|answer|say|determine)"
    r"|no (information|relevant|answer|mention)|unable to (find|answer))",
    re.IGNORECASE,
)
_PUNCT = set(string.punctuation) - {"$", "%", "."}
# citation markers such as [1] or [1, 2] are structure, not numbers an answer states
_MARKERS = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")


def norm(s: str) -> str:
    s = s.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    s = s.replace("–", "-").replace("—", "-")
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = re.sub(r"\.(?!\d)", " ", s)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def toks(s: str) -> list[str]:
    return norm(s).split()


def f1(pred: str, gold: str) -> float:
    p, g = toks(pred), toks(gold)
    same = sum((Counter(p) & Counter(g)).values())
    if not same:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def overlap(evidence: str, text: str) -> float:
    e, t = toks(evidence), set(toks(text))
    return sum(1 for w in e if w in t) / max(1, len(e))


def numbers(s: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in NUMBER_TOKEN.findall(s)}


def load_jsonl(path: Path | str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def covers(evidence: list[str], texts: Iterable[str], threshold: float = 0.6) -> bool:
    texts = list(texts)
    return any(overlap(ev, t) >= threshold for ev in evidence for t in texts)


def retrieval_hits(item: dict, retrieved: list[tuple[str, str]], ks: tuple[int, ...] = (1, 3, 5)) -> dict[int, bool]:
    """For each k: is some evidence passage covered by the top-k (source, text) pairs of a gold source?"""
    out = {}
    for k in ks:
        top = [t for s, t in retrieved[:k] if s.split("/")[-1] in item["sources"]]
        out[k] = covers(item["evidence"], top)
    return out


def prediction(item: dict, ans: Answer) -> dict:
    """The prediction record of the eval README. ``answer`` carries the text without [n] markers:
    the markers are structure (they map to ``citations``), not numbers the answer states."""
    return {
        "id": item["id"],
        "answer": ans.plain_text,
        "abstained": ans.abstained,
        "citations": [{"source": c.source, "text": c.text, "start": c.start, "end": c.end} for c in ans.citations],
        "retrieved": [{"source": p.chunk.source, "text": p.chunk.text} for p in ans.passages],
        "rewritten_question": ans.rewritten_question,
        "sentences": [{"text": s.text, "kind": s.kind, "verified": s.verified} for s in ans.sentences],
        "notes": list(ans.notes),
        "seconds": ans.timings.get("total", 0.0),
    }


def score(items: list[dict], preds: dict[str, dict]) -> dict:
    rows = []
    for it in items:
        p = preds.get(it["id"], {"answer": "", "citations": []})
        ans = p.get("answer", "") or ""
        cites = p.get("citations", []) or []
        row: dict = {"id": it["id"], "type": it["type"]}
        abstained = bool(p["abstained"]) if p.get("abstained") is not None else bool(REFUSAL.search(ans))
        if it["type"] == "unanswerable":
            row["abstain_ok"] = abstained
        else:
            golds = [it["answer"], *it.get("aliases", [])]
            row["false_abstain"] = abstained
            if it.get("all_of"):  # several parts: each group needs one member in the answer
                row["correct"] = all(any(norm(g) and norm(g) in norm(ans) for g in grp) for grp in it["all_of"])
            else:
                row["correct"] = any(norm(g) and norm(g) in norm(ans) for g in golds)
            row["f1"] = max(f1(ans, g) for g in golds)
            row["cited"] = any(
                c.get("source", "").split("/")[-1] in it["sources"] and covers(it["evidence"], [c.get("text", "")])
                for c in cites
            )
            cited_text = " ".join(c.get("text", "") for c in cites)
            # a declined answer claims nothing (the closest passages it lists are not answers)
            bare = _MARKERS.sub(" ", ans)
            row["unsupported_numbers"] = (
                [] if abstained else sorted(numbers(bare) - numbers(cited_text) - numbers(it["question"]))
            )
            retrieved = [(r["source"], r["text"]) for r in p.get("retrieved", [])]
            row["recall"] = retrieval_hits(it, retrieved)
        rows.append(row)
    ans_rows = [r for r in rows if r["type"] != "unanswerable"]
    un_rows = [r for r in rows if r["type"] == "unanswerable"]

    def pct(xs: list) -> float:
        return round(100 * sum(xs) / max(1, len(xs)), 1)

    summary = {
        "n": len(rows),
        "accuracy": pct([r["correct"] for r in ans_rows]),
        "citation_hit": pct([r["cited"] for r in ans_rows]),
        "abstain_on_unanswerable": pct([r["abstain_ok"] for r in un_rows]),
        "false_abstain": pct([r["false_abstain"] for r in ans_rows]),
        "answers_with_unsupported_numbers": pct([bool(r["unsupported_numbers"]) for r in ans_rows]),
        "mean_f1": round(100 * sum(r["f1"] for r in ans_rows) / max(1, len(ans_rows)), 1),
    }
    for k in (1, 3, 5):
        summary[f"recall@{k}"] = pct([r["recall"][k] for r in ans_rows])
    summary["accuracy_by_type"] = {
        t: pct([r["correct"] for r in ans_rows if r["type"] == t]) for t in sorted({r["type"] for r in ans_rows})
    }
    return {"summary": summary, "rows": rows}


@dataclass
class EvalRun:
    predictions: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def run_eval(
    items: list[dict],
    answer: Callable[[str, list[dict] | None], Answer],
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Every question through ``answer(question, history)``; predictions, figures and latencies."""
    preds = []
    latencies = []
    kinds: Counter[str] = Counter()
    for i, it in enumerate(items):
        t0 = time.perf_counter()
        ans = answer(it["question"], it.get("history"))
        latencies.append(time.perf_counter() - t0)
        preds.append(prediction(it, ans))
        if not ans.abstained:
            kinds["generated" if any(s.kind == "generated" for s in ans.sentences) else "quoted"] += 1
        if progress:
            progress(i + 1, len(items))
    out = score(items, {p["id"]: p for p in preds})
    summary = out["summary"]
    answered = max(1, sum(kinds.values()))
    summary["answers_generated_verified"] = round(100 * kinds["generated"] / answered, 1)
    summary["answers_quoted"] = round(100 * kinds["quoted"] / answered, 1)
    lat = sorted(latencies)
    if lat:
        summary["latency_p50_s"] = round(lat[len(lat) // 2], 3)
        summary["latency_p90_s"] = round(lat[min(len(lat) - 1, int(0.9 * len(lat)))], 3)
    return EvalRun(preds, summary, out["rows"])
