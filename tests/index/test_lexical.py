"""BM25 statistics: built at ingest, stored without pickle, the same scores as bm25s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cultureqa.index.lexical import LEXICAL_FILES, LexicalIndex, tokenize

TEXTS = [
    "Hamhung is known for naengmyeon, a cold noodle dish.",
    "The Hungnam Fertilizer Complex dominates the city's industry.",
    "Markets in Hamhung run on barter and sharing resources.",
    "Cold winters and cold noodles.",
]


def test_tokenize_stems_and_drops_stop_words() -> None:
    assert tokenize("The noodles of Hamhung's markets") == ["noodl", "hamhung", "market"]
    assert tokenize("") == []


def test_scores_match_bm25s() -> None:
    import bm25s

    index = LexicalIndex.build(TEXTS)
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([tokenize(t) for t in TEXTS], show_progress=False)
    query = tokenize("cold noodle dish in Hamhung")
    expected = reference.get_scores(query)
    assert np.allclose(index.scores(query), expected, atol=1e-5)
    assert int(np.argmax(index.scores(query))) == 0


def test_unknown_words_score_nothing() -> None:
    index = LexicalIndex.build(TEXTS)
    assert not index.scores(tokenize("zebra xylophone")).any()
    assert index.term_idf("zebra") > index.term_idf("cold")


def test_round_trip_through_plain_arrays(tmp_path: Path) -> None:
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(LEXICAL_FILES)
    for name in LEXICAL_FILES:
        if name.endswith(".npy"):  # plain arrays: loadable with pickle refused
            np.load(tmp_path / name, allow_pickle=False)
    loaded = LexicalIndex.load(tmp_path)
    query = tokenize("barter markets")
    assert np.array_equal(loaded.scores(query), index.scores(query))
    assert loaded.passages == len(TEXTS)


@pytest.mark.parametrize("repeat", [1, 2])
def test_repeated_query_words_count_again(repeat: int) -> None:
    index = LexicalIndex.build(TEXTS)
    once = index.scores(["cold"])
    assert np.allclose(index.scores(["cold"] * repeat), once * repeat)


def test_holds_finds_a_word_in_a_range_of_passages_as_a_scan_would() -> None:
    texts = [
        "Kimchi is fermented cabbage.",
        "Naengmyeon is a cold noodle dish.",
        "Markets sell kimchi and noodles.",
        "Bargaining is expected in the bazaar.",
        "The bazaar sells spices.",
    ]
    index = LexicalIndex.build(texts)
    for token in ("kimchi", "noodl", "bazaar", "spice", "absent"):
        for start in range(len(texts)):
            for stop in range(start, len(texts) + 1):
                scan = any(token in tokenize(texts[row]) for row in range(start, stop))
                assert index.holds(token, range(start, stop)) is scan, (token, start, stop)
