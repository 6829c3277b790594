"""Passage size and overlap against what retrieval needs: recall@5 beside the tokens embedded.

    python -m benchmarks.passage_sizing [--configs 600:1,600:0,800:0,1000:0] [-n 3000]

For each ``size:overlap`` (characters, sentences shared by consecutive passages), with the
product's loader, chunker, encoder and hybrid retriever:

- SQuAD v1.1 dev, every paragraph an article, ``-n`` questions (seed 0): a hit at 5 is a passage
  of the gold paragraph among the top 5 (``benchmarks/squad_retrieval.py``'s figure);
- SQuAD v1.1 dev, every article (title) an article: a hit is a top-5 passage of the right article
  containing a gold answer, so a passage that crosses paragraphs counts only where it holds one;
- the news collection, each cluster indexed alone, answerable questions made standalone as the
  product does, hit as in ``rag eval`` (a top-5 passage of a gold source covers the evidence),
  on the fit + calibration clusters (where a size would be chosen) and on the report clusters;
- the word-piece tokens embedded for the first 16 SQuAD articles (the corpus of
  ``benchmarks/indexing.py --squad-titles 16``), which is what indexing time follows.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from rag.machine import cpu_report

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "eval" / "external" / "squad-v1.1" / "dev-v1.1.json"
NEWS = ROOT.parent / "shared" / "eval" / "news"


def squad_titles(docs: Path, data: list[dict]) -> list[tuple[str, str, list[str]]]:
    """Every SQuAD article as one file; (question, file, gold answers)."""
    docs.mkdir(parents=True, exist_ok=True)
    out = []
    for i, art in enumerate(data):
        name = f"{i:02d}.txt"
        (docs / name).write_text(
            art["title"].replace("_", " ") + "\n\n" + "\n\n".join(p["context"] for p in art["paragraphs"]), "utf-8"
        )
        out += [
            (qa["question"], name, [a["text"] for a in qa["answers"]]) for p in art["paragraphs"] for qa in p["qas"]
        ]
    return out


def news_recall(emb, size: int, overlap: int, clusters: list[Path]) -> float:
    from rag.answer.retrieval import Retriever
    from rag.answer.rewriting import rewrite_followup
    from rag.evaluation.metrics import load_jsonl, retrieval_hits
    from rag.index.store import IndexStore
    from rag.index.sync import sync_index

    hits = total = 0
    for cluster in clusters:
        with tempfile.TemporaryDirectory() as tmp:
            docs = Path(tmp) / "docs"
            docs.mkdir()
            for f in cluster.iterdir():
                if f.name != "questions.jsonl" and f.is_file():
                    (docs / f.name).write_bytes(f.read_bytes())
            index, _ = sync_index(docs, IndexStore(Path(tmp) / "index"), emb, size, overlap)
            r = Retriever(index, emb)
            for it in load_jsonl(cluster / "questions.jsonl"):
                if it["type"] == "unanswerable" or not it.get("evidence"):
                    continue
                q = rewrite_followup(it["question"], it.get("history"))
                got = [(p.chunk.source, p.chunk.text) for p in r.retrieve(q, 5)]
                hits += retrieval_hits(it, got, (5,))[5]
                total += 1
    return 100 * hits / max(total, 1)


def run(configs: list[tuple[int, int]], n: int) -> list[dict]:
    from benchmarks.squad_retrieval import recall, write_paragraphs
    from rag.answer.retrieval import Retriever
    from rag.evaluation.news import part_clusters
    from rag.index.store import IndexStore
    from rag.index.sync import sync_index
    from rag.models.embedding import Embedder

    emb = Embedder()
    tok = emb._export[1] if emb.backend == "onnx" else None
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    chosen_on = part_clusters(NEWS, "fit") + part_clusters(NEWS, "calibration")
    report_on = part_clusters(NEWS, "report")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paragraphs = write_paragraphs(SQUAD, Path(tmp) / "paragraphs", n)
        titles = squad_titles(Path(tmp) / "titles", data)
        sample = random.Random(0).sample(titles, min(n, len(titles)))
        for size, overlap in configs:
            row: dict = {"size": size, "overlap": overlap}
            index, _ = sync_index(
                Path(tmp) / "paragraphs", IndexStore(Path(tmp) / f"p{size}-{overlap}"), emb, size, overlap
            )
            row["squad_paragraphs_R@5"] = recall(index, emb, paragraphs, "hybrid", 1.5)[5]
            index, _ = sync_index(
                Path(tmp) / "titles", IndexStore(Path(tmp) / f"t{size}-{overlap}"), emb, size, overlap
            )
            r = Retriever(index, emb)
            hit = 0
            for q, name, answers in sample:
                top = [p.chunk.text for p in r.retrieve(q, 5) if p.chunk.source == name]
                hit += any(a in t for a in answers for t in top)
            row["squad_titles_R@5"] = 100 * hit / len(sample)
            first16 = [c.text for c in index.chunks if int(c.source.split(".")[0]) < 16]
            row["passages_16"] = len(first16)
            row["chars_16"] = sum(map(len, first16))
            if tok is not None:
                row["tokens_16"] = sum(sum(e.attention_mask) for e in tok.encode_batch(first16))  # not the padding
            row["news_chosen_R@5"] = news_recall(emb, size, overlap, chosen_on)
            row["news_report_R@5"] = news_recall(emb, size, overlap, report_on)
            rows.append(row)
            print(
                f"{size:>5} {overlap:>3}  SQuAD paragraphs {row['squad_paragraphs_R@5']:5.1f}%  "
                f"titles {row['squad_titles_R@5']:5.1f}%  news fit+cal {row['news_chosen_R@5']:5.1f}%  "
                f"report {row['news_report_R@5']:5.1f}%   16 articles: {row['passages_16']} passages, "
                f"{row['chars_16'] / 1000:.0f}k chars, {row.get('tokens_16', 0) / 1000:.0f}k tokens",
                flush=True,
            )
    return rows


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="600:1,600:0,800:0,1000:0")
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/passage_sizing.json"))
    args = ap.parse_args()
    configs = [(int(a), int(b)) for a, b in (c.split(":") for c in args.configs.split(","))]
    print(f"recall@5, hybrid retrieval; SQuAD v1.1 dev ({args.n} questions, seed 0); news {NEWS}")
    rows = run(configs, args.n)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
