"""Answers put together from more than one reading: a question about an article itself (its byline
or date), one that asks two things, answered part by part, and one answered in two steps through
a name it implies. Each step is retrieved, read and cited on its own, always extractively."""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer.analysis import Analysis
from rag.answer.assembly import AnswerBuilder, merge_parts
from rag.answer.bylines import match_article, metadata_field, topic_terms
from rag.answer.decision import Decider
from rag.answer.decompose import Bridge, is_name, refer_back
from rag.answer.evidence import Evidence
from rag.answer.gathering import Gatherer
from rag.answer.rewriting import standalone, with_context
from rag.types import Answer

MAX_LINK_WORDS = 6  # a bridge's first step must give a name, not a clause


@dataclass
class Compound:
    gatherer: Gatherer
    decider: Decider
    answers: AnswerBuilder

    def run(self, a: Analysis, clock: dict[str, float]) -> Answer | None:
        """The answer when ``a`` is not answered whole; None to answer it whole."""
        if a.about is not None:
            return self.about_article(a.question, a.about, a.history, a.top_k, a.exclude)
        if len(a.parts) > 1:
            return self.multipart(a, clock)
        if a.link is not None:
            return self.bridged(a, a.link, clock)
        return None

    def multipart(self, a: Analysis, clock: dict[str, float]) -> Answer:
        """Each part answered on its own; a later part sees the earlier ones as conversation, so
        "it" in "… and who designed it?" is resolved the way a follow-up is."""
        answers: list[Answer] = []
        turns = list(a.history or [])
        named: str | None = None  # the first part's answer, read by the reader (bold or not)
        for k, part in enumerate(a.parts):
            if k > 0:  # "… and when did she …?": the part asked about the first part's subject
                part = refer_back(a.parts[0], part, named)
            if (about := metadata_field(part)) is not None:
                answer = self.about_article(part, about, turns or None, a.top_k, a.exclude)
            else:
                ev = self.gatherer.run(part, turns or None, a.top_k, a.exclude, clock)
                answer = self._quoted(ev)
                if k == 0 and not answer.abstained and ev.candidates:
                    named = answer.short_answer or ev.candidates[0].span_text or None
            answers.append(answer)
            said = answer.sentences[0].text if answer.sentences else ""
            turns += [{"role": "user", "content": part}, {"role": "assistant", "content": said}]
        return merge_parts(a.question, answers)

    def _quoted(self, ev: Evidence) -> Answer:
        answer = self.answers.abstain(ev) if self.decider.declines(ev) is not None else self.answers.extractive(ev)
        answer.support = ev.support
        answer.best_sentence = ev.candidates[0].text if ev.candidates else ""
        return answer

    def bridged(self, a: Analysis, link: Bridge, clock: dict[str, float]) -> Answer | None:
        """ "Who runs the bakery that supplied the school?": first which bakery, then who runs it.
        None (answer the question whole) unless both steps are answered and the first with a
        short name: a guessed link never answers."""
        ev = self.gatherer.run(link.inner, a.history, a.top_k, a.exclude, clock)
        if self.decider.declines(ev) is not None or not ev.candidates:
            return None
        first = self.answers.extractive(ev)
        name = first.short_answer or ev.candidates[0].span_text
        if not name or len(name.split()) > MAX_LINK_WORDS or not is_name(name):
            return None
        outer = link.outer(name)
        ev2 = self.gatherer.run(outer, a.history, a.top_k, a.exclude, clock)
        if self.decider.declines(ev2) is not None:
            return None
        second = self.answers.extractive(ev2)
        whole = merge_parts(a.question, [first, second])
        whole.notes.append(f"answered in two steps: {link.inner} → {name}; then {outer}")
        return whole

    def about_article(
        self, question: str, field: str, history: list[dict] | None, top_k: int | None, exclude: set[str] | None
    ) -> Answer:
        """Who wrote / when was published the article the question names: its byline or date.
        "Who is the author?" names none; then the conversation so far says which article."""
        _, query = standalone(question, history)
        if not topic_terms(query):
            query = with_context(question, history)
        passages = self.gatherer.retriever.retrieve(query, top_k or self.gatherer.top_k, exclude=exclude)
        ev = Evidence(question, query, passages, [])
        found = match_article(topic_terms(query), passages, self.gatherer.grounder.coverage)
        return self.answers.metadata(ev, field, found)
