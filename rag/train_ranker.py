"""Train the sentence ranker: ``python -m rag.train_ranker [--squad PATH] [--out FOLDER]``.

A cross-encoder on the packaged all-MiniLM-L6-v2 body: "[CLS] question [SEP] sentence [SEP]" to
one logit, "this sentence answers the question". It is trained on the SQuAD titles of the
``reader`` part of the committed split (the reader's titles; never the fusion, calibration or
test titles). Each question gives one group: the sentence holding its answer and up to seven
sentences that do not hold it, taken first from the gold paragraph (the topic is right, the fact
is not), then from the paragraphs of the same title that BM25 ranks highest for the question, then
one from another title. The loss is the group's softmax cross-entropy (which sentence answers:
what sentence P@1 measures) plus a per-sentence logistic loss, so that one logit is comparable
across questions (what the refusal threshold needs).
The word-embedding table stays frozen (it is the packaged model's and is not saved again).
On 2 CPU cores: about 70 minutes. Not shipped (docs/experiments.md); to use one, fit an
answer scorer on it (``python -m rag.fit_scorer --ranker FOLDER --out scorer.json``) and set
``RAG_RANKER=FOLDER RAG_ANSWER_SCORER=scorer.json``.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import re
import time
from pathlib import Path
from typing import Any

from rag.chunking import sentence_spans
from rag.embedding import resolve_embedder
from rag.retrieval import BM25Index
from rag.settings import default_cache_dir
from rag.squad import load_split, load_squad, part_titles
from rag.train_reader import save as save_reader_format

log = logging.getLogger("rag.train_ranker")
DEFAULT_SQUAD = Path("../shared/eval/external/squad-v1.1/dev-v1.1.json")
DEFAULT_OUT = default_cache_dir() / "models" / "ranker"
MAX_LENGTH = 128
GROUP = 8


def sentences(text: str) -> list[tuple[int, int]]:
    """The candidate sentences of a passage, as the grounder makes them (>= 3 words)."""
    return [(a, b) for a, b in sentence_spans(text) if len(re.findall(r"\w+", text[a:b])) >= 3]


def build_groups(squad: Path, seed: int = 0) -> list[dict]:
    """One group per reader-title question: ``{"question", "sentences", "positive": 0}``."""
    titles = load_squad(squad)
    names = part_titles(load_split(), "reader")
    rng = random.Random(seed)
    sents = {name: [[p[a:b] for a, b in sentences(p)] for p in titles[name].paragraphs] for name in names}
    bm25 = {name: BM25Index(list(titles[name].paragraphs)) for name in names}
    groups = []
    for name in names:
        for q in titles[name].questions:
            answers = [a.lower() for a in q.answers if a.strip()]

            def has_answer(s: str, answers: list[str] = answers) -> bool:
                return any(a in s.lower() for a in answers)

            start = q.answer_starts[0]
            pos = next((q.context[a:b] for a, b in sentences(q.context) if a <= start < b), None)
            if pos is None:
                continue
            same = [s for s in sents[name][q.paragraph] if not has_answer(s)]
            near: list[str] = []
            for r, _ in bm25[name].search(q.question, 4):
                if r != q.paragraph:
                    near.extend(s for s in sents[name][r] if not has_answer(s))
            rng.shuffle(same)
            rng.shuffle(near)
            negs = (same[:4] + near)[: GROUP - 2]
            other = rng.choice([n for n in names if n != name])
            negs.append(rng.choice(rng.choice([p for p in sents[other] if p])))
            groups.append({"question": q.question, "sentences": [pos, *negs], "positive": 0})
    rng.shuffle(groups)
    return groups


def load_body(num_labels: int = 1) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base, _ = resolve_embedder("packaged")
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels)
    return model, tokenizer


def train(groups: list[dict], epochs: float, lr: float, groups_per_step: int, seed: int) -> tuple[Any, Any, float]:
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.manual_seed(seed)
    model, tokenizer = load_body()
    model.get_input_embeddings().weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = max(1, int(math.ceil(len(groups) / groups_per_step) * epochs))
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    model.train()
    rng = random.Random(seed)
    order: list[dict] = []
    loss_avg = 0.0
    t0 = time.time()
    for step in range(steps):
        if len(order) < groups_per_step:
            more = list(groups)
            rng.shuffle(more)
            order.extend(more)
        batch, order = order[:groups_per_step], order[groups_per_step:]
        qs = [g["question"] for g in batch for _ in g["sentences"]]
        ss = [s for g in batch for s in g["sentences"]]
        enc = tokenizer(qs, ss, truncation="only_second", max_length=MAX_LENGTH, padding=True, return_tensors="pt")
        logits = model(**enc).logits[:, 0]
        loss = logits.new_zeros(())
        i = 0
        labels: list[float] = []
        for g in batch:
            n = len(g["sentences"])
            part = logits[i : i + n]
            loss = loss + F.cross_entropy(part[None], torch.tensor([g["positive"]])) / len(batch)
            labels.extend(1.0 if k == g["positive"] else 0.0 for k in range(n))
            i += n
        loss = loss + F.binary_cross_entropy_with_logits(logits, torch.tensor(labels))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        value = float(loss.detach())
        loss_avg = 0.98 * loss_avg + 0.02 * value if step else value
        if step % 50 == 0:
            log.info("step %d/%d loss %.3f (%.1f min)", step, steps, loss_avg, (time.time() - t0) / 60)
    model.eval()
    return model, tokenizer, loss_avg


def save(model: Any, tokenizer: Any, out: Path, info: dict) -> None:
    """As the reader is saved (``rag.train_reader.save``), with the ranker's head and model card."""
    model.config.architectures = ["BertForSequenceClassification"]
    save_reader_format(model, tokenizer, out, info, MODEL_CARD)


