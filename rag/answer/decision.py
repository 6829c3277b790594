"""Answer or decline, once per question, from the scored evidence.

Three checks, in this order: a question that asks how many / how much whose best sentence states no
number / no sum is declined (it would pass for an answer); then the fitted decision (or, without
one, the support threshold); then, as a veto, an entity the question names that the passage never
mentions while its best sentence is about another one. A question asking for two or three things
("Which two unions …?") takes the next best sentences that answer on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.answer.answer_types import MONEY, question_type, states_a_count, states_an_amount
from rag.answer.decompose import items_asked
from rag.answer.entity_conflict import conflicts
from rag.answer.evidence import Candidate, Evidence
from rag.answer.scoring import Decision, Scorer


@dataclass
class Ruling:
    """``declined``: None to answer, else why not, for ``Answer.notes`` ("" when the support is
    simply too low). ``more``: further sentences for a question that asks for several things."""

    declined: str | None
    more: list[Candidate] = field(default_factory=list)


@dataclass
class Decider:
    scorer: Scorer | None  # None: the support-score path (no reader)
    decision: Decision | None  # the fitted decision; None where a threshold was set by hand
    refuse_below: float

    def run(self, ev: Evidence) -> Ruling:
        why = self.declines(ev)
        return Ruling(why, self.more_items(ev) if why is None else [])

    def declines(self, ev: Evidence) -> str | None:
        if (why := self.no_figure(ev)) is not None:
            return why
        if self.decision is None or not ev.candidates:
            return "" if ev.support < self.refuse_below else None
        best = ev.candidates[0]
        if self.decision.declines(ev.support, False, best.features):
            return ""  # too little support, whatever the sentence is about
        return self.conflict(ev)

    def conflict(self, ev: Evidence) -> str | None:
        """A veto, not a weight: on news a conflict is too rare among the fit rows for the decision
        to learn its weight (3% of answerable tops), and on SQuAD's swapped-entity questions the
        check is what declines them (benchmarks.decision_ablation; docs/experiments.md)."""
        best = ev.candidates[0]
        found = conflicts(ev.question, best.text, ev.passages[best.passage_index].chunk.text)
        if not found:
            return None
        name, instead = found[0]
        return f"declined: the passage never mentions {name}; its best sentence is about {instead[0]}"

    def no_figure(self, ev: Evidence) -> str | None:
        """ "How many X?" is answered by a number, "how much did it cost?" by a sum of money. When
        the best sentence holds none, it is about X without counting or pricing it. (On the SQuAD
        fusion and calibration titles no right answer to such a question lacked one;
        docs/experiments.md.) Only on the reader path, where spaCy types questions; the
        support-score path has its own type check."""
        if self.scorer is None or not self.scorer.uses_types or not ev.candidates:
            return None
        qtype = question_type(ev.question)
        best = ev.candidates[0].text
        if qtype.counted is not None and not states_a_count(best):
            return "declined: the question asks how many; the best sentence gives no number"
        if qtype.labels == MONEY and not states_an_amount(best):
            return "declined: the question asks for a sum of money; the best sentence gives none"
        return None

    def more_items(self, ev: Evidence) -> list[Candidate]:
        """For "Which two unions …?": the next best sentences, from anywhere in the evidence, that
        the scorer would answer with on their own and that name something not said yet."""
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
