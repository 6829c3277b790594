"""Retrain the packaged answer reader: ``python -m rag.training.reader [--squad PATH]``.

Starts from the packaged all-MiniLM-L6-v2 body, adds a span head, and trains it on the SQuAD
titles of the ``reader`` part of the committed split (``rag/evaluation/squad.py``), never on the fusion,
calibration or test titles. Every question gives one answer example (a passage of its gold
paragraph, chunked exactly as the index chunks articles) and no-answer examples: a passage of
the same paragraph that lacks the answer, the passage of another paragraph of the same title that
BM25 ranks highest for the question (a near miss), and now and then a passage of another title.
The word-embedding table stays frozen (it is the packaged model's, and is not shipped again).
On 2 CPU cores: about an hour.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.retrieval import BM25Index
from rag.evaluation.news import part_clusters
from rag.evaluation.squad import SquadQuestion, load_split, load_squad, part_titles
from rag.ingest.chunking import chunk_document
from rag.models.embedding import resolve_embedder
from rag.models.reader import MAX_LENGTH, PACKAGED_READER, WORD_EMBEDDINGS, reader_folder
from rag.types import Document

log = logging.getLogger("rag.training.reader")
DEFAULT_SQUAD = Path("../shared/eval/external/squad-v1.1/dev-v1.1.json")


def _chunks(text: str, source: str) -> list[tuple[int, int, str]]:
    doc = Document(source, "", text, "")
    return [(c.start, c.end, c.text) for c in chunk_document(doc, 600, 1)]


def reader_titles(reader: str) -> set[str]:
    """The SQuAD titles a reader was trained on, from its training.json ("packaged": ours); none
    known for a reader trained elsewhere."""
    record = reader_folder(reader) / "training.json"
    return set(json.loads(record.read_text()).get("squad_titles", [])) if record.is_file() else set()


def titles_of(parts: tuple[str, ...]) -> list[str]:
    split = load_split()
    return [name for part in parts for name in part_titles(split, part)]


def build_examples(
    squad: Path,
    seed: int = 0,
    random_neg: float = 0.25,
    parts: tuple[str, ...] = ("reader",),
) -> list[dict]:
    """(question, passage, answer span in the passage or None) for the titles of ``parts``."""
    titles = load_squad(squad)
    names = titles_of(parts)
    rng = random.Random(seed)
    all_chunks: list[tuple[str, int, str]] = []  # (title, paragraph, text)
    per_title: dict[str, list[int]] = {}
    for name in names:
        for pi, text in enumerate(titles[name].paragraphs):
            for _a, _b, t in _chunks(text, f"{name}/{pi}"):
                per_title.setdefault(name, []).append(len(all_chunks))
                all_chunks.append((name, pi, t))
    bm25 = {name: BM25Index([all_chunks[i][2] for i in rows]) for name, rows in per_title.items()}
    examples: list[dict] = []
    questions = [q for name in names for q in titles[name].questions]
    for q in questions:
        examples.extend(_question_examples(q, all_chunks, per_title, bm25, names, rng, random_neg))
    rng.shuffle(examples)
    return examples


def _question_examples(
    q: SquadQuestion,
    all_chunks: list[tuple[str, int, str]],
    per_title: dict[str, list[int]],
    bm25: dict[str, BM25Index],
    names: list[str],
    rng: random.Random,
    random_neg: float,
) -> list[dict]:
    out: list[dict[str, Any]] = []
    answers_low = [a.lower() for a in q.answers if a.strip()]

    def has_answer(t: str) -> bool:
        return any(a in t.lower() for a in answers_low)

    pos: dict[str, Any] | None = None
    neg_same: str | None = None
    for a, b, text in _chunks(q.context, q.source):
        for ans, st in zip(q.answers, q.answer_starts, strict=True):
            if a <= st and st + len(ans) <= b and pos is None:
                pos = {"question": q.question, "context": text, "start": st - a, "end": st - a + len(ans)}
        if not has_answer(text) and neg_same is None:
            neg_same = text
    if pos is None:
        return out
    out.append(pos)
    near = [neg_same] if neg_same is not None else []
    rows = per_title[q.title]
    for r, _ in bm25[q.title].search(q.question, 8):
        title, pi, text = all_chunks[rows[r]]
        if pi != q.paragraph and not has_answer(text):
            near.append(text)
            break
    # One near miss per question: the same paragraph's other passage or BM25's best wrong one.
    if near:
        out.append({"question": q.question, "context": rng.choice(near), "start": None, "end": None})
    if rng.random() < random_neg:
        other = rng.choice([n for n in names if n != q.title])
        out.append(
            {"question": q.question, "context": all_chunks[rng.choice(per_title[other])][2], "start": None, "end": None}
        )
    return out


def featurize(tokenizer: Any, examples: list[dict], max_length: int = MAX_LENGTH) -> list[dict]:
    feats = []
    for ex in examples:
        enc = tokenizer(
            ex["question"], ex["context"], truncation="only_second", max_length=max_length, return_offsets_mapping=True
        )
        seq = enc.sequence_ids()
        s_tok: int | None = 0
        e_tok: int | None = 0
        if ex["start"] is not None:
            s_tok = e_tok = None
            for i, ((a, b), sid) in enumerate(zip(enc["offset_mapping"], seq, strict=True)):
                if sid != 1:
                    continue
                if s_tok is None and a <= ex["start"] < b or (s_tok is None and a >= ex["start"]):
                    s_tok = i
                if a < ex["end"]:
                    e_tok = i
            if s_tok is None or e_tok is None or e_tok < s_tok:
                continue  # answer cut off by truncation
        feats.append(
            {
                "input_ids": enc["input_ids"],
                "token_type_ids": enc["token_type_ids"],
                "start": s_tok,
                "end": e_tok,
            }
        )
    return feats


def batches(feats: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
    """Shuffled, then sorted by length within pools of 50 batches: little padding, still random."""
    order = feats[:]
    rng.shuffle(order)
    out: list[list[dict]] = []
    pool = batch_size * 50
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda f: len(f["input_ids"]))
        out.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out


def collate(batch: list[dict], pad_id: int) -> tuple[dict[str, Any], Any, Any]:
    import torch

    n = max(len(f["input_ids"]) for f in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    tt = torch.zeros((len(batch), n), dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for i, f in enumerate(batch):
        L = len(f["input_ids"])
        ids[i, :L] = torch.tensor(f["input_ids"])
        tt[i, :L] = torch.tensor(f["token_type_ids"])
        mask[i, :L] = 1
    starts = torch.tensor([f["start"] for f in batch])
    ends = torch.tensor([f["end"] for f in batch])
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask}, starts, ends


def train(
    squad: Path,
    out: Path,
    epochs: float = 3.0,
    lr: float = 8e-5,
    batch_size: int = 32,
    seed: int = 0,
    limit: int = 0,
    threads: int = 0,
    parts: tuple[str, ...] = ("reader",),
    news: Path | None = None,
    init: Path | None = None,
    squad_share: float = 1.0,
) -> dict:
    """``news``: a news collection whose fit clusters are trained on too (``rag.training.news_examples``).
    ``init``: start from this reader folder instead of the bare MiniLM body (a fine-tune), with
    ``squad_share`` of the SQuAD examples replayed beside the news ones."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    base, base_id = resolve_embedder("packaged")
    tokenizer = AutoTokenizer.from_pretrained(base)
    t0 = time.time()
    examples = build_examples(squad, seed, parts=parts)
    if squad_share < 1.0:
        examples = examples[: int(len(examples) * squad_share)]
    n_news = 0
    if news is not None:
        from rag.training.news_examples import news_examples

        extra = news_examples(news, seed)
        n_news = len(extra)
        examples = examples + extra
        random.Random(seed).shuffle(examples)
    if limit:
        examples = examples[:limit]
    feats = featurize(tokenizer, examples)
    n_pos = sum(f["start"] != 0 for f in feats)
    log.warning(
        "%d training examples (%d with an answer, %d without) in %.0f s",
        len(feats),
        n_pos,
        len(feats) - n_pos,
        time.time() - t0,
    )
    if init is not None:
        from rag.models.reader import load_qa_model, resolve_reader

        model = load_qa_model(resolve_reader(str(init)))
    else:
        model = AutoModelForQuestionAnswering.from_pretrained(base, use_safetensors=True)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    losses = fit(model, feats, tokenizer.pad_token_id, epochs, lr, batch_size, seed)
    save(
        model,
        tokenizer,
        out,
        {
            "base": base_id,
            "squad_parts": list(parts),
            "squad_titles": titles_of(parts),
            "examples": len(feats),
            "with_answer": n_pos,
            "news_clusters": sorted(p.name for p in part_clusters(news, "fit")) if news is not None else [],
            "news_examples": n_news,
            "init": str(init) if init is not None else "",
            "squad_share": squad_share,
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "seed": seed,
            "final_loss": float(np.mean(losses[-100:])),
            "minutes": round((time.time() - t0) / 60, 1),
        },
    )
    return {"examples": len(feats), "loss": float(np.mean(losses[-100:]))}


