"""Retrain the packaged answer reader: ``python -m rag.train_reader [--squad PATH]``.

Starts from the packaged all-MiniLM-L6-v2 body, adds a span head, and trains it on the SQuAD
titles of the ``reader`` part of the committed split (``rag/squad.py``), never on the fusion,
calibration or test titles. Every question gives one answer example (a passage of its gold
paragraph, chunked exactly as the index chunks articles) and no-answer examples: a passage of
the same paragraph that lacks the answer, the passage of another paragraph of the same title that
BM25 ranks highest for the question (a near miss), and now and then a passage of another title.
Two more kinds can be added (off by default: measured, not shipped — see docs/experiments.md "Models trained
here"): ``--removed-neg P``, the gold passage with the sentence holding the answer taken out (the
topic stays, the fact is gone), and ``--swapped-neg P``, the gold passage with a name the question
asks about swapped for another name of the same kind (spaCy entities).
``--shared-norm W`` adds a loss over all of a question's passages at once (shared normalization),
so span scores compare across passages: it picks the answering sentence more often and declines
near misses less often (docs/experiments.md), so it is off by default.
The word-embedding table stays frozen (it is the packaged model's, and is not shipped again).
On 2 CPU cores: about an hour.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.chunking import chunk_document, sentence_spans
from rag.embedding import resolve_embedder
from rag.news_eval import part_clusters
from rag.reader import MAX_LENGTH, PACKAGED_READER, WORD_EMBEDDINGS, reader_folder, reader_members
from rag.retrieval import BM25Index
from rag.squad import SquadQuestion, load_split, load_squad, part_titles
from rag.types import Document

log = logging.getLogger("rag.train_reader")
DEFAULT_SQUAD = Path("../shared/eval/external/squad-v1.1/dev-v1.1.json")


def _chunks(text: str, source: str) -> list[tuple[int, int, str]]:
    doc = Document(source, "", text, "")
    return [(c.start, c.end, c.text) for c in chunk_document(doc, 600, 1)]


def reader_titles(reader: str) -> set[str]:
    """The SQuAD titles a reader (or a comma-separated ensemble) was trained on, from each
    training.json ("packaged": ours); none known for a reader trained elsewhere."""
    titles: set[str] = set()
    for name in reader_members(reader):
        record = reader_folder(name) / "training.json"
        if record.is_file():
            titles |= set(json.loads(record.read_text()).get("squad_titles", []))
    return titles


def titles_of(parts: tuple[str, ...]) -> list[str]:
    split = load_split()
    return [name for part in parts for name in part_titles(split, part)]


def build_examples(
    squad: Path,
    seed: int = 0,
    random_neg: float = 0.25,
    removed_neg: float = 0.0,
    swapped_neg: float = 0.0,
    parts: tuple[str, ...] = ("reader",),
    both_near: bool = False,
) -> list[dict]:
    """(question, passage, answer span in the passage or None) for the titles of ``parts``; each
    example carries ``group``, the index of its question (for shared normalization).
    ``both_near``: every question keeps both of its near misses instead of one of them."""
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
    for g, q in enumerate(questions):
        for ex in _question_examples(
            q, titles[q.title].paragraphs, all_chunks, per_title, bm25, names, rng, random_neg, removed_neg, both_near
        ):
            examples.append({**ex, "group": g})
    if swapped_neg > 0:
        examples.extend(_swapped_examples(questions, examples, rng, swapped_neg))
    rng.shuffle(examples)
    return examples


SWAP_LABELS = ("PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "LAW", "DATE")


def _swapped_examples(
    questions: list[SquadQuestion], examples: list[dict], rng: random.Random, share: float
) -> list[dict]:
    """No-answer examples made from answer examples: a name in the question that the answer's
    passage also uses is replaced, everywhere in the passage, by another name of the same entity
    label taken from other questions (so the passage states the fact about someone else)."""
    from rag.answer_types import nlp

    positives = {ex["question"]: ex for ex in examples if ex["start"] is not None}
    docs = list(nlp().pipe([q.question for q in questions], batch_size=64))
    pool: dict[str, list[str]] = {}
    for doc in docs:
        for e in doc.ents:
            if e.label_ in SWAP_LABELS and len(e.text) > 2:
                pool.setdefault(e.label_, []).append(e.text)
    out = []
    for q, doc in zip(questions, docs, strict=True):
        pos = positives.get(q.question)
        if pos is None or rng.random() >= share:
            continue
        ctx, a, b = pos["context"], pos["start"], pos["end"]
        answer = ctx[a:b]
        ents = [
            e
            for e in doc.ents
            if e.label_ in SWAP_LABELS
            and len(e.text) > 2
            and e.text in ctx
            and e.text not in answer
            and answer not in e.text
        ]
        if not ents:
            continue
        e = rng.choice(ents)
        choices = [t for t in pool.get(e.label_, []) if t not in ctx and e.text not in t and t not in e.text]
        if not choices:
            continue
        swapped = re.sub(rf"\b{re.escape(e.text)}\b", rng.choice(choices), ctx)
        if swapped != ctx:
            out.append({"question": q.question, "context": swapped, "start": None, "end": None, "group": -1})
    return out


def _question_examples(
    q: SquadQuestion,
    paragraphs: list[str],
    all_chunks: list[tuple[str, int, str]],
    per_title: dict[str, list[int]],
    bm25: dict[str, BM25Index],
    names: list[str],
    rng: random.Random,
    random_neg: float,
    removed_neg: float,
    both_near: bool = False,
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
    # One near miss per question, the same paragraph's other passage or BM25's best wrong one
    # (both with ``both_near``: shared normalization learns most from passages that compete).
    for text in near if both_near else [rng.choice(near)] if near else []:
        out.append({"question": q.question, "context": text, "start": None, "end": None})
    removed = _without_answer_sentence(pos["context"], pos["start"], pos["end"])
    if removed_neg > 0 and removed and not has_answer(removed) and rng.random() < removed_neg:
        out.append({"question": q.question, "context": removed, "start": None, "end": None})
    if rng.random() < random_neg:
        other = rng.choice([n for n in names if n != q.title])
        out.append(
            {"question": q.question, "context": all_chunks[rng.choice(per_title[other])][2], "start": None, "end": None}
        )
    return out


def _without_answer_sentence(text: str, start: int, end: int, min_chars: int = 120) -> str | None:
    """The passage minus every sentence that overlaps the answer span, or None if little is left."""
    kept = [text[a:b] for a, b in sentence_spans(text) if b <= start or a >= end]
    rest = " ".join(k.strip() for k in kept if k.strip())
    return rest if len(rest) >= min_chars else None


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
                "group": ex.get("group", -1),
                "context": [int(sid == 1) for sid in seq],
            }
        )
    return feats


def batches(feats: list[dict], batch_size: int, rng: random.Random, grouped: bool = False) -> list[list[dict]]:
    """Shuffled, then sorted by length within pools of 50 batches: little padding, still random.
    ``grouped``: a question's passages stay in one batch (shared normalization compares them);
    questions are shuffled, not sorted by length."""
    if grouped:
        groups: dict[int, list[dict]] = {}
        for f in feats:
            if f["group"] >= 0:
                groups.setdefault(f["group"], []).append(f)
        units = list(groups.values()) + [[f] for f in feats if f["group"] < 0]
        rng.shuffle(units)
        out_g: list[list[dict]] = []
        cur: list[dict] = []
        for u in units:
            if cur and len(cur) + len(u) > batch_size:
                out_g.append(cur)
                cur = []
            cur = cur + u
        if cur:
            out_g.append(cur)
        return out_g
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


def shared_norm_loss(start_logits: Any, end_logits: Any, batch: list[dict], starts: Any, ends: Any) -> Any:
    """Clark & Gardner (2018): the answer's start (and end) softmax taken over the context tokens of
    *all* passages of its question at once, so span scores become comparable across passages (the
    pipeline picks one sentence among five passages: on the calibration titles, 40 of its 62
    wrong picks that a retrieved passage could have answered came from another passage)."""
    import torch

    losses = []
    by_group: dict[int, list[int]] = {}
    for i, f in enumerate(batch):
        if f["group"] >= 0:
            by_group.setdefault(f["group"], []).append(i)
    for rows in by_group.values():
        pos = [i for i in rows if batch[i]["start"] != 0]
        if len(pos) != 1 or len(rows) < 2:
            continue
        tokens = {i: torch.nonzero(torch.tensor(batch[i]["context"], dtype=torch.bool)).squeeze(1) for i in rows}
        for logits, gold in ((start_logits, starts), (end_logits, ends)):
            flat, target = [], None
            offset = 0
            for i in rows:
                idx = tokens[i]
                if i == pos[0]:
                    hit = (idx == int(gold[i])).nonzero()
                    if len(hit):
                        target = offset + int(hit[0])
                flat.append(logits[i, idx])
                offset += len(idx)
            if target is not None:
                losses.append(torch.nn.functional.cross_entropy(torch.cat(flat)[None], torch.tensor([target])))
    if not losses:
        return start_logits.sum() * 0.0
    return torch.stack(losses).mean()


def train(
    squad: Path,
    out: Path,
    epochs: float = 3.0,
    lr: float = 8e-5,
    batch_size: int = 32,
    seed: int = 0,
    limit: int = 0,
    threads: int = 0,
    removed_neg: float = 0.0,
    swapped_neg: float = 0.0,
    parts: tuple[str, ...] = ("reader",),
    shared_norm: float = 0.0,
    news: Path | None = None,
    init: Path | None = None,
    squad_share: float = 1.0,
) -> dict:
    """``news``: a news collection whose fit clusters are trained on too (``rag.news_examples``).
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
    examples = build_examples(
        squad, seed, removed_neg=removed_neg, swapped_neg=swapped_neg, parts=parts, both_near=shared_norm > 0
    )
    if squad_share < 1.0:
        examples = examples[: int(len(examples) * squad_share)]
    n_news = 0
    if news is not None:
        from rag.news_examples import news_examples

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
        from rag.reader import load_qa_model, resolve_reader

        model = load_qa_model(resolve_reader(str(init)))
    else:
        model = AutoModelForQuestionAnswering.from_pretrained(base, use_safetensors=True)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    losses = fit(model, feats, tokenizer.pad_token_id, epochs, lr, batch_size, seed, shared_norm)
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
            "removed_neg": removed_neg,
            "swapped_neg": swapped_neg,
            "shared_norm": shared_norm,
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
    shared_norm: float = 0.0,
) -> list[float]:
    """AdamW with linear warm-up (6% of steps) and decay, gradients clipped at 1; the losses per step.
    The loss is the usual per-passage span loss (no-answer passages point at [CLS]), plus
    ``shared_norm`` times the shared-normalization loss over each question's passages."""
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
        for batch in batches(feats, batch_size, rng, grouped=shared_norm > 0):
            if step >= total:
                break
            inputs, starts, ends = collate(batch, pad_id)
            outp = model(**inputs, start_positions=starts, end_positions=ends)
            loss = outp.loss
            if shared_norm > 0:
                loss = loss + shared_norm * shared_norm_loss(outp.start_logits, outp.end_logits, batch, starts, ends)
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
    shared = info.get("shared_norm", 0.0)
    clusters = info.get("news_clusters", [])
    news = (
        f"\nNews: the {len(clusters)} `fit` clusters of `rag/data/news_split.json` ({info['news_examples']} examples of"
        " `rag.news_examples`: the passage holding each answerable question's evidence, with the answer span, and"
        " the BM25-closest passages of the same story that lack it or that answer only a near miss); the calibration"
        " and report clusters were not used."
        + (
            f" Fine-tuned from {info['init']} (the reader trained on SQuAD alone, `python -m rag.train_reader"
            f" --out {info['init']}`) with {info['squad_share']:.0%} of the SQuAD examples replayed"
            f" (`python -m rag.train_reader --news ../shared/eval/news --init {info['init']}"
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
        shared=f", shared-normalization loss weight {shared} over each question's passages" if shared else "",
        titles=len(info["squad_titles"]),
        parts=" and ".join(f"`{p}`" for p in parts) + (" parts" if len(parts) > 1 else " part"),
        unused=", ".join(unused[:-1]) + (" and " if len(unused) > 1 else "") + unused[-1],
    )


MODEL_CARD = """# rag answer reader (extractive QA, MiniLM-L6)

What it is: a span-extraction question-answering head on the body of all-MiniLM-L6-v2
({base}), trained on this machine by `python -m rag.train_reader`. Given a question and a passage it
gives start/end logits per token; the logits at [CLS] score "no answer in this passage".

Data: SQuAD v1.1 dev (CC BY-SA 4.0; Rajpurkar et al., 2016), only the {titles} titles of the {parts}
of `rag/data/squad_split.json`: {examples} examples, {with_answer} with an answer (a passage of
the gold paragraph, chunked as the index chunks articles) and the rest without (a passage of the same
paragraph lacking the answer, the BM25-closest passage of another paragraph of the same title, and
sometimes a passage of another title). The {unused} titles were not used.{news}

Training: {epochs} epochs, AdamW lr {lr}, batch {batch_size}, seed {seed}{shared}, linear warm-up/decay; the
word-embedding table frozen (it is the packaged MiniLM's and is loaded from there: this folder holds
the other weights in float16, ~21 MB). Final training loss {final_loss:.3f}; {minutes} min on 2 CPU cores.

Use: `rag.reader.Reader`; figures on held-out SQuAD titles are in the README (`rag eval --squad`).
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
        "--removed-neg", type=float, default=0.0, help="share of questions that add an answer-removed passage"
    )
    ap.add_argument(
        "--swapped-neg", type=float, default=0.0, help="share of questions that add an entity-swapped passage"
    )
    ap.add_argument(
        "--shared-norm",
        type=float,
        default=0.0,
        help="weight of the shared-normalization loss over each question's passages (0: off)",
    )
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
            removed_neg=a.removed_neg,
            swapped_neg=a.swapped_neg,
            parts=tuple(p for p in a.parts.split(",") if p),
            shared_norm=a.shared_norm,
            news=a.news,
            init=a.init,
            squad_share=a.squad_share,
        )
    )


if __name__ == "__main__":
    main()
