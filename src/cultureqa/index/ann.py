"""The FAISS index over passage vectors, chosen by corpus size.

All vectors are unit length, so inner product is cosine similarity. Exact search (IndexFlatIP)
is used while it is cheap: at 384 dimensions a flat scan of 100,000 vectors costs a few
milliseconds, less than embedding the question. Past EXACT_SEARCH_LIMIT an HNSW graph keeps
search time flat; its recall@10 against exact search is measured by benchmarks/vector_index.py.
"""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np

from cultureqa.embedding.base import Vectors

EXACT_SEARCH_LIMIT = 200_000
HNSW_NEIGHBOURS = 32  # M: links per node; memory grows with it, recall too
HNSW_EF_CONSTRUCTION = 200
# Candidates kept while searching: recall against speed. On the Factbook's 33,356 vectors
# (benchmarks/vector_index.py, docs/benchmarks.md) recall@10 against exact search was 0.973 at
# 128, 0.992 at 256 and 0.996 at 384 (0.77 ms a query, against 5.3 ms exact); 384 keeps a margin
# above 0.99 for the larger corpora that HNSW is used for.
HNSW_EF_SEARCH = 384
KINDS = ("auto", "flat", "hnsw")


def kind_for(count: int, kind: str = "auto") -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown vector index kind {kind!r}; choose one of {KINDS}")
    if kind != "auto":
        return kind
    return "flat" if count <= EXACT_SEARCH_LIMIT else "hnsw"


def build_vector_index(vectors: Vectors, dimension: int, kind: str = "auto") -> tuple[Any, str]:
    """A FAISS index holding `vectors` in row order, and the kind chosen."""
    chosen = kind_for(len(vectors), kind)
    index: Any
    if chosen == "flat":
        index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    tune_for_search(index)
    return index, chosen


def tune_for_search(index: Any) -> None:
    """Search-time parameters, which FAISS does not always keep on disk."""
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = HNSW_EF_SEARCH
