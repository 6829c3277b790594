"""A synthetic news corpus of any size, for indexing benchmarks.

Articles have a headline, 4-9 paragraphs of 2-6 sentences, 8-32 words a sentence (3-7 KB, like
the bundled ones), with names, figures and dates. Words come from the bundled articles' vocabulary
plus generated names, so tokenization and embedding costs are realistic. Deterministic per seed.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SYLLABLES = ["ka", "to", "mi", "ra", "shi", "no", "be", "lan", "dor", "vek", "sa", "ri", "mon", "tal", "esh", "gu"]


def vocabulary(seed: int = 0) -> tuple[list[str], list[str]]:
    words: list[str] = []
    for f in sorted((ROOT / "seeds").glob("*.txt")):
        words += re.findall(r"[a-z]{3,}", f.read_text(encoding="utf-8", errors="replace").lower())
    rng = random.Random(seed)
    names = ["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(400)]
    return sorted(set(words)), names


def article(rng: random.Random, words: list[str], names: list[str]) -> str:
    def sentence() -> str:
        ws = [rng.choice(words) for _ in range(rng.randint(8, 32))]
        for _ in range(rng.randint(0, 3)):
            ws[rng.randrange(len(ws))] = rng.choice(names)
        if rng.random() < 0.4:
            ws.insert(
                rng.randrange(len(ws)),
                rng.choice([f"{rng.randint(2, 98)}%", f"${rng.randint(1, 900)} billion", str(rng.randint(1950, 2030))]),
            )
        return " ".join(ws).capitalize() + "."

    title = " ".join(rng.choice(words) for _ in range(rng.randint(5, 10))).title()
    paras = [" ".join(sentence() for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(4, 9))]
    return title + "\n\n" + "\n\n".join(paras) + "\n"


def write_corpus(folder: Path, n: int, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    words, names = vocabulary(seed)
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        p = folder / f"article_{i:05d}.txt"
        p.write_text(article(rng, words, names), encoding="utf-8")
        paths.append(p)
    return paths
