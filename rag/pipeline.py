"""The query pipeline: the one place where the components are composed.

question -> (follow-up rewrite) -> hybrid retrieval -> answer (extractive, or generated and then
verified) -> Answer with citations. Models and the index load lazily on first use and are reused.
"""
from __future__ import annotations

import logging
import threading
import time
from functools import cached_property

from rag.embedding import Embedder
from rag.grounding import Candidate, Grounder, continues, next_sentence
from rag.index import BuildReport, Index, IndexStore, sync_index
from rag.retrieval import Retriever
from rag.rewriting import rewrite_followup
from rag.settings import Settings
from rag.types import Answer, Citation, Passage, Sentence

log = logging.getLogger(__name__)

NOT_IN_ARTICLES = "The articles do not answer this question."


class InvalidQuestion(ValueError):
    """The question cannot be asked as given (empty, not text); the message says why."""


class Pipeline:
    def __init__(self, settings: Settings | None = None, **overrides: object) -> None:
        base = settings or Settings()
        self.settings = base.model_copy(update=overrides) if overrides else base
        self._lock = threading.RLock()
        self._index: Index | None = None
        self.last_build: BuildReport | None = None

    # --- components, built once on first use ----------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedder, self.settings.embed_batch_size)

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

    def sync(self, show_progress: bool = False) -> BuildReport:
        """Build or incrementally update the index from the articles folder."""
        with self._lock:
            index, report = sync_index(
                self.settings.docs_dir,
                self.store,
                self.embedder,
                self.settings.chunk_size,
                self.settings.chunk_overlap,
                self.settings.approx_threshold,
                show_progress=show_progress,
                existing=self._index,
            )
            if index is not self._index:
                self._index = index
                self.__dict__.pop("retriever", None)
                self.__dict__.pop("grounder", None)
            self.last_build = report
            return report

    @cached_property
    def retriever(self) -> Retriever:
        s = self.settings
        return Retriever(self.index, self.embedder, s.retrieval, s.candidates, s.rrf_k, s.bm25_weight)

    @cached_property
    def grounder(self) -> Grounder:
        bm25 = self.retriever.bm25
        return Grounder(self.embedder, bm25.idf, bm25.n)

    def warm_up(self) -> None:
        """Load everything a first question needs, so it is not slow for the user who asks it."""
        _ = self.grounder
        self.embedder.encode_query("warm up")

    # --- asking ----------------------------------------------------------------------------
    def _check_question(self, question: object) -> str:
        if not isinstance(question, str):
            raise InvalidQuestion(f"the question must be text, not {type(question).__name__}")
        question = " ".join(question.split())
        if not question:
            raise InvalidQuestion("the question is empty")
        return question[: self.settings.max_question_chars]

    def retrieve(self, question: str, history: list[dict] | None = None, top_k: int | None = None) -> tuple[str, list[Passage]]:
        query = rewrite_followup(question, history)
        return query, self.retriever.retrieve(query, top_k or self.settings.top_k)

    def query(self, question: str, history: list[dict] | None = None, top_k: int | None = None) -> Answer:
        t0 = time.perf_counter()
        question = self._check_question(question)
        with self._lock:
            query, passages = self.retrieve(question, history, top_k)
            t1 = time.perf_counter()
            cands = self.grounder.candidates(query, passages)
            answer = self._extractive(question, query, passages, cands)
        answer.timings = {
            "retrieve": t1 - t0,
            "answer": time.perf_counter() - t1,
            "total": time.perf_counter() - t0,
        }
        answer.support = cands[0].score if cands else 0.0
        return answer

    # --- answer assembly -------------------------------------------------------------------
    def _extractive(self, question: str, query: str, passages: list[Passage], cands: list[Candidate]) -> Answer:
        rewritten = query if query != question else None
        best = cands[0] if cands else None
        if best is None or best.score < self.settings.min_support:
            return self._abstain(question, rewritten, passages)
        chosen = [best]
        follow = next_sentence(passages[best.passage_index].chunk.text, best)
        if follow is not None and continues(best.text, follow.text):
            chosen.append(follow)  # the fact runs on into the next sentence
        else:
            # A second sentence when nearly as well supported ("multi" questions span passages).
            for c in cands[1:]:
                if c.score >= max(best.score - 0.04, self.settings.min_support) and c.text != best.text:
                    chosen.append(c)
                    break
        citations: list[Citation] = []
        number_of: dict[int, int] = {}
        sentences: list[Sentence] = []
        for c in chosen:
            if c.passage_index not in number_of:
                number_of[c.passage_index] = len(citations) + 1
                citations.append(_citation(number_of[c.passage_index], passages[c.passage_index]))
            cit = citations[number_of[c.passage_index] - 1]
            cit.highlights.append((c.start, c.end))
            sentences.append(Sentence(c.text, [cit.n], verified=True, kind="quoted"))
        text = " ".join(f"“{s.text}” [{s.citations[0]}]" for s in sentences)
        return Answer(text, False, citations, sentences, question, rewritten, passages)

    def _abstain(self, question: str, rewritten: str | None, passages: list[Passage]) -> Answer:
        closest = [_citation(i + 1, p) for i, p in enumerate(passages[:3])]
        text = NOT_IN_ARTICLES
        if closest:
            text += " The closest passages are listed below; they may help: " + ", ".join(
                f"[{c.n}] {c.title[:60]}" for c in closest
            )
        return Answer(text, True, closest, [], question, rewritten, passages)


def _citation(n: int, p: Passage) -> Citation:
    c = p.chunk
    return Citation(n, c.source, c.title, c.id, c.text, c.start, c.end, round(p.score, 4))
