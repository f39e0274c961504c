"""Find the passages nearest to a question."""

from __future__ import annotations

from dataclasses import dataclass

from .embedding import Embedder
from .index import LoadedIndex
from .passages import Passage


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # cosine similarity of question and passage, in [-1, 1]
    rank: int  # 1 is best


class DenseRetriever:
    """Embed the question, then exact inner-product search over the index's unit vectors."""

    def __init__(self, embedder: Embedder, index: LoadedIndex) -> None:
        self._embedder = embedder
        self._index = index

    def search(self, question: str, top_k: int) -> list[Hit]:
        query = self._embedder.embed([question])
        scores, rows = self._index.search(query, top_k)
        hits: list[Hit] = []
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:  # FAISS pads with -1 when fewer than k vectors exist
                continue
            hits.append(Hit(self._index.passages[row], float(score), len(hits) + 1))
        return hits