MODEL_CARD = """# rag sentence ranker (cross-encoder, MiniLM-L6)

What it is: a one-logit sequence classifier on the body of all-MiniLM-L6-v2 ({base}), trained on
this machine by `python -m rag.train_ranker`. It reads "[CLS] question [SEP] sentence [SEP]" and
scores how likely that sentence answers the question.

Data: SQuAD v1.1 dev (CC BY-SA 4.0; Rajpurkar et al., 2016), only the {titles} titles of the `reader`
part of `rag/data/squad_split.json`: {groups} questions, each a group of the sentence holding its
answer and up to seven that do not (first from the gold paragraph, then from the paragraphs of the
same title BM25 ranks highest for the question, then one from another title). The fusion,
calibration and test titles were not used.

Training: {epochs} epochs, AdamW lr {lr}, {groups_per_step} groups per step, seed {seed}, linear
warm-up/decay; loss = the group's softmax cross-entropy + a per-sentence logistic loss (so logits
compare across questions). The word-embedding table frozen (it is the packaged MiniLM's and is
loaded from there: this folder holds the other weights in float16, ~21 MB). Final training loss
{final_loss:.3f}; {minutes} min on 2 CPU cores.

Use: `rag.ranker.Ranker`; one feature of the answer score (`rag.scoring`); figures on held-out SQuAD
titles are in the README (`rag eval --squad`).
Limits: English; trained on Wikipedia sentences, not news; it sees one sentence at a time, so a
sentence whose subject is a pronoun is judged without its antecedent.
License of the weights: derived from all-MiniLM-L6-v2 (Apache-2.0) and SQuAD (CC BY-SA 4.0).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--groups-per-step", type=int, default=4)
    ap.add_argument("--limit", type=int, default=0, help="use only this many questions (smoke runs)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(2)
    groups = build_groups(args.squad, args.seed)
    if args.limit:
        groups = groups[: args.limit]
    log.info("%d groups, %d sentences", len(groups), sum(len(g["sentences"]) for g in groups))
    t0 = time.time()
    model, tokenizer, loss = train(groups, args.epochs, args.lr, args.groups_per_step, args.seed)
    _, version = resolve_embedder("packaged")
    info = {
        "base": version,
        "squad_titles": part_titles(load_split(), "reader"),
        "groups": len(groups),
        "epochs": args.epochs,
        "lr": args.lr,
        "groups_per_step": args.groups_per_step,
        "seed": args.seed,
        "final_loss": loss,
        "minutes": round((time.time() - t0) / 60, 1),
    }
    save(model, tokenizer, args.out, info)
    log.info("saved %s (%.1f min)", args.out, info["minutes"])


if __name__ == "__main__":
    main()
