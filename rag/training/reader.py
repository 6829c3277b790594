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

from rag.evaluation.news import part_clusters
from rag.models.reader import PACKAGED_READER, WORD_EMBEDDINGS, reader_folder
from rag.models.sources import resolve_embedder
from rag.training.reader_card import render_card
from rag.training.reader_examples import build_examples, featurize, titles_of

log = logging.getLogger("rag.training.reader")
DEFAULT_SQUAD = Path("../shared/eval/external/squad-v1.1/dev-v1.1.json")


def reader_titles(reader: str) -> set[str]:
    """The SQuAD titles a reader was trained on, from its training.json ("packaged": ours); none
    known for a reader trained elsewhere."""
    record = reader_folder(reader) / "training.json"
    return set(json.loads(record.read_text()).get("squad_titles", [])) if record.is_file() else set()


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


def training_examples(
    squad: Path, seed: int, parts: tuple[str, ...], news: Path | None, squad_share: float, limit: int
) -> tuple[list[dict], int]:
    """The SQuAD examples (``squad_share`` of them) and, with ``news``, the news fit clusters'
    examples shuffled among them; with how many came from news."""
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
    return examples, n_news


def start_model(base: str, init: Path | None) -> Any:
    """The MiniLM body with a fresh span head, or the reader in ``init``; the word-embedding table
    frozen (it is the packaged model's and is not shipped again)."""
    from transformers import AutoModelForQuestionAnswering

    if init is not None:
        from rag.models.reader import load_qa_model, resolve_reader

        model = load_qa_model(resolve_reader(str(init)))
    else:
        model = AutoModelForQuestionAnswering.from_pretrained(base, use_safetensors=True)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


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
    from transformers import AutoTokenizer

    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    base, base_id = resolve_embedder("packaged")
    tokenizer = AutoTokenizer.from_pretrained(base)
    t0 = time.time()
    examples, n_news = training_examples(squad, seed, parts, news, squad_share, limit)
    feats = featurize(tokenizer, examples)
    n_pos = sum(f["start"] != 0 for f in feats)
    log.warning("%d training examples (%d with an answer) in %.0f s", len(feats), n_pos, time.time() - t0)
    model = start_model(base, init)
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
