"""Drafts of questions asked at the same time, decoded together in one loop.

Decoding a small model on a CPU is bound by reading its weights, not by arithmetic: one decoding
step for 8 sequences costs little more than for 1 (``benchmarks/load.py`` prints the figures).
So rather than queueing people behind one ``generate`` call each, one worker thread owns the
model and decodes every waiting prompt in the same batch: prompts are left-padded and prefilled
together, then each step appends one token to every sequence still running. Greedy decoding with
the same repetition penalty as before; each request gets its own text pieces through its own
queue, so nobody's tokens reach anyone else, and a request that is cancelled (its reader went
away) or reaches its stop string stops taking part at the next step.

Requests arriving while a batch runs wait for it to finish (static batching: a batch is at most
``max_new_tokens`` steps); the next batch takes all of them. Questions reach the decoder one by
one, though (each first retrieves and scores its evidence, in turn), so a question that may draft
says so when it starts (``expect``); a free decoder waits for the drafts it was promised, up to
``gather_wait`` seconds, instead of starting a batch of one just before seven more arrive.
"""

from __future__ import annotations

import copy
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_DONE = object()


@functools.cache
def cache_name(model_class: Any) -> str:
    """The name a model class's forward takes and returns its KV cache under: transformers 5.x
    renamed ``past_key_values`` to ``cache`` (the old name warns, and goes in 5.40);
    ``pyproject.toml`` admits releases on both sides of the rename. Read once per class: it is
    asked at every decoding step."""
    import inspect

    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def forward_cached(model: Any, cache: Any = None, **inputs: Any) -> tuple[Any, Any]:
    """One forward pass with ``use_cache``: (logits, the KV cache to pass to the next step)."""
    name = cache_name(model.__class__)
    if cache is not None:
        inputs[name] = cache
    out = model(**inputs, use_cache=True)
    return out.logits, getattr(out, name)


@dataclass
class DraftRequest:
    """One prompt's place in the decoder: its tokens, its own output queue, its cancel flag."""

    ids: list[int]
    max_new_tokens: int
    out: queue.Queue = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    generated: list[int] = field(default_factory=list)
    sent: str = ""  # the text already put on ``out``
    done: bool = False

    def pieces(self) -> Generator[str, None, None]:
        """The text as it is decoded; ends when the draft does. Closing it cancels the request."""
        try:
            while True:
                item = self.out.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancelled.set()


class Ticket:
    """A promise that a draft may come (``BatchDecoder.expect``); released exactly once."""

    def __init__(self, decoder: BatchDecoder) -> None:
        self._decoder = decoder
        self._open = True

    def release(self, locked: bool = False) -> None:
        if self._open:
            self._open = False
            if locked:  # the caller holds the decoder's condition already
                self._decoder._expected -= 1
            else:
                self._decoder._release()


