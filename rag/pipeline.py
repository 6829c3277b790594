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
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rag.decompose import split_question
from rag.embedding import Embedder, ModelLoadError
from rag.evidence import Candidate, Grounder, continues, next_sentence
from rag.generation import Generator, ModelSource, resolve_generator
from rag.index import BuildReport, CorruptIndex, Index, IndexStore, IndexWriteError
from rag.prompting import SYSTEM, build_messages
from rag.reader import Reader
from rag.retrieval import Retriever
from rag.rewriting import rewrite_followup
from rag.scoring import Scorer, score_candidates
from rag.settings import Settings
from rag.sync import Preparer, sync_index
from rag.text import CONTROL_CHARS
from rag.types import Answer, Citation, Passage, Sentence
from rag.verification import DraftWatch, Verdict, Verifier

log = logging.getLogger(__name__)

NOT_IN_ARTICLES = "The articles do not answer this question."
MAX_PROMPT_PASSAGES = 3


class InvalidQuestion(ValueError):
    """The question cannot be asked as given (empty, not text); the message says why."""


@dataclass
class Evidence:
    """What retrieval and grounding found for one question."""

    question: str
    query: str  # standalone question used for retrieval (== question unless rewritten)
    passages: list[Passage]
    candidates: list[Candidate]  # passage sentences, best supported first

    @property
    def support(self) -> float:
        """The calibrated answer probability of the best sentence (its support score without a reader)."""
        if not self.candidates:
            return 0.0
        top = self.candidates[0]
        return top.p if top.p is not None else top.score

    @property
    def rewritten(self) -> str | None:
        return self.query if self.query != self.question else None


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
                    preparer=self._ray_preparer(show_progress),
                )
            except IndexWriteError as e:
                fallback = self._index or self._load_existing()
                if strict or fallback is None:
                    raise
                log.warning("%s; answering from the index as it is", e)
                index, report = fallback, BuildReport(write_error=str(e))
            if index is not self._index:
                self._index = index
                self.__dict__.pop("retriever", None)
                self.__dict__.pop("grounder", None)
            self.last_build = report
            return report

    def _ray_preparer(self, show_progress: bool) -> Preparer | None:
        """Loading, chunking and embedding on Ray when ``ray_address`` is set; else in process."""
        address = self.settings.ray_address
        if not address:
            return None
        from rag.ray_indexing import RayPreparer

        st = self.settings
        return RayPreparer(
            self.embedder,
            st.chunk_size,
            st.chunk_overlap,
            st.max_file_mb * 2**20,
            address=address,
            workers=st.ray_workers,
            show_progress=show_progress,
        )

    def _load_existing(self) -> Index | None:
        try:
            return self.store.load()
        except CorruptIndex:
            return self.store.load_previous(None)

    @cached_property
    def retriever(self) -> Retriever:
        s = self.settings
        return Retriever(self.index, self.embedder, s.retrieval, s.candidates, s.rrf_k, s.bm25_weight)

    @cached_property
    def grounder(self) -> Grounder:
        bm25 = self.retriever.bm25
        return Grounder(self.embedder, bm25.idf, bm25.n)

    @cached_property
    def reader(self) -> Reader | None:
        name = self.settings.reader
        return (
            None
            if name.lower() in ("none", "off", "")
            else Reader(name, backend=self.settings.reader_backend, cache_dir=self.settings.cache_dir)
        )

    @cached_property
    def scorer(self) -> Scorer | None:
        if self.reader is None:
            return None
        name = self.settings.answer_scorer
        return Scorer.load() if name in ("packaged", "default", "") else Scorer.load(Path(name))

    @property
    def refuse_below(self) -> float:
        if self.settings.refuse_below is not None:
            return self.settings.refuse_below
        return self.scorer.refuse_below if self.scorer is not None else self.settings.min_support

    @property
    def short_answer_above(self) -> float:
        if self.settings.short_answer_above is not None:
            return self.settings.short_answer_above
        return self.scorer.short_above if self.scorer is not None else math.inf

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
                from rag.answer_types import nlp

                nlp()
        if self.generator is not None:
            self.generator.load()

    # --- asking ----------------------------------------------------------------------------
    def _check_question(self, question: object) -> str:
        """The question as retrieval should see it, or ``InvalidQuestion`` saying what is wrong.

        Control characters go (they are never part of what someone asks; format characters such
        as the joiners inside emoji stay). An over-long question is refused rather than silently
        cut: what was pasted is most likely not the question, and the user should decide."""
        if not isinstance(question, str):
            raise InvalidQuestion(f"the question must be text, not {type(question).__name__}")
        question = " ".join(CONTROL_CHARS.sub(" ", question).split())
        if not question:
            raise InvalidQuestion("the question is empty")
        if not any(ch.isalnum() for ch in question):
            raise InvalidQuestion("the question has no words to search for")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise InvalidQuestion(
                f"the question is {len(question):,} characters long; the limit is {limit:,} "
                "(RAG_MAX_QUESTION_CHARS). Ask it in fewer words."
            )
        return question

    def retrieve(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
    ) -> tuple[str, list[Passage]]:
        query = rewrite_followup(question, history)
        return query, self.retriever.retrieve(query, top_k or self.settings.top_k, exclude=exclude)

    def gather(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        exclude: set[str] | None = None,
    ) -> Evidence:
        """Retrieval and scored candidate sentences. A follow-up is tried both as asked and with the
        conversation's words added; the reading whose best sentence scores higher is kept."""
        query = rewrite_followup(question, history)
        tries = [query] if query == question or self.reader is None else [question, query]
        best: Evidence | None = None
        for q in tries:
            passages = self.retriever.retrieve(q, top_k or self.settings.top_k, exclude=exclude)
            cands = self.grounder.candidates(q, passages, asked=question)
            if self.reader is not None and self.scorer is not None:
                cands = score_candidates(self.reader, self.scorer, q, cands, passages)
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
        question = self._check_question(question)
        history = _check_history(history)
        if top_k is not None and (not isinstance(top_k, int) or not 1 <= top_k <= 100):
            raise InvalidQuestion(f"top_k must be a whole number from 1 to 100, not {top_k!r}")
        if self.generator is not None:
            self.generator.load_async()
        # A question that may draft tells the decoder, so drafts asked together share a batch.
        may_draft = self.generator is not None and self.draft_policy in ("always", "no-short-answer")
        ticket = self.generator.expect() if may_draft and self.generator is not None else None
        try:
            parts = self._parts(question)
            if len(parts) > 1:
                with self._lock:
                    answer = self._multipart(question, parts, history, top_k, exclude)
                answer.timings = {"total": time.perf_counter() - t0}
                if ticket is not None:
                    ticket.release()
                yield answer
                return
            with self._lock:  # the index may be swapped by an upload; the evidence is self-contained
                ev = self.gather(question, history, top_k, exclude)
            t1 = time.perf_counter()
            timings = {"retrieve": t1 - t0}
            if ev.support < self.refuse_below:
                answer = self._abstain(ev)
            elif self.generator is None:
                answer = self._extractive(ev)
            elif self.draft_policy == "no-short-answer" and self._short_answer(ev) is not None:
                answer = self._extractive(ev)
                answer.notes.append(
                    "answered extractively: the reader found a short answer, which a draft cannot improve"
                )
            else:
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
                        if "\n\n" in draft or watch.check(_first_paragraph(draft)):
                            break  # one paragraph is all we asked for / the rest would be dropped
                finally:
                    pieces.close()  # stops the model now, not at max_new_tokens
                if first_token is not None:
                    timings["first_token"] = first_token - t0
                timings["draft"] = time.perf_counter() - t1
                if watch.stopped:
                    notes = [watch.reason] if watch.reason else []
                    answer = self._verified(ev, draft, checkable=watch.complete_text, notes=notes)
                else:
                    answer = self._verified(ev, draft)
            answer.support = ev.support
            answer.best_sentence = ev.candidates[0].text if ev.candidates else ""
            answer.timings = {**timings, "answer": time.perf_counter() - t1, "total": time.perf_counter() - t0}
            if ticket is not None:
                ticket.release()  # no draft is coming from this question any more
            yield answer
        finally:
            if ticket is not None:
                ticket.release()

    # --- multi-part questions ---------------------------------------------------------------
    def _parts(self, question: str) -> list[str]:
        if not self.settings.multipart or self.reader is None:
            return [question]
        return split_question(question)

    def _multipart(
        self, question: str, parts: list[str], history: list[dict] | None, top_k: int | None, exclude: set[str] | None
    ) -> Answer:
        """Each part retrieved, scored and answered on its own (extractively: a verified quote or
        short answer per part); a later part sees the earlier ones as conversation, so "it" in
        "… and who designed it?" is resolved the way a follow-up is."""
        answers = []
        turns = list(history or [])
        for part in parts:
            ev = self.gather(part, turns or None, top_k, exclude)
            a = self._abstain(ev) if ev.support < self.refuse_below else self._extractive(ev)
            a.support = ev.support
            a.best_sentence = ev.candidates[0].text if ev.candidates else ""
            answers.append(a)
            said = a.sentences[0].text if a.sentences else ""
            turns += [{"role": "user", "content": part}, {"role": "assistant", "content": said}]
        return merge_parts(question, answers)

    # --- answer assembly -------------------------------------------------------------------
    def _prompt_passages(self, ev: Evidence) -> list[int]:
        """Indices into ``ev.passages`` of the passages holding the best-supported sentences."""
        chosen: list[int] = []
        for c in ev.candidates:
            if c.passage_index not in chosen and c.score >= self.settings.min_support * 0.8:
                chosen.append(c.passage_index)
            if len(chosen) == MAX_PROMPT_PASSAGES:
                break
        return chosen or [0]

    def _prompt(self, ev: Evidence) -> list[dict]:
        """A small model does best with little to read: each prompt passage shows only its best
        two sentences (in article order); the citation still points at the whole passage."""
        excerpts: list[Passage] = []
        for pi in self._prompt_passages(ev):
            best = sorted([c for c in ev.candidates if c.passage_index == pi][:2], key=lambda c: c.start)
            p = ev.passages[pi]
            text = " ".join(c.text for c in best) or p.chunk.text
            excerpts.append(Passage(dataclasses.replace(p.chunk, text=text), p.score))
        return self._fit(ev.query, excerpts)

    def _fit(self, question: str, excerpts: list[Passage]) -> list[dict]:
        """The messages, within the model's context window less the tokens the answer may take,
        counted with the model's own tokenizer (a character limit means nothing in Japanese).
        Over budget, the weakest excerpt goes first, then the question's tail, then the text of
        the last excerpt; the citations still point at whole passages."""
        gen = self.generator
        assert gen is not None
        budget = gen.context_limit - gen.max_new_tokens
        if self.settings.max_prompt_tokens:
            budget = min(budget, self.settings.max_prompt_tokens)
        excerpts = list(excerpts)
        while True:
            messages = build_messages(question, excerpts)
            over = gen.prompt_tokens(messages) - budget
            if over <= 0:
                return messages
            if len(excerpts) > 1:
                excerpts.pop()
                continue
            q_tokens = gen.count_tokens(question)
            if q_tokens > 24:
                question = gen.truncate(question, max(24, q_tokens - over))
                continue
            e_tokens = gen.count_tokens(excerpts[0].chunk.text)
            if e_tokens > 16:
                text = gen.truncate(excerpts[0].chunk.text, max(16, e_tokens - over))
                excerpts[0] = Passage(dataclasses.replace(excerpts[0].chunk, text=text), excerpts[0].score)
                continue
            raise ModelLoadError(
                f"the generator's context window ({gen.context_limit} tokens, {budget} for the prompt) "
                "cannot hold even one passage; use a model with a longer context or RAG_GENERATOR=none"
            )

    def _evidence_for_draft(self, ev: Evidence) -> tuple[list[int], list[str], list[list[tuple[int, int]]]]:
        """The prompt's passages and, in each, the sentences an answer may rest on: the
        strongest evidence, not merely true statements."""
        prompt_idx = self._prompt_passages(ev)
        texts = [ev.passages[i].chunk.text for i in prompt_idx]
        if ev.candidates and ev.candidates[0].p is not None:
            top = ev.candidates[0].p or 0.0  # the answer scorer's probabilities
            strong = [c for c in ev.candidates if (c.p or 0.0) >= top - self.settings.focus_margin]
        else:
            strong = [c for c in ev.candidates if c.score >= ev.support - self.settings.focus_margin]
        focus = [[(c.start, c.end) for c in strong if c.passage_index == i] for i in prompt_idx]
        return prompt_idx, texts, focus

    def _watch(self, ev: Evidence) -> DraftWatch:
        _, texts, focus = self._evidence_for_draft(ev)
        return DraftWatch(self.verifier, ev.query, texts, focus, asked=ev.question)

    def _verified(
        self, ev: Evidence, draft: str, checkable: str | None = None, notes: list[str] | None = None
    ) -> Answer:
        """Keep the draft sentences the passages support. ``checkable`` is the part of the draft
        to verify when drafting was stopped early (its finished sentences)."""
        prompt_idx, texts, focus = self._evidence_for_draft(ev)
        to_check = _first_paragraph(draft) if checkable is None else checkable
        verdicts = self.verifier.verify(to_check, ev.query, texts, focus, asked=ev.question)
        kept = [v for v in verdicts if v.ok]
        notes = [f"dropped “{v.text}”: {v.reason}" for v in verdicts if not v.ok] + (notes or [])
        if not kept:
            answer = self._extractive(ev)
            answer.draft = draft
            answer.notes = notes + ["nothing in the draft could be verified; quoting the best evidence instead"]
            return answer
        citations: list[Citation] = []
        number_of: dict[int, int] = {}
        sentences: list[Sentence] = []
        for v in kept:
            pi = prompt_idx[v.supported_by - 1]  # type: ignore[operator]
            if pi not in number_of:
                number_of[pi] = len(citations) + 1
                citations.append(_citation(number_of[pi], ev.passages[pi]))
            cit = citations[number_of[pi] - 1]
            if v.span and v.span not in cit.highlights:
                cit.highlights.append(v.span)
            if v.supported_by not in v.cited:
                notes.append(f"“{v.text}” cited {v.cited or 'nothing'}; re-attributed to the passage that supports it")
            sentences.append(Sentence(v.text, [cit.n], verified=True, kind="generated"))
        text = " ".join(f"{_no_final_stop(s.text)} [{s.citations[0]}]." for s in sentences)
        return Answer(
            text, False, citations, sentences, ev.question, ev.rewritten, ev.passages, draft=draft, notes=notes
        )

    def _short_answer(self, ev: Evidence) -> Candidate | None:
        """The best sentence, when its reader span is confident and short enough to lead with."""
        if not ev.candidates:
            return None
        best = ev.candidates[0]
        if best.span is None or best.p is None:
            return None
        if best.reader_span < self.short_answer_above:
            return None
        if not 0 < len(best.span_text.split()) <= self.settings.max_short_words:
            return None
        return best

    def _extractive(self, ev: Evidence) -> Answer:
        best = ev.candidates[0]
        short = self._short_answer(ev)
        chosen = [best]
        if short is None:
            follow = next_sentence(ev.passages[best.passage_index].chunk.text, best)
            if follow is not None and continues(best.text, follow.text):
                chosen.append(follow)  # the fact runs on into the next sentence
        citations: list[Citation] = []
        number_of: dict[int, int] = {}
        sentences: list[Sentence] = []
        for c in chosen:
            if c.passage_index not in number_of:
                number_of[c.passage_index] = len(citations) + 1
                citations.append(_citation(number_of[c.passage_index], ev.passages[c.passage_index]))
            cit = citations[number_of[c.passage_index] - 1]
            cit.highlights.append((c.start, c.end))
            sentences.append(Sentence(c.text, [cit.n], verified=True, kind="quoted"))
        if short is not None and short.span is not None:  # (span is set: narrows the type)
            a, b = quote_window(
                best.text, short.span[0] - best.start, short.span[1] - best.start, self.settings.quote_words
            )
            sentences[0].text = best.text[a:b].strip()  # exact words of the passage; the ellipses are only shown
            quote = ("…" if a > 0 else "") + sentences[0].text + ("…" if b < len(best.text) else "")
            text = f"**{short.span_text}** — “{quote}” [1]"
            answer = Answer(text, False, citations, sentences, ev.question, ev.rewritten, ev.passages)
            answer.short_answer = short.span_text
            answer.short_span = (citations[0].n, short.span[0], short.span[1])
            return answer
        text = " ".join(f"“{s.text}” [{s.citations[0]}]" for s in sentences)
        return Answer(text, False, citations, sentences, ev.question, ev.rewritten, ev.passages)

    def _abstain(self, ev: Evidence) -> Answer:
        closest = [_citation(i + 1, p) for i, p in enumerate(ev.passages[:3])]
        text = NOT_IN_ARTICLES
        if closest:
            text += " The closest passages are listed below; they may help: " + ", ".join(
                f"[{c.n}] {c.title[:60]}" for c in closest
            )
        return Answer(text, True, closest, [], ev.question, ev.rewritten, ev.passages, abstention=NOT_IN_ARTICLES)


