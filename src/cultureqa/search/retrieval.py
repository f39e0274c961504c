"""Find the passages nearest to a question: dense (FAISS), lexical (BM25), and the hybrid of both.

The hybrid (the default) pools candidates from both searches and from the articles the question
names, then ranks them by one fused score (see fusion.py and docs/retrieval.md for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cultureqa.corpus.passages import Passage
from cultureqa.embedding.base import Vectors
from cultureqa.index.lexical import tokenize
from cultureqa.index.store import LoadedIndex
from cultureqa.search import RETRIEVERS
from cultureqa.search.fusion import FusionWeights, fuse
from cultureqa.search.places import ArticleNames


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the retriever's ranking score: higher is better
    rank: int  # 1 is best
    similarity: float  # cosine similarity of question and passage, in [-1, 1]
    row: int  # the passage's row in the index (its vector, its sentences)


@dataclass(frozen=True)
class Candidates:
    rows: np.ndarray  # passage rows, ascending
    similarity: np.ndarray  # cosine similarity with the question
    sentence: np.ndarray  # the best cosine similarity of one of its sentences
    bm25: np.ndarray  # BM25 score
    named: np.ndarray  # True where the question names the passage's article
    query_idf: float  # the sum of the question's distinct words' IDF


class Retriever(Protocol):
    def search_vector(
        self, question: str, query: Vectors, top_k: int, prefer: frozenset[str] = frozenset()
    ) -> list[Hit]:
        """The top_k passages for `question`, whose embedding is `query` (one row). `prefer`:
        articles to favour as if the question named them (a follow-up's carried place); only
        the hybrid ranking uses it."""
        ...


class _Base:
    def __init__(self, index: LoadedIndex) -> None:
        self._index = index

    def search_vector(
        self, question: str, query: Vectors, top_k: int, prefer: frozenset[str] = frozenset()
    ) -> list[Hit]:
        raise NotImplementedError

    def _hits(self, rows: np.ndarray, scores: np.ndarray, query: Vectors) -> list[Hit]:
        sims = self._index.similarities(query, [int(r) for r in rows])
        return [
            Hit(self._index.passages[int(row)], float(score), rank, float(sim), int(row))
            for rank, (row, score, sim) in enumerate(zip(rows, scores, sims, strict=True), 1)
        ]


class DenseRetriever(_Base):
    """Nearest passages by inner product over the index's unit vectors (cosine similarity):
    exact for most corpora, HNSW past ann.EXACT_SEARCH_LIMIT passages."""

    def search_vector(
        self, question: str, query: Vectors, top_k: int, prefer: frozenset[str] = frozenset()
    ) -> list[Hit]:
        scores, rows = self._index.search(query, top_k)
        keep = rows[0] >= 0  # FAISS pads with -1 when fewer than k vectors exist
        return self._hits(rows[0][keep], scores[0][keep], query)


class LexicalRetriever(_Base):
    """BM25 alone (the baseline): the stored weights of the question's terms, summed."""

    def search_vector(
        self, question: str, query: Vectors, top_k: int, prefer: frozenset[str] = frozenset()
    ) -> list[Hit]:
        scores = self._index.lexical.scores(tokenize(question))
        rows = _top(scores, top_k)
        rows = rows[scores[rows] > 0]
        return self._hits(rows, scores[rows], query)


class HybridRetriever(_Base):
    """Dense and BM25 candidates, plus the passages of articles the question names, fused."""

    def __init__(
        self,
        index: LoadedIndex,
        names: ArticleNames,
        weights: FusionWeights | None = None,
        *,
        depth: int = 100,
    ) -> None:
        super().__init__(index)
        self.weights = weights or FusionWeights()
        self._depth = depth
        self._names = names

    def search_vector(
        self, question: str, query: Vectors, top_k: int, prefer: frozenset[str] = frozenset()
    ) -> list[Hit]:
        pool = self.candidates(question, query, prefer)
        fused = fuse(
            pool.similarity, pool.sentence, pool.bm25, pool.named, self.weights, pool.query_idf
        )
        order = np.argsort(-fused, kind="stable")[:top_k]
        return [
            Hit(
                self._index.passages[int(pool.rows[i])],
                float(fused[i]),
                rank,
                float(pool.similarity[i]),
                int(pool.rows[i]),
            )
            for rank, i in enumerate(order, 1)
        ]

    def candidates(
        self, question: str, query: Vectors, prefer: frozenset[str] = frozenset()
    ) -> Candidates:
        """The pooled candidates and their evidence, before fusion (also used for tuning)."""
        tokens = tokenize(question)
        lexical = self._index.lexical.scores(tokens)
        _, dense_rows = self._index.search(query, self._depth)
        named = self._names.named_rows(tokens, prefer)
        pool = np.unique(
            np.concatenate(
                [
                    dense_rows[0][dense_rows[0] >= 0].astype(np.int64),
                    _top(lexical, self._depth),
                    np.asarray(named, dtype=np.int64),
                ]
            )
        )
        sims = self._index.similarities(query, [int(r) for r in pool])
        is_named = np.isin(pool, np.asarray(named, dtype=np.int64))
        sentence = best_sentence_similarity(self._index, query, pool, sims)
        query_idf = sum(self._index.lexical.term_idf(t) for t in set(tokens))
        return Candidates(pool, sims, sentence, lexical[pool], is_named, query_idf)


def best_sentence_similarity(
    index: LoadedIndex, query: Vectors, rows: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """For each passage row, the highest cosine similarity of one of its sentences with the
    query (`fallback`, its own similarity, for a passage without sentences)."""
    first = index.sentences.first
    starts, stops = first[rows], first[rows + 1]
    counts = stops - starts
    if not len(rows) or not counts.any():
        return np.asarray(fallback, dtype=np.float32)
    picked = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    similarity = index.sentences.vectors[picked] @ np.asarray(query, dtype=np.float32).reshape(-1)
    best = np.asarray(fallback, dtype=np.float32).copy()
    offsets = np.cumsum(counts) - counts
    has = counts > 0
    best[has] = np.maximum.reduceat(similarity, offsets[has])
    return best


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k highest scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")].astype(np.int64)


def make_retriever(name: str, index: LoadedIndex, names: ArticleNames | None = None) -> Retriever:
    """A retriever by name (RETRIEVERS). The hybrid one needs the places the articles name:
    pass them when they are already known, else they are found here."""
    if name == "dense":
        return DenseRetriever(index)
    if name == "bm25":
        return LexicalRetriever(index)
    if name == "default":
        return HybridRetriever(index, names or ArticleNames.from_passages(index.passages))
    raise ValueError(f"unknown retriever {name!r}; choose one of {', '.join(RETRIEVERS)}")
