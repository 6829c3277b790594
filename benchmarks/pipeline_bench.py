"""Cold index build and warm query latency on the bundled articles, each beside a baseline.

    python benchmarks/pipeline_bench.py [--docs seeds] [--repeat 3]

- cold build: ``rag index`` in a fresh process (imports + model load + clean + chunk + embed +
  write), against the raw limit of the same process doing only ``SentenceTransformer.encode``.
- warm query: ``Pipeline.query`` p50/p90 over the dev questions (or built-in ones), against the
  bare retrieval step (query embedding + FAISS + BM25) that every answer has to pay anyway.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "How much U.S. debt does Japan hold?",
    "Which air base in Okinawa is mentioned?",
    "What did Trump suggest if Japan didn't pay more for defense?",
    "Who is quoted from the Tokyo Institute of Technology?",
    "How many Tomahawk missiles is Japan acquiring?",
    "What tariff has the U.S. imposed on Japan?",
    "What is the boiling point of mercury?",
    "Where was the trilateral summit of China, Japan and South Korea held?",
]

RAW_ENCODE = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from rag.chunking import chunk_documents
from rag.embedding import Embedder
from rag.loading import load_documents
texts = [c.text for c in chunk_documents(load_documents(Path(sys.argv[1])))]
e = Embedder(); e.model
t1 = time.perf_counter()
e.encode(texts)
print(time.perf_counter() - t0, time.perf_counter() - t1, len(texts))
"""


FIRST_ANSWER = """
import sys, time, resource
T = time.perf_counter()
from rag.pipeline import Pipeline
p = Pipeline(generator=sys.argv[1])
a = p.query("How many Tomahawk cruise missiles is Japan acquiring?")
print(time.perf_counter() - T, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def fresh_first_answer(generator: str) -> tuple[float, float]:
    """Seconds from interpreter start to the first answer, and peak RSS (MB), in a new process."""
    out = subprocess.run([sys.executable, "-c", FIRST_ANSWER, generator], check=True, capture_output=True, text=True)
    secs, rss = out.stdout.split()
    return float(secs), float(rss)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, default=ROOT / "seeds")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    builds, raws, encodes = [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "rag.cli", "index", "--docs", str(args.docs), "--index", tmp],
                check=True, capture_output=True,
            )
            builds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", RAW_ENCODE, str(args.docs)], check=True, capture_output=True, text=True)
        raws.append(time.perf_counter() - t0)
        total_in_proc, encode_s, n = out.stdout.split()
        encodes.append(float(encode_s))

    from rag.pipeline import Pipeline

    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(docs_dir=args.docs, index_dir=Path(tmp), generator="none")
        pipe.sync()
        pipe.warm_up()
        lat, ret = [], []
        for _ in range(3):
            for q in QUESTIONS:
                t0 = time.perf_counter()
                pipe.query(q)
                lat.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                pipe.retriever.retrieve(q, pipe.settings.top_k)
                ret.append(time.perf_counter() - t0)

    fresh_first_answer("packaged")  # make sure the converted weights are cached (a "second start")
    starts = [fresh_first_answer("packaged") for _ in range(args.repeat)]
    base_starts = [fresh_first_answer("none") for _ in range(args.repeat)]
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(docs_dir=args.docs, index_dir=Path(tmp), generator="packaged")
        pipe.warm_up()
        gen_lat, first_tok = [], []
        for q in QUESTIONS:
            ans = pipe.query(q)
            gen_lat.append(ans.timings["total"])
            if "first_token" in ans.timings:
                first_tok.append(ans.timings["first_token"])

    b, r = statistics.median(builds), statistics.median(raws)
    print(f"{'figure':<44} {'value':>10} {'baseline':>10} {'ratio':>7}")
    print(f"{'cold index build, fresh process (s)':<44} {b:>10.2f} {r:>10.2f} {b / r:>7.2f}   baseline: same process, encode only")
    print(f"{'  of which embedding ' + n + ' passages (s)':<44} {statistics.median(encodes):>10.2f}")
    print(f"{'warm query p50 (s)':<44} {pct(lat, .5):>10.3f} {pct(ret, .5):>10.3f} {pct(lat, .5) / pct(ret, .5):>7.2f}   baseline: retrieval only")
    print(f"{'warm query p90 (s)':<44} {pct(lat, .9):>10.3f} {pct(ret, .9):>10.3f} {pct(lat, .9) / pct(ret, .9):>7.2f}")
    s1, s0 = statistics.median(x for x, _ in starts), statistics.median(x for x, _ in base_starts)
    print(f"{'second start to first answer, SmolLM2 (s)':<44} {s1:>10.2f} {s0:>10.2f} {s1 / s0:>7.2f}   baseline: extractive")
    print(f"{'  peak RSS (MB)':<44} {max(m for _, m in starts):>10.0f} {max(m for _, m in base_starts):>10.0f}")
    g50, g90 = pct(gen_lat, .5), pct(gen_lat, .9)
    print(f"{'warm answer p50 / p90, SmolLM2 (s)':<44} {g50:>5.2f}/{g90:<4.2f} {pct(lat, .5):>10.3f} {g50 / pct(lat, .5):>7.1f}   baseline: extractive p50")
    if first_tok:
        print(f"{'time to first streamed token p50 (s)':<44} {pct(first_tok, .5):>10.2f}")


if __name__ == "__main__":
    main()
