"""The reader's model card, written beside its weights from training.json, so the card always
says what the weights were trained on and how to make them again."""

from __future__ import annotations


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