def merge_parts(question: str, answers: list[Answer]) -> Answer:
    """One answer from per-part answers: citations shared and renumbered across the whole (a
    passage cited by two parts is listed once), each part's text on its own line, led by the part.
    The whole is declined only when every part is."""
    citations: list[Citation] = []
    by_chunk: dict[str, Citation] = {}
    lines, sentences, parts = [], [], []
    for a in answers:
        renumber: dict[int, int] = {}
        for c in a.citations if not a.abstained else []:
            merged = by_chunk.get(c.chunk_id)
            if merged is None:
                merged = dataclasses.replace(c, n=len(citations) + 1, highlights=[])
                by_chunk[c.chunk_id] = merged
                citations.append(merged)
            merged.highlights += [h for h in c.highlights if h not in merged.highlights]
            renumber[c.n] = merged.n
        text = _renumber_markers(a.text, renumber)
        if a.abstained:
            text = NOT_IN_ARTICLES
        part_sentences = [dataclasses.replace(s, citations=[renumber[n] for n in s.citations]) for s in a.sentences]
        short_span = (renumber[a.short_span[0]], *a.short_span[1:]) if a.short_span else None
        parts.append(
            dataclasses.replace(
                a,
                text=text,
                sentences=part_sentences,
                short_span=short_span,
                citations=[by_chunk[c.chunk_id] for c in a.citations] if not a.abstained else [],
            )
        )
        sentences += part_sentences
        lines.append(f"{a.question} {text}")
    abstained = all(a.abstained for a in answers)
    if abstained:
        closest = answers[0]
        return dataclasses.replace(closest, question=question, parts=parts)
    passages = [p for a in answers for p in a.passages]
    return Answer(
        "\n".join(lines),
        False,
        citations,
        sentences,
        question,
        None,
        passages,
        support=min(a.support for a in answers),
        best_sentence=" ".join(a.best_sentence for a in answers),
        parts=parts,
        notes=[f"answered in {len(parts)} parts, each from its own evidence"],
    )


