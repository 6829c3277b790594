"""How rag.training.scorer chooses its thresholds from gathered rows (the rows' shape is the one
``gather_rows`` writes; the SQuAD gathering itself runs in ``python -m rag.training.scorer``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from rag.answer.scoring import FEATURES
from rag.evaluation.squad import load_split, part_titles
from rag.evaluation.squad_open import has_short_gold
from rag.models.reader import PACKAGED_READER
from rag.training.reader import reader_titles
from rag.training.reader_card import render_card
from rag.training.thresholds import choose_thresholds


def _row(span_score: float, hit: bool, short_gold: bool, p: float = 0.9) -> dict:
    x = np.zeros((1, len(FEATURES)))
    x[0, FEATURES.index("reader_span")] = span_score
    return {
        "kind": "answerable",
        "x": x,
        "y": np.array([True]),
        "span_hit": np.array([hit]),
        "words": np.array([2]),
        "short_gold": short_gold,
        "p": np.array([p]),
    }


def test_short_answer_precision_is_judged_on_questions_with_a_short_gold_answer() -> None:
    short = [_row(s, hit, True) for s, hit in ((10, True), (9, True), (8, True), (7, False), (6, False))]
    # a span of a few words cannot "contain" a gold clause: these misses say nothing of its precision
    long = [_row(9.5, False, False), _row(8.5, False, False)]
    rows = short + long
    chosen = choose_thresholds([r["p"] for r in rows], rows, 0.0, 0.7, 8)
    assert chosen["short_above"] == 7  # 3 of 4 right at 7 or above; 3 of 5 at 6
    assert chosen["calibration"]["short_shown_when_gold_short"] == 80.0


def test_short_gold_means_some_gold_answer_of_at_most_four_words() -> None:
    assert has_short_gold(["San Francisco", "the city of San Francisco in California"])
    assert not has_short_gold(["because the river was too shallow for the ships"])


def test_a_reader_trained_on_the_fusion_titles_needs_another_reader_for_their_rows(tmp_path: Path) -> None:
    fusion = part_titles(load_split(), "fusion")
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "training.json").write_text(json.dumps({"squad_titles": [fusion[0]]}))
    assert reader_titles(str(reader)) == {fusion[0]}
    packaged = set(json.loads((PACKAGED_READER / "training.json").read_text())["squad_titles"])
    assert reader_titles("packaged") == packaged
    done = subprocess.run(
        [sys.executable, "-m", "rag.training.scorer", "--reader", str(reader), "--out", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "--fusion-reader" in done.stderr and fusion[0] in done.stderr
    assert not (tmp_path / "s.json").exists()


def test_the_reader_card_names_the_parts_it_was_trained_on_and_those_it_was_not() -> None:
    info = json.loads((PACKAGED_READER / "training.json").read_text())
    card = render_card(info)
    assert f"only the {len(info['squad_titles'])} titles of the `reader` part" in card
    assert "The fusion, calibration and test titles were not used." in card
    wider = render_card({**info, "squad_parts": ["reader", "fusion"]})
    assert "`reader` and `fusion` parts" in wider and "The calibration and test titles were not used." in wider
