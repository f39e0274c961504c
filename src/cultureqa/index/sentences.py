"""A vector for every sentence of every passage, so that the answer can be the sentence nearest
the question, not the one that shares most of its words.

    sentences.npy        float32, one unit vector per sentence (same model as the passages)
    sentence_spans.npy   int64, one row per sentence: passage row, start, end (character
                         offsets into the passage's text, end exclusive)

Sentences are stored in passage order, so those of passage r are a contiguous run: `rows(r)`.
They are cut as corpus.passages cuts them for answers (list lines count as sentences), and each
vector is the mean of the model's token states over the sentence in the passage's own forward
pass: the sentence as read in its context (its title, headings and neighbours), at no extra
model time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cultureqa.corpus.passages import Passage, sentence_spans
from cultureqa.embedding.base import Vectors

SENTENCE_VECTORS_FILE = "sentences.npy"
SENTENCE_SPANS_FILE = "sentence_spans.npy"
SENTENCE_FILES = (SENTENCE_VECTORS_FILE, SENTENCE_SPANS_FILE)
# How the vectors are made, recorded in the manifest: change it when that changes, and stored
# sentence vectors are no longer reused by the next ingest.
SENTENCE_METHOD = "token-mean-1"


def sentences_of(passages: Sequence[Passage]) -> list[list[tuple[int, int]]]:
    """Each passage's sentences as (start, end) offsets into its text."""
    return [sentence_spans(passage.text) for passage in passages]


def span_table(per_passage: Sequence[Sequence[tuple[int, int]]]) -> NDArray[np.int64]:
    """The (passage row, start, end) rows of every sentence, in passage order."""
    rows = [(row, a, b) for row, spans in enumerate(per_passage) for a, b in spans]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


@dataclass(frozen=True)
class SentenceIndex:
    vectors: Vectors  # (sentences, dimension)
    spans: NDArray[np.int64]  # (sentences, 3): passage row, start, end
    first: NDArray[np.int64]  # (passages + 1,): passage r's sentences are first[r]:first[r+1]

    @classmethod
    def of(cls, vectors: Vectors, spans: NDArray[np.int64], passages: int) -> SentenceIndex:
        if len(vectors) != len(spans):
            raise ValueError(f"{len(vectors)} sentence vectors but {len(spans)} spans")
        first = np.searchsorted(spans[:, 0], np.arange(passages + 1), side="left")
        return cls(vectors, spans, first.astype(np.int64))

    def rows(self, passage_row: int) -> range:
        return range(int(self.first[passage_row]), int(self.first[passage_row + 1]))

    def save(self, directory: Path) -> None:
        np.save(directory / SENTENCE_VECTORS_FILE, self.vectors, allow_pickle=False)
        np.save(directory / SENTENCE_SPANS_FILE, self.spans, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, passages: int) -> SentenceIndex:
        vectors = np.load(directory / SENTENCE_VECTORS_FILE, allow_pickle=False)
        spans = np.load(directory / SENTENCE_SPANS_FILE, allow_pickle=False)
        if vectors.ndim != 2 or spans.ndim != 2 or spans.shape[1] != 3:
            raise ValueError("sentence arrays have the wrong shape")
        if len(spans) and (spans[:, 0].min() < 0 or spans[:, 0].max() >= passages):
            raise ValueError("sentence spans name passages the index does not hold")
        return cls.of(np.asarray(vectors, dtype=np.float32), spans.astype(np.int64), passages)