class BatchDecoder:
    """Owns the model's decoding: ``submit`` a tokenized prompt, read its ``pieces``."""

    def __init__(
        self,
        model: Any,
        decode: Callable[[list[int]], str],
        eos_ids: set[int],
        pad_id: int,
        max_batch: int = 8,
        stop: str = "\n",
        repetition_penalty: float = 1.1,
        prefix: tuple | None = None,
        gather_wait: float = 1.0,
    ) -> None:
        self.model = model
        self.decode = decode  # token ids -> text (thread-confined to the worker)
        self.eos_ids = eos_ids
        self.pad_id = pad_id
        self.max_batch = max_batch
        self.stop = stop
        self.penalty = repetition_penalty
        self.prefix = prefix  # (ids tensor [1, P], KV cache) of the shared system prompt, if any
        self.gather_wait = gather_wait
        self._pending: list[DraftRequest] = []
        self._expected = 0  # questions in flight that may still submit a draft
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        self.batches: list[int] = []  # sizes of the batches run so far (for benchmarks and tests)

    def expect(self) -> Ticket:
        """A question has started that may draft: hold its place until it submits or releases."""
        with self._wake:
            self._expected += 1
        return Ticket(self)

    def _release(self) -> None:
        with self._wake:
            self._expected -= 1
            self._wake.notify()

    def submit(self, ids: list[int], max_new_tokens: int, ticket: Ticket | None = None) -> DraftRequest:
        req = DraftRequest(list(ids), max_new_tokens)
        with self._wake:
            self._pending.append(req)
            if ticket is not None:
                ticket.release(locked=True)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run_forever, name="rag-decoder", daemon=True)
                self._worker.start()
            self._wake.notify()
        return req

    def _run_forever(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
                deadline = time.monotonic() + self.gather_wait
                while len(self._pending) < self.max_batch and self._expected > 0 and time.monotonic() < deadline:
                    self._wake.wait(deadline - time.monotonic())
                batch = [r for r in self._pending if not r.cancelled.is_set()][: self.max_batch]
                taken = set(map(id, batch))
                for r in self._pending:
                    if id(r) not in taken and r.cancelled.is_set():
                        r.out.put(_DONE)
                self._pending = [r for r in self._pending if id(r) not in taken and not r.cancelled.is_set()]
            if not batch:
                continue
            try:
                self.batches.append(len(batch))
                self._decode_batch(batch)
            except BaseException as e:
                log.exception("decoding a batch of %d failed", len(batch))
                for r in batch:
                    if not r.done:
                        r.out.put(e)
                        r.done = True

    # --- one batch ---------------------------------------------------------------------------
    def _prefill(self, batch: list[DraftRequest]) -> tuple[Any, Any, Any]:
        """Logits of each prompt's last position and the KV cache, prompts left-padded."""
        import torch

        if len(batch) == 1 and self.prefix is not None:
            pids, cache = self.prefix
            ids = torch.tensor([batch[0].ids])
            n = pids.shape[1]
            if ids.shape[1] > n and torch.equal(ids[:, :n], pids):
                logits, past = forward_cached(self.model, copy.deepcopy(cache), input_ids=ids[:, n:])
                return logits[:, -1, :], past, torch.ones_like(ids)
        width = max(len(r.ids) for r in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, r in enumerate(batch):
            ids[i, width - len(r.ids) :] = torch.tensor(r.ids)
            mask[i, width - len(r.ids) :] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits, past = forward_cached(self.model, input_ids=ids, attention_mask=mask, position_ids=pos)
        return logits[:, -1, :], past, mask

    def _penalize(self, logits: Any, seen: Any) -> Any:
        """transformers' repetition penalty: a token already in the sequence is made less likely."""
        import torch

        penalized = torch.where(logits < 0, logits * self.penalty, logits / self.penalty)
        return torch.where(seen, penalized, logits)

    def _decode_batch(self, batch: list[DraftRequest]) -> None:
        import torch

        with torch.inference_mode():
            logits, past, mask = self._prefill(batch)
            vocab = logits.shape[-1]
            seen = torch.zeros((len(batch), vocab), dtype=torch.bool)
            for i, r in enumerate(batch):
                seen[i, torch.tensor([t for t in r.ids if t < vocab])] = True
            steps = max(r.max_new_tokens for r in batch)
            for step in range(steps):
                nxt = self._penalize(logits.float(), seen).argmax(dim=-1)
                for i, r in enumerate(batch):
                    if r.done:
                        nxt[i] = self.pad_id
                        continue
                    self._advance(r, int(nxt[i]))
                    seen[i, nxt[i]] = True
                if all(r.done for r in batch) or step == steps - 1:
                    break
                mask = torch.cat([mask, torch.ones((len(batch), 1), dtype=mask.dtype)], dim=1)
                pos = mask.sum(-1, keepdim=True) - 1
                logits, past = forward_cached(
                    self.model, past, input_ids=nxt[:, None], attention_mask=mask, position_ids=pos
                )
                logits = logits[:, -1, :]
        for r in batch:
            self._finish(r)

    def _advance(self, r: DraftRequest, token: int) -> None:
        """Take one token for ``r``: send the new text, stop on EOS, the stop string, the length
        limit or cancellation."""
        if r.cancelled.is_set():
            self._finish(r)
            return
        if token in self.eos_ids:
            self._finish(r)
            return
        r.generated.append(token)
        text = self.decode(r.generated)
        cut = text.find(self.stop) if self.stop else -1
        if cut >= 0:
            text = text[: cut + len(self.stop)]
        if not text.endswith("\ufffd") and len(text) > len(r.sent):  # never half a character
            r.out.put(text[len(r.sent) :])
            r.sent = text
        if cut >= 0 or len(r.generated) >= r.max_new_tokens:
            self._finish(r)

    def _finish(self, r: DraftRequest) -> None:
        if not r.done:
            r.done = True
            r.out.put(_DONE)
