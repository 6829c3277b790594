"""Question likelihood: how probable a causal language model finds the question after reading a
sentence, the unsupervised re-ranker of Sachan et al. (2022, "Improving Passage Retrieval with
Zero-Shot Question Generation").

Why: the reader and the other answer-score signals are all trained or tuned on SQuAD, whose
questions are written from their answer sentence, so they learn word overlap and fail together
on the same questions. The packaged SmolLM2-135M was never trained on SQuAD; asked "which
sentence makes this question likely", it might err elsewhere. Measured (docs/experiments.md):
alone it nearly matches the whole first stage on the SQuAD calibration titles, but it
misses the same hard questions, so fused it adds ~1-2 points there and nothing measurable on the
test titles, at 5x the answer time: it is off by default (RAG_LIKELIHOOD_MODEL).

The score of a sentence is the mean log-probability of the question's tokens after
``PROMPT`` (higher: the sentence explains the question better). ``null`` is the same without a
sentence, so ``score - null`` says how much the sentence helps, comparable across questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.generation import Generator

PROMPT = "Passage: {passage}\nA question answered by this passage:"
MAX_PASSAGE_TOKENS = 96  # a candidate is one sentence; a rare run-on one is cut here
MAX_QUESTION_TOKENS = 64


class QuestionLikelihood:
    """Scores sentences by log P(question | sentence) under a causal LM (a loaded ``Generator``)."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        """Mean log-probability per question token after each sentence (one batch)."""
        if not sentences:
            return np.zeros(0, dtype=np.float64)
        import torch

        gen = self.generator
        tok, model = gen.tokenizer, gen.model
        with gen._tok_lock:
            q_ids = tok(" " + question.strip(), add_special_tokens=False)["input_ids"][:MAX_QUESTION_TOKENS]
            head, tail = PROMPT.split("{passage}")
            head_ids = tok(head, add_special_tokens=False)["input_ids"]
            tail_ids = tok(tail, add_special_tokens=False)["input_ids"]
            seqs = [
                head_ids + tok(s, add_special_tokens=False)["input_ids"][:MAX_PASSAGE_TOKENS] + tail_ids + q_ids
                for s in sentences
            ]
        if not q_ids:
            return np.zeros(len(sentences), dtype=np.float64)
        width = max(map(len, seqs))
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs])  # left-padded: the question ends every row
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
        n = len(q_ids)
        logp = torch.log_softmax(logits[:, -n - 1 : -1].float(), dim=-1)
        target = torch.tensor(q_ids).view(1, n, 1).expand(len(seqs), n, 1)
        return logp.gather(-1, target).squeeze(-1).mean(-1).double().numpy()

    def null(self, question: str) -> float:
        """The question's likelihood after an empty passage: the baseline ``score`` is compared to."""
        return float(self.score(question, [""])[0])