def _check_history(history: object) -> list[dict] | None:
    """The conversation as ``[{"role": "user"|"assistant", "content": str}, ...]``, or a clear
    ``InvalidQuestion``. Content given as a list of parts (as chat UIs send it) is joined."""
    if history is None:
        return None
    if not isinstance(history, list):
        raise InvalidQuestion(f"history must be a list of {{role, content}} turns, not {type(history).__name__}")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant", "system"):
            raise InvalidQuestion(f"history turn {i} is not a {{role: user|assistant, content}} object")
        content = turn.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
        if not isinstance(content, str):
            content = str(content)
        turns.append({"role": turn["role"], "content": CONTROL_CHARS.sub(" ", content)})
    return turns or None


_CLAUSE_BREAK = re.compile(r"[,;:()—–]\s|\s[—–]\s")


def _renumber_markers(text: str, renumber: dict[int, int]) -> str:
    """``[n]`` markers rewritten through ``renumber`` (numbers it does not know stay)."""
    return re.sub(r"\[(\d+)\]", lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", text)


def quote_window(sentence: str, a: int, b: int, max_words: int) -> tuple[int, int]:
    """The part of ``sentence`` to quote around its answer span [a, b): whole when short, else
    the clauses around the span, widened one clause at a time while within ``max_words``."""
    if len(sentence.split()) <= max_words:
        return 0, len(sentence)
    cuts = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(sentence)] + [len(sentence)]
    lo = max(c for c in cuts if c <= a)
    hi = min((c for c in cuts if c >= b), default=len(sentence))

    def words(x: int, y: int) -> int:
        return len(sentence[x:y].split())

    while True:
        before = [c for c in cuts if c < lo]
        after = [c for c in cuts if c > hi]
        grown = False
        if after and words(lo, after[0]) <= max_words:
            hi, grown = after[0], True
        if before and words(before[-1], hi) <= max_words:
            lo, grown = before[-1], True
        if not grown:
            break
    if words(lo, hi) > max_words:  # one long clause: a word window centred on the span
        toks = [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence)]
        first = next(i for i, t in enumerate(toks) if t[1] > a)
        last = max(i for i, t in enumerate(toks) if t[0] < b)
        extra = max(0, max_words - (last - first + 1))
        i0 = max(0, first - extra // 2)
        i1 = min(len(toks) - 1, i0 + max(max_words, last - first + 1) - 1)
        lo, hi = toks[i0][0], toks[i1][1]
    return lo, hi


def _first_paragraph(draft: str) -> str:
    return draft.strip().split("\n\n")[0]


def _no_final_stop(text: str) -> str:
    return re.sub(r"[.!;:]+$", "", text.strip())


def _citation(n: int, p: Passage) -> Citation:
    c = p.chunk
    return Citation(
        n,
        c.source,
        c.title,
        c.id,
        c.text,
        c.start,
        c.end,
        round(p.score, 4),
        author=c.author,
        date=c.date,
        pages=c.pages,
        page_breaks=c.page_breaks,
        table_rows=c.table_rows,
    )


__all__ = ["NOT_IN_ARTICLES", "Evidence", "InvalidQuestion", "Pipeline", "Verdict"]
