"""Questions about an article itself (who wrote it, when it was published), on the made-up messy
articles whose byline and date are known (``benchmarks/data/messy*/expected.json``), beside the
same questions answered by the sentence path alone (the baseline: before ``rag.answer.bylines``).

    python -m benchmarks.bylines [--json]

Each folder is indexed on its own (the hold-out folder retells some stories of the other). Per
article with a headline, seven wordings name it by its headline; the expected answer is its
author / date, or a decline when it has none. Questions naming articles that are not in the index
(the bundled seeds' headlines and SQuAD title names) must be declined. Counted: right, declined,
and wrong (an answer that is not the expected one: the worst outcome, a wrong cited answer).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rag.evaluation.metrics import norm
from rag.machine import cpu_report
from rag.models.embedding import Embedder
from rag.pipeline import Components, Pipeline

DATA = Path(__file__).resolve().parent / "data"
FOLDERS = ("messy", "messy-holdout")
AUTHOR_WORDINGS = (
    "Who is the author of the story about {t}?",
    "Who wrote the article “{t}”?",
    "Who penned the piece headlined “{t}”?",
    "Whose byline is on the article “{t}”?",
)
DATE_WORDINGS = (
    "When was the article “{t}” published?",
    "What is the publication date of the story “{t}”?",
    "On what date was the piece about {t} posted?",
)
# Headlines no index here holds: the bundled articles' subjects and SQuAD titles.
ELSEWHERE = (
    "the U.S.-Japan alliance under Trump",
    "Super Bowl 50",
    "the University of Chicago",
    "European Union law",
    "civil disobedience",
    "the Treaty of San Francisco",
)


def questions(expected: dict[str, dict]) -> list[tuple[str, str]]:
    """(question, expected answer or "" for a decline)."""
    out = []
    for meta in expected.values():
        if meta.get("label") or not meta.get("title"):
            continue
        t = meta["title"]
        out += [(w.format(t=t), meta.get("author", "")) for w in AUTHOR_WORDINGS]
        out += [(w.format(t=t), meta.get("date", "")) for w in DATE_WORDINGS]
    for t in ELSEWHERE:
        out += [(AUTHOR_WORDINGS[0].format(t=t), ""), (DATE_WORDINGS[0].format(t=t), "")]
    return out


def questions_all() -> list[tuple[str, str]]:
    return [q for folder in FOLDERS for q in questions(json.loads((DATA / folder / "expected.json").read_text()))]


def judge(answer_text: str, abstained: bool, gold: str) -> str:
    if abstained:
        return "declined" if gold else "right"
    if gold and norm(gold) in norm(answer_text):
        return "right"
    return "wrong"


def run(embedder: Embedder, bylines: bool) -> dict[str, int]:
    counts = {"right": 0, "declined": 0, "wrong": 0}
    for folder in FOLDERS:
        expected = json.loads((DATA / folder / "expected.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            pipe = Pipeline(
                docs_dir=DATA / folder,
                index_dir=Path(tmp),
                generator="none",
                components=Components(embedder=embedder),
            )
            pipe.sync()
            for q, gold in questions(expected):
                if bylines:
                    ans = pipe.query(q)
                else:  # the sentence path alone, as before rag.answer.bylines
                    ev = pipe.gather(q)
                    ans = pipe.answers.abstain(ev) if ev.support < pipe.refuse_below else pipe.answers.extractive(ev)
                counts[judge(ans.text, ans.abstained, gold)] += 1
    return counts


def main() -> None:
    print(cpu_report(), flush=True)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    embedder = Embedder()
    result = {"bylines": run(embedder, True), "sentence path only (baseline)": run(embedder, False)}
    if a.json:
        print(json.dumps(result))
        return
    for name, c in result.items():
        n = sum(c.values())
        print(f"{name:32s} right {c['right']}/{n}  declined {c['declined']}  wrong {c['wrong']}")


if __name__ == "__main__":
    main()
