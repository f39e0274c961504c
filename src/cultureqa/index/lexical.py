"""BM25 over passages: statistics computed once at ingest, stored as plain arrays, summed at query.

The tokenizer (lower case, words of two or more characters, English stop words dropped, Snowball
stemming) is the same at ingest and at query time. bm25s computes the per-(term, passage) BM25
weights (Lucene's variant, k1=1.2, b=0.75) at ingest; they are stored column-wise (one run of
passage rows per term, CSC) as `.npy` arrays and a JSON vocabulary, and never pickled. A query then
costs one slice per query term: no scan of the corpus, no model.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

LEXICAL_FILES = ("bm25.data.npy", "bm25.indices.npy", "bm25.indptr.npy", "bm25.vocab.json")
K1 = 1.2
B = 0.75

_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Stemmed content words of `text`, in order (repeats kept)."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop]
    return list(_stemmer().stemWords(words)) if words else []


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 weights, column-wise: rows[indptr[t]:indptr[t+1]] are the passages holding term t,
    with their weights in data[...]. `idf` is each term's Lucene IDF, for sentence scoring."""

    vocab: dict[str, int]
    data: NDArray[np.float32]
    indices: NDArray[np.int32]
    indptr: NDArray[np.int64]
    idf: NDArray[np.float32]
    passages: int

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        # bm25s sets its own logger to DEBUG at import; its chatter is not our progress.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        tokens = [tokenize(text) for text in texts]
        model = bm25s.BM25(k1=K1, b=B, method="lucene")
        model.index(tokens, show_progress=False)
        vocab = {str(k): int(v) for k, v in model.vocab_dict.items()}
        scores = model.scores
        return cls.from_arrays(
            vocab,
            np.asarray(scores["data"], dtype=np.float32),
            np.asarray(scores["indices"], dtype=np.int32),
            np.asarray(scores["indptr"], dtype=np.int64),
            len(texts),
        )

    @classmethod
    def from_arrays(
        cls,
        vocab: dict[str, int],
        data: NDArray[np.float32],
        indices: NDArray[np.int32],
        indptr: NDArray[np.int64],
        passages: int,
    ) -> LexicalIndex:
        df = np.diff(indptr).astype(np.float64)
        idf = np.log1p((passages - df + 0.5) / (df + 0.5)).astype(np.float32)
        return cls(vocab, data, indices, indptr, idf, passages)

    def save(self, directory: Path) -> None:
        """Write the arrays and vocabulary into `directory`, as the files of LEXICAL_FILES."""
        data, indices, indptr, vocab = LEXICAL_FILES
        np.save(directory / data, self.data, allow_pickle=False)
        np.save(directory / indices, self.indices, allow_pickle=False)
        np.save(directory / indptr, self.indptr, allow_pickle=False)
        (directory / vocab).write_text(
            json.dumps({"passages": self.passages, "vocab": self.vocab}, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        data, indices, indptr, vocab = LEXICAL_FILES
        meta = json.loads((directory / vocab).read_text(encoding="utf-8"))
        return cls.from_arrays(
            {str(k): int(v) for k, v in meta["vocab"].items()},
            np.load(directory / data, allow_pickle=False),
            np.load(directory / indices, allow_pickle=False),
            np.load(directory / indptr, allow_pickle=False),
            int(meta["passages"]),
        )

    def term_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.vocab[t] for t in tokens if t in self.vocab]

    def scores(self, tokens: Sequence[str]) -> NDArray[np.float32]:
        """BM25 score of every passage for the query tokens (repeated tokens count again)."""
        out = np.zeros(self.passages, dtype=np.float32)
        for term in self.term_ids(tokens):
            start, end = self.indptr[term], self.indptr[term + 1]
            out[self.indices[start:end]] += self.data[start:end]
        return out

    def holds(self, token: str, rows: range) -> bool:
        """Whether a passage among `rows` holds `token`. A term's passages are stored in
        ascending order (a compressed sparse column), so a binary search finds them."""
        term = self.vocab.get(token)
        if term is None:
            return False
        holders = self.indices[self.indptr[term] : self.indptr[term + 1]]
        at = int(np.searchsorted(holders, rows.start))
        return at < len(holders) and int(holders[at]) < rows.stop

    def term_idf(self, token: str) -> float:
        """IDF of a token; an unknown one weighs as a term seen in one passage."""
        term = self.vocab.get(token)
        if term is None:
            return float(np.log1p((self.passages - 0.5) / 1.5))
        return float(self.idf[term])
