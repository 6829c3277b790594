"""Indexing throughput and incremental updates, each beside its baseline in the same run.

    python -m benchmarks.indexing [--articles 300] [--incremental-articles 1000] [--no-langchain]
    python -m benchmarks.indexing --squad-titles 16 [--dtype float32] [--no-incremental]
    python -m benchmarks.indexing --ray [--ray-articles 600]

``--ray``: files to index on one corpus, single process vs Ray with 1 and 2 local workers.

Throughput, on one generated corpus (``benchmarks/corpus.py``) or, with ``--squad-titles N``, the
first N articles of SQuAD v1.1 dev (title line, paragraphs separated by blank lines), in this order:

1. baseline encoder: one torch float32 ``SentenceTransformer.encode`` call on exactly the passages
   rag makes (the library's own call, as a tutorial makes it);
2. rag's encoder (by default ONNX Runtime, int8) on the same passages, nothing else;
3. rag: ``sync_index`` from files to a persisted index (read, clean, chunk, embed, FAISS, write);
4. the LangChain tutorial pipeline: ``RecursiveCharacterTextSplitter(1000, 200)`` +
   ``HuggingFaceEmbeddings`` (the same packaged model, torch float32) + ``FAISS.from_documents``;
5. 1 and 2 again; each is the mean of its two runs, so a machine that slows down or speeds up
   during the run does not tilt the ratios.

Models are loaded before any timing. The two pipelines cut passages differently (rag: <= 600
characters of whole sentences, no overlap by default; LangChain: <= 1000 characters, 200 of
overlap), so the headline is the wall time to index the same corpus; the table also shows
passages/s, characters/s, and how many LangChain passages are longer than the model's 256-token
window (their ends are silently truncated, i.e. never searchable).

Incremental: a corpus of ``--incremental-articles`` articles is indexed, one article is edited,
and the re-sync is timed as a share of the full build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import write_corpus
from rag.index.store import IndexStore
from rag.index.sync import sync_index
from rag.ingest.chunking import chunk_documents
from rag.ingest.loading import load_documents
from rag.machine import cpu_report
from rag.models.embedding import Embedder


def langchain_build(docs: Path, model_path: str) -> dict:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    emb = HuggingFaceEmbeddings(model_name=model_path, model_kwargs={"device": "cpu"})
    emb.embed_query("warm up")
    t0 = time.perf_counter()
    raw = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
        for p in sorted(docs.glob("*.txt"))
    ]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(raw)
    FAISS.from_documents(chunks, emb)
    secs = time.perf_counter() - t0
    tok = emb._client.tokenizer
    limit = emb._client.max_seq_length
    truncated = sum(len(tok(c.page_content)["input_ids"]) > limit for c in chunks)
    return {
        "seconds": secs,
        "passages": len(chunks),
        "chars": sum(len(c.page_content) for c in chunks),
        "truncated_share": truncated / max(1, len(chunks)),
    }


SQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "external" / "squad-v1.1" / "dev-v1.1.json"


def write_squad_titles(docs: Path, n: int, squad: Path = SQUAD) -> int:
    """The first ``n`` SQuAD dev articles as text files; returns their characters."""
    docs.mkdir(parents=True, exist_ok=True)
    chars = 0
    for i, art in enumerate(json.loads(squad.read_text(encoding="utf-8"))["data"][:n]):
        text = art["title"].replace("_", " ") + "\n\n" + "\n\n".join(p["context"] for p in art["paragraphs"])
        (docs / f"{i:02d}.txt").write_text(text, encoding="utf-8")
        chars += len(text)
    return chars


def _rates(d: dict) -> dict:
    d["passages_per_s"] = d["passages"] / d["seconds"]
    d["chars_per_s"] = d["chars"] / d["seconds"]
    return d


def throughput(
    n_articles: int,
    with_langchain: bool = True,
    embedder: Embedder | None = None,
    chunk_size: int = 600,
    chunk_overlap: int | None = None,
    squad_titles: int = 0,
) -> dict:
    from rag.settings import Settings

    emb = embedder or Embedder()
    overlap = Settings().chunk_overlap if chunk_overlap is None else chunk_overlap
    base = Embedder(emb.name, backend="torch", dtype="float32")
    emb.encode(["warm up"])
    base.encode(["warm up"])
    out: dict = {
        "articles": squad_titles or n_articles,
        "corpus": f"SQuAD v1.1 dev, first {squad_titles} articles" if squad_titles else "generated articles",
        "encoder_id": emb.id,
        "encoder_choice": emb.choice.reason,
        "baseline_id": base.id + " (torch float32)",
    }
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        if squad_titles:
            out["corpus_chars"] = write_squad_titles(docs, squad_titles)
        else:
            write_corpus(docs, n_articles)
        texts = [c.text for c in chunk_documents(load_documents(docs), chunk_size, overlap)]
        chars = sum(map(len, texts))

        def timed(fn) -> float:
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0

        def raw() -> float:
            return timed(lambda: base.model.encode(texts, batch_size=base.batch_size, normalize_embeddings=True))

        def ours() -> float:
            return timed(lambda: emb.encode(texts))

        runs = {"raw": [raw()], "ours": [ours()]}
        t0 = time.perf_counter()
        index, _ = sync_index(docs, IndexStore(Path(tmp) / "index"), emb, chunk_size, overlap)
        out["rag"] = _rates({"seconds": time.perf_counter() - t0, "passages": len(index), "chars": chars})
        if with_langchain:
            out["langchain"] = _rates(langchain_build(docs, emb.path))
        runs["raw"].append(raw())
        runs["ours"].append(ours())
        for key, name in (("raw", "raw_encode"), ("ours", "encoder")):
            out[name] = _rates(
                {"seconds": sum(runs[key]) / 2, "passages": len(texts), "chars": chars, "runs": runs[key]}
            )
    out["encoder"]["vs_torch_fp32"] = out["encoder"]["passages_per_s"] / out["raw_encode"]["passages_per_s"]
    out["rag"]["share_of_raw"] = out["rag"]["passages_per_s"] / out["raw_encode"]["passages_per_s"]
    if with_langchain:
        lc = out["langchain"]
        out["rag"]["vs_langchain_passages"] = out["rag"]["passages_per_s"] / lc["passages_per_s"]
        out["rag"]["vs_langchain_chars"] = out["rag"]["chars_per_s"] / lc["chars_per_s"]
        out["rag"]["vs_langchain_wall"] = lc["seconds"] / out["rag"]["seconds"]
    return out


def incremental(n_articles: int, embedder: Embedder | None = None) -> dict:
    emb = embedder or Embedder()
    emb.encode(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        paths = write_corpus(docs, n_articles, seed=1)
        store = IndexStore(Path(tmp) / "index")
        t0 = time.perf_counter()
        index, _ = sync_index(docs, store, emb)
        full = time.perf_counter() - t0
        target = paths[len(paths) // 2]
        target.write_text(target.read_text(encoding="utf-8") + "\nA late correction was added to this article.\n")
        t0 = time.perf_counter()
        _, report = sync_index(docs, store, emb, existing=index)
        incr = time.perf_counter() - t0
    return {
        "articles": n_articles,
        "passages": len(index),
        "full_seconds": full,
        "seconds": incr,
        "share_of_full": incr / full,
        "embedded": report.n_embedded,
    }


def ray_scaling(n_articles: int, embedder: Embedder | None = None, worker_counts: tuple[int, ...] = (1, 2)) -> dict:
    """Files to index, full build: single process vs ``rag index --ray`` with 1 and 2 local
    workers, same corpus, one run. The local Ray instance is started once, before the timings
    (its start is reported apart); each Ray run includes starting its workers and loading the
    model in them. The single-process build runs first and last, its figure is the mean."""
    import ray

    from rag.index.ray_workers import RayPreparer

    emb = embedder or Embedder()
    emb.encode(["warm up"])
    out: dict = {"articles": n_articles, "encoder_id": emb.id, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        write_corpus(docs, n_articles, seed=2)

        def build(name: str, preparer=None) -> dict:
            t0 = time.perf_counter()
            index, _ = sync_index(docs, IndexStore(Path(tmp) / name), emb, preparer=preparer)
            secs = time.perf_counter() - t0
            shutil.rmtree(Path(tmp) / name)
            return {"seconds": secs, "passages": len(index)}

        first = build("single-1")
        t0 = time.perf_counter()
        ray.init(
            address="local",
            num_cpus=max(worker_counts),
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=512 * 2**20,
        )
        out["ray_start_seconds"] = time.perf_counter() - t0
        try:
            for w in worker_counts:
                out[f"ray_{w}"] = build(f"ray-{w}", RayPreparer(emb, 600, emb_overlap(), 20 * 2**20, workers=w))
        finally:
            ray.shutdown()
        last = build("single-2")
        out["single"] = {
            "seconds": (first["seconds"] + last["seconds"]) / 2,
            "passages": first["passages"],
            "runs": [first["seconds"], last["seconds"]],
        }
    for key in ["single"] + [f"ray_{w}" for w in worker_counts]:
        out[key]["passages_per_s"] = out[key]["passages"] / out[key]["seconds"]
    return out


def emb_overlap() -> int:
    from rag.settings import Settings

    return Settings().chunk_overlap


def print_ray(r: dict) -> None:
    base = r["single"]["passages_per_s"]
    print(
        f"indexing {r['articles']} generated articles ({r['single']['passages']} passages) on {r['cores']} cores, "
        f"files to index; local Ray started once in {r['ray_start_seconds']:.1f} s (not counted)"
    )
    print(f"{'build':<32} {'seconds':>8} {'passages/s':>11} {'vs single':>10}")
    rows = [("single process (baseline)", r["single"])] + [
        (f"Ray, {k.split('_')[1]} local worker(s)", v)
        for k, v in r.items()
        if k.startswith("ray_") and isinstance(v, dict)
    ]
    for name, x in rows:
        print(f"{name:<32} {x['seconds']:>8.2f} {x['passages_per_s']:>11.1f} {x['passages_per_s'] / base:>9.2f}x")


def print_throughput(r: dict) -> None:
    raw = r["raw_encode"]
    print(f"indexing {r['articles']} {r['corpus']} ({r['rag']['passages']} rag passages); {r['encoder_choice']}")
    print(f"{'pipeline':<34} {'seconds':>8} {'passages':>9} {'passages/s':>11} {'kchars/s':>9} {'vs torch fp32':>14}")
    rows = [
        ("torch fp32 encode (baseline)", raw),
        (f"rag encoder ({r['encoder_id'].rsplit(' ', 1)[-1]})", r["encoder"]),
        ("rag index (files to index)", r["rag"]),
    ]
    if "langchain" in r:
        rows.append(("LangChain tutorial pipeline", r["langchain"]))
    for name, x in rows:
        print(
            f"{name:<34} {x['seconds']:>8.2f} {x['passages']:>9} {x['passages_per_s']:>11.1f} "
            f"{x['chars_per_s'] / 1000:>9.1f} {x['passages_per_s'] / raw['passages_per_s']:>13.2f}x"
        )
    print(f"encoder: {r['encoder']['vs_torch_fp32']:.2f}x the passages/s of torch float32 on the same passages")
    if "langchain" in r:
        g = r["rag"]
        print(
            f"same corpus, wall time: LangChain {r['langchain']['seconds']:.1f} s, rag {g['seconds']:.1f} s = "
            f"{g['vs_langchain_wall']:.2f}x faster ({g['vs_langchain_passages']:.2f}x passages/s, "
            f"{g['vs_langchain_chars']:.2f}x chars/s); "
            f"{r['langchain']['truncated_share']:.0%} of LangChain's passages exceed the model's 256 tokens"
        )


def print_incremental(r: dict) -> None:
    print(
        f"1 of {r['articles']} articles changed: re-index {r['seconds']:.2f} s = {r['share_of_full']:.2%} of the "
        f"full build ({r['full_seconds']:.1f} s, {r['passages']} passages); {r['embedded']} passages embedded"
    )


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--incremental-articles", type=int, default=1000)
    ap.add_argument("--no-langchain", action="store_true")
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/indexing.json"))
    ap.add_argument(
        "--ray", action="store_true", help="only: single process vs Ray with 1 and 2 local workers (needs rag[ray])"
    )
    ap.add_argument("--ray-articles", type=int, default=600)
    ap.add_argument("--squad-titles", type=int, default=0, help="index the first N SQuAD dev articles instead")
    ap.add_argument("--dtype", default="auto", help="rag's encoder precision: auto (timed on this CPU), float32, int8")
    ap.add_argument("--no-incremental", action="store_true")
    args = ap.parse_args()
    emb = Embedder(dtype=args.dtype)
    if args.ray:
        r = ray_scaling(args.ray_articles, emb)
        print_ray(r)
        out = args.json.with_name("indexing-ray.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(r, indent=1))
        return
    r = {"throughput": throughput(args.articles, not args.no_langchain, emb, squad_titles=args.squad_titles)}
    print_throughput(r["throughput"])
    if not args.no_incremental:
        r["incremental"] = incremental(args.incremental_articles, emb)
        print_incremental(r["incremental"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
