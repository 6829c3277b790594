"""The query pipeline: the one place where the components are composed.

A question goes down the stages once, each a component with one entry point (``run``):

    QuestionAnalyzer  checked question and conversation; whole, in parts, in two steps, or about
                      an article itself                                   (rag.answer.analysis)
    Compound          the parts / steps / byline answers, each from its own evidence
                                                                          (rag.answer.compound)
    Gatherer          retrieval, candidate sentences, reader and calibrated score
                                                                          (rag.answer.gathering)
    Decider           answer or decline, and the further items a list question asks for
                                                                          (rag.answer.decision)
    AnswerBuilder     a cited quote / short answer, or a decline listing the closest passages
                                                                          (rag.answer.assembly)
    Drafter           with a generator: a streamed draft, verified sentence by sentence
                                                                          (rag.answer.drafting)

Models and the index load lazily on first use and are then reused.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import abc
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.analysis import QuestionAnalyzer
from rag.answer.assembly import AnswerBuilder
from rag.answer.compound import Compound
from rag.answer.decision import Decider
from rag.answer.drafting import Drafter
from rag.answer.evidence import Evidence, Grounder
from rag.answer.gathering import Gatherer
from rag.answer.prompting import SYSTEM
from rag.answer.retrieval import Retriever
from rag.answer.rewriting import standalone
from rag.answer.scoring import Decision, Scorer
from rag.answer.verification import Verifier
from rag.index.store import BuildReport, Index, IndexStore, IndexWriteError
from rag.index.sync import preparer_for, sync_index
from rag.models.embedding import Embedder
from rag.models.generation import Generator
from rag.models.reader import Reader
from rag.models.sources import ModelLoadError, ModelSource, resolve_generator
from rag.settings import Settings, switched_off
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from rag.models.batching import Ticket

log = logging.getLogger(__name__)


@dataclass
class Components:
    """Already-built components to use instead of building them from ``Settings`` (constructor
    injection): tests and applications share one loaded model between pipelines this way. Any
    left ``None`` is built from the settings on first use."""

    embedder: Embedder | None = None
    reader: Reader | None = None
    scorer: Scorer | None = None
    generator: Generator | None = None


class Pipeline:
    def __init__(
        self, settings: Settings | None = None, components: Components | None = None, **overrides: object
    ) -> None:
        base = settings or Settings()
        # Validated like any other source of settings: "docs_dir='articles'" becomes a Path, a
        # mistyped value is a clear error instead of a failure deep inside a component.
        self.settings = Settings.model_validate({**base.model_dump(), **overrides}) if overrides else base
        self._lock = threading.RLock()
        self._index: Index | None = None
        self._retriever: Retriever | None = None
        self._grounder: Grounder | None = None
        self.last_build: BuildReport | None = None
        if self.settings.draft_policy not in ("auto", "never", "no-short-answer", "always"):
            raise ModelLoadError(
                f"draft_policy must be auto, never, no-short-answer or always, not {self.settings.draft_policy!r}"
            )
        # Fail fast on a generator setting that cannot work (missing file, bad folder).
        self.generator_source: ModelSource | None = resolve_generator(self.settings.generator)
        for field in dataclasses.fields(Components):  # given ones take the place of the lazy build
            given = getattr(components, field.name, None) if components is not None else None
            if given is not None:
                self.__dict__[field.name] = given

    # --- components, built once on first use ----------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return Embedder(
            s.embedder, s.embed_batch_size, dtype=s.embed_dtype, backend=s.embed_backend, cache_dir=s.cache_dir
        )

    @cached_property
    def store(self) -> IndexStore:
        return IndexStore(self.settings.index_dir)

    @property
    def index(self) -> Index:
        with self._lock:
            if self._index is None:
                self.sync()
            assert self._index is not None
            return self._index

    def sync(self, show_progress: bool = False, strict: bool = False) -> BuildReport:
        """Build or incrementally update the index from the articles folder.

        When the index cannot be written (read-only folder, full disk) and an index exists, the
        pipeline keeps answering from it and the report says why it is not up to date; with
        ``strict`` (``rag index``), the write error is raised instead."""
        with self._lock:
            try:
                index, report = sync_index(
                    self.settings.docs_dir,
                    self.store,
                    self.embedder,
                    self.settings.chunk_size,
                    self.settings.chunk_overlap,
                    self.settings.approx_threshold,
                    show_progress=show_progress,
                    max_file_bytes=self.settings.max_file_mb * 2**20,
                    existing=self._index,
                    preparer=preparer_for(self.settings, self.embedder, show_progress),
                )
            except IndexWriteError as e:
                fallback = self._index or self.store.load_or_previous()
                if strict or fallback is None:
                    raise
                log.warning("%s; answering from the index as it is", e)
                index, report = fallback, BuildReport(write_error=str(e))
            self._index = index
            self.last_build = report
            return report

    @property
    def retriever(self) -> Retriever:
        """Built for the live index; rebuilt when a sync swaps it (its BM25 statistics change)."""
        with self._lock:
            index = self.index
            if self._retriever is None or self._retriever.index is not index:
                s = self.settings
                self._retriever = Retriever(index, self.embedder, s.retrieval, s.candidates, s.rrf_k, s.bm25_weight)
                bm25 = self._retriever.bm25
                self._grounder = Grounder(self.embedder, bm25.idf, bm25.n)
            return self._retriever

    @property
    def grounder(self) -> Grounder:
        """Sentence candidates weighted by the live index's term statistics."""
        with self._lock:
            _ = self.retriever
            assert self._grounder is not None
            return self._grounder

    @cached_property
    def reader(self) -> Reader | None:
        name = self.settings.reader
        return (
            None
            if switched_off(name)
            else Reader(name, backend=self.settings.reader_backend, cache_dir=self.settings.cache_dir)
        )

    @cached_property
    def scorer(self) -> Scorer | None:
        if self.reader is None:
            return None
        name = self.settings.answer_scorer
        scorer = Scorer.load() if name in ("packaged", "default", "") else Scorer.load(Path(name))
        fitted_k = scorer.info.get("top_k")
        if fitted_k is not None and fitted_k != self.settings.top_k:
            # It still works, but its refusal and short-answer thresholds were chosen for as many
            # candidate sentences as fitted_k passages give: at 8 instead of 5, fewer near misses
            # were declined on the calibration titles (docs/experiments.md, RAG_TOP_K).
            log.warning(
                "the answer scorer was fitted and calibrated reading %s passages; RAG_TOP_K=%s reads %s",
                fitted_k,
                self.settings.top_k,
                "more" if self.settings.top_k > fitted_k else "fewer",
            )
        return scorer

    @property
    def refuse_below(self) -> float:
        if self.settings.refuse_below is not None:
            return self.settings.refuse_below
        return self.settings.min_support if self.scorer is None else self.scorer.refuse_below

    @property
    def decision(self) -> Decision | None:
        """The fitted answer-or-decline decision (probability and entity conflict), when it applies:
        not with a refusal threshold set by hand."""
        if self.settings.refuse_below is not None or self.scorer is None:
            return None
        return self.scorer.decision

    @property
    def short_answer_above(self) -> float:
        if self.settings.short_answer_above is not None:
            return self.settings.short_answer_above
        return math.inf if self.scorer is None else self.scorer.short_above

    @property
    def answers(self) -> AnswerBuilder:
        s = self.settings
        return AnswerBuilder(self.short_answer_above, s.max_short_words, s.quote_words)

    @cached_property
    def verifier(self) -> Verifier:
        return Verifier(self.embedder, self.settings.verify_similarity, self.settings.verify_coverage)

    @property
    def draft_policy(self) -> str:
        """The policy in force ("auto" resolved: the packaged 135M model measured no gain from drafting)."""
        policy = self.settings.draft_policy
        if policy == "auto":
            packaged = self.settings.generator.strip().lower() in ("packaged", "default", "")
            return "never" if packaged else "no-short-answer"
        return policy

    @cached_property
    def generator(self) -> Generator | None:
        """The drafting model, or None when answers are extractive (no generator configured, or
        ``draft_policy`` "never": then it is not even loaded)."""
        if self.generator_source is None or self.draft_policy == "never":
            return None
        s = self.settings
        return Generator(
            self.generator_source,
            s.cache_dir,
            s.max_new_tokens,
            s.generator_dtype,
            system_prompt=SYSTEM,
            quantize=s.generator_quantize,
            max_batch=s.generator_max_batch,
        )

    def warm_up(self) -> None:
        """Load everything a first question needs (index, embedder, generator), so startup fails
        loudly on a broken model and the first user does not wait."""
        if self.generator is not None:
            self.generator.load_async()
        _ = self.grounder
        self.embedder.encode_query("warm up")
        if self.reader is not None:
            self.reader.read("warm up?", ["Warm up."], [[(0, 8)]])
            if self.scorer is not None and self.scorer.uses_types:
                from rag.answer.nlp import nlp

                nlp()
        if self.generator is not None:
            self.generator.load()

    # --- the stages, built for the live index and settings ---------------------------------
    def analyzer(self) -> QuestionAnalyzer:
        return QuestionAnalyzer(self.settings.max_question_chars, self.settings.multipart and self.reader is not None)

    def gatherer(self) -> Gatherer:
        with self._lock:
            return Gatherer(self.retriever, self.grounder, self.reader, self.scorer, self.settings.top_k)

    @property
    def decider(self) -> Decider:
        return Decider(self.scorer, self.decision, self.refuse_below)

    @property
    def drafter(self) -> Drafter:
        assert self.generator is not None
        s = self.settings
        return Drafter(self.generator, self.verifier, self.answers, s.min_support, s.focus_margin, s.max_prompt_tokens)

    # --- asking ----------------------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
    ) -> tuple[str, list[Passage]]:
        _, query = standalone(question, history)
        return query, self.retriever.retrieve(query, top_k or self.settings.top_k, exclude=exclude)

    def gather(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
        clock: dict[str, float] | None = None,
    ) -> Evidence:
        """The scored evidence for one question (``Gatherer.run``)."""
        return self.gatherer().run(question, history, top_k, exclude, clock)

    def query(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
    ) -> Answer:
        """The verified Answer (the last item of ``query_stream``)."""
        answer = None
        for item in self.query_stream(question, history, top_k, exclude):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def query_stream(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Draft text as the model writes it (``str`` pieces), then the verified ``Answer``.

        The final answer may differ from the draft (unsupported sentences dropped, or replaced by a
        quote); ``Answer.draft`` keeps the draft and ``Answer.notes`` says what changed and why."""
        t0 = time.perf_counter()
        analysis = self.analyzer().run(question, history, top_k, exclude)
        if self.generator is not None:
            self.generator.load_async()
        # A question that may draft tells the decoder, so drafts asked together share a batch.
        may_draft = self.generator is not None and self.draft_policy in ("always", "no-short-answer")
        ticket = self.generator.expect() if may_draft and self.generator is not None else None
        try:
            clock: dict[str, float] = {}
            with self._lock:  # the index may be swapped by an upload; the evidence is self-contained
                gatherer = self.gatherer()
                whole = Compound(gatherer, self.decider, self.answers).run(analysis, clock)
                ev = gatherer.run(analysis.question, analysis.history, top_k, exclude, clock) if whole is None else None
            if ev is not None:
                whole = yield from self._answered(ev, ticket, clock, t0)
            else:
                assert whole is not None
                whole.timings = {**clock, "total": time.perf_counter() - t0}
            if ticket is not None:
                ticket.release()  # no draft is coming from this question any more
            yield whole
        finally:
            if ticket is not None:
                ticket.release()

    def _answered(
        self, ev: Evidence, ticket: Ticket | None, clock: dict[str, float], t0: float
    ) -> abc.Generator[str, None, Answer]:
        """Decide, then assemble (or draft, yielding its pieces); returns the Answer."""
        t1 = time.perf_counter()
        timings = {"retrieve": t1 - t0, **clock}
        ruling = self.decider.run(ev)
        if ruling.declined is not None:
            answer = self.answers.abstain(ev)
            answer.notes += [ruling.declined] if ruling.declined else []
        elif self.generator is None or ruling.more:
            answer = self.answers.extractive(ev, ruling.more)
        elif self.draft_policy == "no-short-answer" and self.answers.short_answer(ev) is not None:
            answer = self.answers.extractive(ev)
            answer.notes.append("answered extractively: the reader found a short answer, which a draft cannot improve")
        else:
            answer = yield from self.drafter.run(ev, ticket, timings, t0)
        answer.support = ev.support
        answer.best_sentence = ev.candidates[0].text if ev.candidates else ""
        done = time.perf_counter()
        # decision: declining or not, and assembling the answer (a draft's time is "draft")
        timings["decision"] = done - t1 - timings.get("draft", 0.0)
        answer.timings = {**timings, "answer": done - t1, "total": done - t0}
        return answer