def fit(
    model: Any,
    feats: list[dict],
    pad_id: int,
    epochs: float,
    lr: float,
    batch_size: int,
    seed: int,
) -> list[float]:
    """AdamW with linear warm-up (6% of steps) and decay, gradients clipped at 1; the losses per step.
    The loss is the usual per-passage span loss (no-answer passages point at [CLS])."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    rng = random.Random(seed)
    total = int(math.ceil(len(feats) / batch_size) * epochs)
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm)))
    )
    model.train()
    step, losses, t1 = 0, [], time.time()
    while step < total:
        for batch in batches(feats, batch_size, rng):
            if step >= total:
                break
            inputs, starts, ends = collate(batch, pad_id)
            outp = model(**inputs, start_positions=starts, end_positions=ends)
            loss = outp.loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(float(loss.detach()))
            step += 1
            if step % 50 == 0:
                rate = step / (time.time() - t1)
                left = (total - step) / rate / 60
                log.warning(
                    "step %d/%d loss %.3f (%.2f steps/s, %.0f min left)", step, total, np.mean(losses[-50:]), rate, left
                )
    return losses


def save(model: Any, tokenizer: Any, out: Path, info: dict, card: str | None = None) -> None:
    """Weights in float16 safetensors without the (frozen, packaged) word-embedding table, with
    ``info`` as training.json and ``card`` (default: the reader's) filled from it as README.md."""
    import torch
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in model.state_dict().items()
        if k != WORD_EMBEDDINGS and not k.endswith("position_ids")
    }
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    (out / "README.md").write_text(render_card(info, card), encoding="utf-8")


