"""Choosing and building the FAISS index: exact while cheap, HNSW past the limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cultureqa.corpus.passages import Passage
from cultureqa.index.ann import EXACT_SEARCH_LIMIT, HNSW_EF_SEARCH, build_vector_index, kind_for
from cultureqa.index.sentences import SentenceIndex
from cultureqa.index.store import load_index, write_index


def unit_vectors(count: int, dimension: int = 32, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    normalized: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalized


@pytest.mark.parametrize(
    ("count", "kind", "chosen"),
    [
        (10, "auto", "flat"),
        (EXACT_SEARCH_LIMIT, "auto", "flat"),
        (EXACT_SEARCH_LIMIT + 1, "auto", "hnsw"),
        (10, "hnsw", "hnsw"),
        (10**7, "flat", "flat"),
    ],
)
def test_kind_for(count: int, kind: str, chosen: str) -> None:
    assert kind_for(count, kind) == chosen


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown vector index kind"):
        kind_for(3, "ivf")


def test_hnsw_agrees_with_exact_search() -> None:
    data, queries = unit_vectors(3000), unit_vectors(50, seed=8)
    flat, _ = build_vector_index(data, 32, "flat")
    hnsw, kind = build_vector_index(data, 32, "hnsw")
    assert kind == "hnsw"
    _, exact = flat.search(queries, 10)
    _, approx = hnsw.search(queries, 10)
    recall = np.mean([len(set(e) & set(a)) / 10 for e, a in zip(exact, approx, strict=True)])
    assert recall >= 0.95
    # Row numbers are passage numbers: HNSW keeps insertion order and can give vectors back.
    assert np.allclose(hnsw.reconstruct_n(0, 3000), data)


def test_hnsw_index_round_trips_through_the_index_directory(tmp_path: Path) -> None:
    data = unit_vectors(50)
    passages = [Passage(f"a#{i}", "a", "A", ("H",), str(i), f"text {i}", 1, 1) for i in range(50)]
    no_sentences = SentenceIndex.of(np.zeros((0, 32), np.float32), np.zeros((0, 3), np.int64), 50)
    manifest = write_index(
        tmp_path,
        passages,
        data,
        no_sentences,
        model="m",
        sources=["x"],
        corpus_fingerprint="f" * 64,
        build_seconds=0.1,
        vector_kind="hnsw",
    )
    assert manifest.vector_index == "hnsw"
    loaded = load_index(tmp_path, model="m", dimension=32)
    assert loaded.vectors.hnsw.efSearch == HNSW_EF_SEARCH
    _, rows = loaded.search(data[17:18], 1)
    assert rows[0][0] == 17
