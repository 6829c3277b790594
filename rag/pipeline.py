"""The query pipeline: the one place where the components are composed.

question -> follow-up rewrite -> hybrid retrieval -> sentence support scores
  -> too little support: decline, listing the closest passages
  -> else, with a generator: draft from the best evidence, verify every sentence, keep what the
     cited passage supports; nothing left -> quote the best sentence
  -> else (no generator): quote the best sentences
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

from rag.answer.answer_types import MONEY, question_type, states_a_count, states_an_amount
from rag.answer.assembly import AnswerBuilder, first_paragraph, merge_parts
from rag.answer.bylines import match_article, metadata_field, topic_terms
from rag.answer.decompose import Bridge, bridge, is_name, items_asked, refer_back, split_question
from rag.answer.entity_conflict import conflicts
from rag.answer.evidence import Candidate, Evidence, Grounder
from rag.answer.prompting import SYSTEM, draft_evidence, fit_messages, prompt_excerpts
from rag.answer.questions import InvalidQuestion, check_history, check_question
from rag.answer.retrieval import Retriever
from rag.answer.rewriting import standalone, with_context
from rag.answer.scoring import Decision, Scorer, score_candidates
from rag.answer.verification import DraftWatch, Verifier
from rag.index.store import BuildReport, Index, IndexStore, IndexWriteError
from rag.index.sync import preparer_for, sync_index
from rag.models.embedding import Embedder, ModelLoadError
from rag.models.generation import Generator, ModelSource, resolve_generator
from rag.models.reader import Reader
from rag.settings import Settings, switched_off
from rag.types import Answer, Passage

if TYPE_CHECKING:
    from rag.models.batching import Ticket

log = logging.getLogger(__name__)
MAX_LINK_WORDS = 6  # a bridge's first step must give a name, not a clause


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

    def declines(self, ev: Evidence) -> str | None:
        """None to answer; else why not, for ``Answer.notes`` ("" when the support is simply too low)."""
        if (why := self._no_figure(ev)) is not None:
            return why
        decision = self.decision
        if decision is None or not ev.candidates:
            return "" if ev.support < self.refuse_below else None
        best = ev.candidates[0]
        if decision.declines(ev.support, False, best.features):
            return ""  # too little support, whatever the sentence is about
        # A veto, not a weight: on news a conflict is too rare among the fit rows for the decision
        # to learn its weight (3% of answerable tops), and on SQuAD's swapped-entity questions the
        # check is what declines them (benchmarks.decision_ablation; docs/experiments.md).
        found = conflicts(ev.question, best.text, ev.passages[best.passage_index].chunk.text)
        if not found:
            return None
        name, instead = found[0]
        return f"declined: the passage never mentions {name}; its best sentence is about {instead[0]}"

    def _more_items(self, ev: Evidence) -> list[Candidate]:
        """For a question that asks for two or three things ("Which two unions …?"): the next best
        sentences, from anywhere in the evidence, that the scorer would answer with on their own
        and that name something the sentences already chosen do not."""
        n = items_asked(ev.question)
        if n < 2 or self.scorer is None or not ev.candidates:
            return []
        said = ev.candidates[0].text.lower()
        more: list[Candidate] = []
        for c in ev.candidates[1:]:
            if len(more) == n - 1 or (c.p or 0.0) < self.scorer.refuse_below:
                break
            if c.text.lower() in said or not c.span_text or c.span_text.lower() in said:
                continue
            more.append(c)
            said += " " + c.text.lower()
        return more

    def _no_figure(self, ev: Evidence) -> str | None:
        """ "How many X?" is answered by a number, "how much did it cost?" by a sum of money. When
        the best sentence holds none, it is about X without counting or pricing it, and quoting it
        would pass for an answer. (On the SQuAD fusion and calibration titles no right answer to
        such a question lacked one; docs/experiments.md.) Only on the reader path, where spaCy types questions;
        the support-score path has its own type check."""
        if self.scorer is None or not self.scorer.uses_types or not ev.candidates:
            return None
        qtype = question_type(ev.question)
        best = ev.candidates[0].text
        if qtype.counted is not None and not states_a_count(best):
            return "declined: the question asks how many; the best sentence gives no number"
        if qtype.labels == MONEY and not states_an_amount(best):
            return "declined: the question asks for a sum of money; the best sentence gives none"
        return None

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
        """Retrieval and scored candidate sentences. A follow-up is tried both as asked and with the
        conversation's words added; the reading whose best sentence scores higher is kept. An
        ordinal pointing into the last answer's list ("the second one") is replaced by the item
        first, in both readings. ``clock`` gains the seconds of each stage (retrieval, grounding,
        reading), so a benchmark can say where an answer's time goes."""
        clock = {} if clock is None else clock
        asked, query = standalone(question, history)
        tries = [query] if query == asked or self.reader is None else [asked, query]
        best: Evidence | None = None
        for q in tries:
            t = time.perf_counter()
            passages = self.retriever.retrieve(q, top_k or self.settings.top_k, exclude=exclude)
            t = _lap(clock, "retrieval", t)
            cands = self.grounder.candidates(q, passages, asked=asked)
            t = _lap(clock, "grounding", t)
            if self.reader is not None and self.scorer is not None:
                cands = score_candidates(self.reader, self.scorer, q, cands, passages)
            _lap(clock, "reading", t)
            ev = Evidence(question, q, passages, cands)
            if best is None or ev.support > best.support:
                best = ev
        assert best is not None
        return best

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
        question = check_question(question, self.settings.max_question_chars)
        history = check_history(history)
        if top_k is not None and (not isinstance(top_k, int) or not 1 <= top_k <= 100):
            raise InvalidQuestion(f"top_k must be a whole number from 1 to 100, not {top_k!r}")
        if self.generator is not None:
            self.generator.load_async()
        # A question that may draft tells the decoder, so drafts asked together share a batch.
        may_draft = self.generator is not None and self.draft_policy in ("always", "no-short-answer")
        ticket = self.generator.expect() if may_draft and self.generator is not None else None
        try:
            parts = self._parts(question)
            clock: dict[str, float] = {}
            whole: Answer | None = None  # answered without a draft: from a byline, or part by part
            if len(parts) == 1 and (field := metadata_field(question)) is not None:
                with self._lock:
                    whole = self._about_article(question, field, history, top_k, exclude)
            elif len(parts) > 1:
                with self._lock:
                    whole = self._multipart(question, parts, history, top_k, exclude, clock)
            elif self._decomposes() and (link := bridge(question)) is not None:
                with self._lock:
                    whole = self._bridged(question, link, history, top_k, exclude, clock)
            if whole is not None:
                whole.timings = {**clock, "total": time.perf_counter() - t0}
                if ticket is not None:
                    ticket.release()
                yield whole
                return
            with self._lock:  # the index may be swapped by an upload; the evidence is self-contained
                ev = self.gather(question, history, top_k, exclude, clock)
            t1 = time.perf_counter()
            timings = {"retrieve": t1 - t0, **clock}
            why = self.declines(ev)
            more = self._more_items(ev) if why is None else []
            if why is not None:
                answer = self.answers.abstain(ev)
                answer.notes += [why] if why else []
            elif self.generator is None or more:
                answer = self.answers.extractive(ev, more)
            elif self.draft_policy == "no-short-answer" and self.answers.short_answer(ev) is not None:
                answer = self.answers.extractive(ev)
                answer.notes.append(
                    "answered extractively: the reader found a short answer, which a draft cannot improve"
                )
            else:
                answer = yield from self._drafted(ev, ticket, timings, t0)
            answer.support = ev.support
            answer.best_sentence = ev.candidates[0].text if ev.candidates else ""
            done = time.perf_counter()
            # decision: declining or not, and assembling the answer (a draft's time is "draft")
            timings["decision"] = done - t1 - timings.get("draft", 0.0)
            answer.timings = {**timings, "answer": done - t1, "total": done - t0}
            if ticket is not None:
                ticket.release()  # no draft is coming from this question any more
            yield answer
        finally:
            if ticket is not None:
                ticket.release()

    def _drafted(
        self, ev: Evidence, ticket: Ticket | None, timings: dict[str, float], t0: float
    ) -> abc.Generator[str, None, Answer]:
        """Stream the model's draft (yielding its pieces), stopping as soon as the rest could only
        be dropped, then return the verified answer. ``timings`` gains first_token and draft."""
        assert self.generator is not None
        t1 = time.perf_counter()
        draft = ""
        first_token: float | None = None
        watch = self._watch(ev)
        pieces = self.generator.stream(self._prompt(ev), ticket=ticket)
        try:
            for piece in pieces:
                if first_token is None:
                    first_token = time.perf_counter()
                draft += piece
                yield piece
                if "\n\n" in draft or watch.check(first_paragraph(draft)):
                    break  # one paragraph is all we asked for / the rest would be dropped
        finally:
            pieces.close()  # stops the model now, not at max_new_tokens
        if first_token is not None:
            timings["first_token"] = first_token - t0
        timings["draft"] = time.perf_counter() - t1
        if watch.stopped:
            notes = [watch.reason] if watch.reason else []
            return self._verified(ev, draft, checkable=watch.complete_text, notes=notes)
        return self._verified(ev, draft)

    # --- multi-part questions ---------------------------------------------------------------
    def _decomposes(self) -> bool:
        """Questions are split into parts or bridged only with the reader and ``multipart`` on."""
        return self.settings.multipart and self.reader is not None

    def _parts(self, question: str) -> list[str]:
        return split_question(question) if self._decomposes() else [question]

    def _multipart(
        self,
        question: str,
        parts: list[str],
        history: list[dict] | None,
        top_k: int | None,
        exclude: set[str] | None,
        clock: dict[str, float] | None = None,
    ) -> Answer:
        """Each part retrieved, scored and answered on its own (extractively: a verified quote or
        short answer per part); a later part sees the earlier ones as conversation, so "it" in
        "… and who designed it?" is resolved the way a follow-up is."""
        answers: list[Answer] = []
        turns = list(history or [])
        named: str | None = None  # the first part's answer, read by the reader (bold or not)
        for k, part in enumerate(parts):
            if k > 0:  # "… and when did she …?": the part asked about the first part's subject
                part = refer_back(parts[0], part, named)
            if (field := metadata_field(part)) is not None:
                a = self._about_article(part, field, turns or None, top_k, exclude)
            else:
                ev = self.gather(part, turns or None, top_k, exclude, clock)
                a = self.answers.abstain(ev) if self.declines(ev) is not None else self.answers.extractive(ev)
                if k == 0 and not a.abstained and ev.candidates:
                    named = a.short_answer or ev.candidates[0].span_text or None
                a.support = ev.support
                a.best_sentence = ev.candidates[0].text if ev.candidates else ""
            answers.append(a)
            said = a.sentences[0].text if a.sentences else ""
            turns += [{"role": "user", "content": part}, {"role": "assistant", "content": said}]
        return merge_parts(question, answers)

    def _bridged(
        self,
        question: str,
        link: Bridge,
        history: list[dict] | None,
        top_k: int | None,
        exclude: set[str] | None,
        clock: dict[str, float],
    ) -> Answer | None:
        """ "Who runs the bakery that supplied the school?": first which bakery, then who runs it,
        each step retrieved, read and cited on its own. None (answer the question whole) unless
        both steps are answered and the first with a short name: a guessed link never answers."""
        ev = self.gather(link.inner, history, top_k, exclude, clock)
        if self.declines(ev) is not None or not ev.candidates:
            return None
        first = self.answers.extractive(ev)
        name = first.short_answer or ev.candidates[0].span_text
        if not name or len(name.split()) > MAX_LINK_WORDS or not is_name(name):
            return None
        outer = link.outer(name)
        ev2 = self.gather(outer, history, top_k, exclude, clock)
        if self.declines(ev2) is not None:
            return None
        second = self.answers.extractive(ev2)
        whole = merge_parts(question, [first, second])
        whole.notes.append(f"answered in two steps: {link.inner} → {name}; then {outer}")
        return whole

    # --- questions about an article itself ------------------------------------------------
    def _about_article(
        self, question: str, field: str, history: list[dict] | None, top_k: int | None, exclude: set[str] | None
    ) -> Answer:
        """Who wrote / when was published the article the question names: its byline or date.
        "Who is the author?" names none; then the conversation so far says which article."""
        _, query = standalone(question, history)
        if not topic_terms(query):
            query = with_context(question, history)
        passages = self.retriever.retrieve(query, top_k or self.settings.top_k, exclude=exclude)
        ev = Evidence(question, query, passages, [])
        return self.answers.metadata(ev, field, match_article(topic_terms(query), passages, self.grounder.coverage))

    # --- drafting --------------------------------------------------------------------------
    def _prompt(self, ev: Evidence) -> list[dict]:
        assert self.generator is not None
        excerpts = prompt_excerpts(ev, self.settings.min_support)
        return fit_messages(self.generator, ev.query, excerpts, self.settings.max_prompt_tokens)

    def _draft_evidence(self, ev: Evidence) -> tuple[list[int], list[str], list[list[tuple[int, int]]]]:
        return draft_evidence(ev, self.settings.min_support, self.settings.focus_margin)

    def _watch(self, ev: Evidence) -> DraftWatch:
        _, texts, focus = self._draft_evidence(ev)
        return DraftWatch(self.verifier, ev.query, texts, focus, asked=ev.question)

    def _verified(
        self, ev: Evidence, draft: str, checkable: str | None = None, notes: list[str] | None = None
    ) -> Answer:
        """Keep the draft sentences the passages support. ``checkable`` is the part of the draft
        to verify when drafting was stopped early (its finished sentences)."""
        prompt_idx, texts, focus = self._draft_evidence(ev)
        to_check = first_paragraph(draft) if checkable is None else checkable
        verdicts = self.verifier.verify(to_check, ev.query, texts, focus, asked=ev.question)
        return self.answers.verified(ev, draft, verdicts, prompt_idx, notes or [])


def _lap(clock: dict[str, float], stage: str, since: float) -> float:
    """Adds the seconds since ``since`` to ``clock[stage]``; returns now."""
    now = time.perf_counter()
    clock[stage] = clock.get(stage, 0.0) + now - since
    return now