def render_card(info: dict, card: str | None = None) -> str:
    """The model card filled from training.json's ``info`` (the reader's card by default)."""
    parts = info.get("squad_parts", ["reader"])
    unused = [p for p in ("reader", "fusion", "calibration", "test") if p not in parts]
    clusters = info.get("news_clusters", [])
    news = (
        f"\nNews: the {len(clusters)} `fit` clusters of `rag/data/news_split.json` ({info['news_examples']} examples of"
        " `rag.training.news_examples`: the passage holding each answerable question's evidence, with the answer span, and"
        " the BM25-closest passages of the same story that lack it or that answer only a near miss); the calibration"
        " and report clusters were not used."
        + (
            f" Fine-tuned from {info['init']} (the reader trained on SQuAD alone, `python -m rag.training.reader"
            f" --out {info['init']}`) with {info['squad_share']:.0%} of the SQuAD examples replayed"
            f" (`python -m rag.training.reader --news ../shared/eval/news --init {info['init']}"
            f" --squad-share {info['squad_share']} --epochs {info['epochs']} --lr {info['lr']}`)."
            if info.get("init")
            else ""
        )
        if clusters
        else ""
    )
    return (card or MODEL_CARD).format(
        **info,
        news=news,
        limits="trained on Wikipedia paragraphs and made-up news clusters"
        if clusters
        else "trained on Wikipedia paragraphs, not news",
        titles=len(info["squad_titles"]),
        parts=" and ".join(f"`{p}`" for p in parts) + (" parts" if len(parts) > 1 else " part"),
        unused=", ".join(unused[:-1]) + (" and " if len(unused) > 1 else "") + unused[-1],
    )


MODEL_CARD = """# rag answer reader (extractive QA, MiniLM-L6)

What it is: a span-extraction question-answering head on the body of all-MiniLM-L6-v2
({base}), trained on this machine by `python -m rag.training.reader`. Given a question and a passage it
gives start/end logits per token; the logits at [CLS] score "no answer in this passage".

Data: SQuAD v1.1 dev (CC BY-SA 4.0; Rajpurkar et al., 2016), only the {titles} titles of the {parts}
of `rag/data/squad_split.json`: {examples} examples, {with_answer} with an answer (a passage of
the gold paragraph, chunked as the index chunks articles) and the rest without (a passage of the same
paragraph lacking the answer, the BM25-closest passage of another paragraph of the same title, and
sometimes a passage of another title). The {unused} titles were not used.{news}

Training: {epochs} epochs, AdamW lr {lr}, batch {batch_size}, seed {seed}, linear warm-up/decay; the
word-embedding table frozen (it is the packaged MiniLM's and is loaded from there: this folder holds
the other weights in float16, ~21 MB). Final training loss {final_loss:.3f}; {minutes} min on 2 CPU cores.

Use: `rag.models.reader.Reader`; figures on held-out SQuAD titles are in the README (`rag eval --squad`).
Limits: English; {limits}; a span never crosses a sentence boundary
in this product (the pipeline restricts it), so answers that need two sentences are quoted instead.
License of the weights: derived from all-MiniLM-L6-v2 (Apache-2.0) and SQuAD (CC BY-SA 4.0).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--out", type=Path, default=PACKAGED_READER)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--limit", type=int, default=0, help="train on this many examples only (smoke runs)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0, help="initialisation, example order and sampled negatives")
    ap.add_argument(
        "--parts",
        default="reader",
        help="comma-separated parts of rag/data/squad_split.json whose titles it trains on",
    )
    ap.add_argument("--news", type=Path, default=None, help="a news collection: its fit clusters are trained on too")
    ap.add_argument("--init", type=Path, default=None, help="start from this reader folder (a fine-tune)")
    ap.add_argument("--squad-share", type=float, default=1.0, help="share of the SQuAD examples kept")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    print(
        train(
            a.squad,
            a.out,
            a.epochs,
            a.lr,
            a.batch_size,
            seed=a.seed,
            limit=a.limit,
            threads=a.threads,
            parts=tuple(p for p in a.parts.split(",") if p),
            news=a.news,
            init=a.init,
            squad_share=a.squad_share,
        )
    )


if __name__ == "__main__":
    main()
