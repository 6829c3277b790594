"""Indexing throughput and incremental updates, beside their baselines in the same run.

    python benchmarks/indexing.py [--articles 300]

- rag: ``sync_index`` from files to a persisted index (read, clean, chunk, embed, FAISS, write);
- raw limit: ``SentenceTransformer.encode`` of exactly the same passages, nothing else;
- LangChain tutorial pipeline: ``RecursiveCharacterTextSplitter(1000, 200)`` +
  ``HuggingFaceEmbeddings`` (same packaged model) + ``FAISS.from_documents``;
- incremental: one article changed, re-synced, as a share of the full build.
Models are loaded before timing starts in all three. Passages differ in size between rag (600
chars) and LangChain (1000), so characters embedded per second is printed too.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import write_corpus
from rag.embedding import Embedder
from rag.index import IndexStore, sync_index


def langchain_build(docs: Path, model_path: str) -> tuple[float, int, int]:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    emb = HuggingFaceEmbeddings(model_name=model_path, model_kwargs={"device": "cpu"})
    emb.embed_query("warm up")
    t0 = time.perf_counter()
    raw = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name}) for p in sorted(docs.glob("*.txt"))]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(raw)
    FAISS.from_documents(chunks, emb)
    return time.perf_counter() - t0, len(chunks), sum(len(c.page_content) for c in chunks)


def run(n_articles: int, with_langchain: bool = True) -> dict:
    emb = Embedder()
    emb.encode(["warm up"])
    out: dict = {"articles": n_articles}
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        paths = write_corpus(docs, n_articles)
        store = IndexStore(Path(tmp) / "index")
        t0 = time.perf_counter()
        index, report = sync_index(docs, store, emb)
        full = time.perf_counter() - t0
        texts = [c.text for c in index.chunks]
        t0 = time.perf_counter()
        emb.encode(texts)
        raw = time.perf_counter() - t0
        chars = sum(map(len, texts))
        out["rag"] = {"seconds": full, "passages": len(texts), "passages_per_s": len(texts) / full, "chars_per_s": chars / full}
        out["raw_encode"] = {"seconds": raw, "passages_per_s": len(texts) / raw, "chars_per_s": chars / raw}
        target = paths[len(paths) // 2]
        target.write_text(target.read_text(encoding="utf-8") + "\nA late correction was added to this article.\n")
        t0 = time.perf_counter()
        _, inc = sync_index(docs, store, emb)
        incr = time.perf_counter() - t0
        out["incremental"] = {"seconds": incr, "share_of_full": incr / full, "embedded": inc.n_embedded}
        if with_langchain:
            secs, n, lc_chars = langchain_build(docs, emb.path)
            out["langchain"] = {"seconds": secs, "passages": n, "passages_per_s": n / secs, "chars_per_s": lc_chars / secs}
    return out


def print_table(r: dict) -> None:
    raw = r["raw_encode"]["passages_per_s"]
    print(f"indexing {r['articles']} generated articles ({r['rag']['passages']} rag passages)")
    print(f"{'pipeline':<34} {'seconds':>8} {'passages/s':>11} {'kchars/s':>9} {'vs raw':>7} {'vs LC':>7}")
    lc = r.get("langchain")
    for name, key in (("rag index", "rag"), ("raw encode limit", "raw_encode"), ("LangChain tutorial pipeline", "langchain")):
        if key not in r:
            continue
        x = r[key]
        vs_lc = f"{x['passages_per_s'] / lc['passages_per_s']:.2f}x" if lc else "-"
        print(f"{name:<34} {x['seconds']:>8.2f} {x['passages_per_s']:>11.1f} {x['chars_per_s'] / 1000:>9.1f} "
              f"{x['passages_per_s'] / raw:>6.0%} {vs_lc:>7}")
    inc = r["incremental"]
    print(f"{'1 article changed, re-index':<34} {inc['seconds']:>8.2f}   = {inc['share_of_full']:.1%} of the full build "
          f"({inc['embedded']} passages embedded)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--no-langchain", action="store_true")
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/indexing.json"))
    args = ap.parse_args()
    r = run(args.articles, not args.no_langchain)
    print_table(r)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
