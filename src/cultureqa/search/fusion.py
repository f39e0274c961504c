"""One score from the dense and the lexical evidence about a candidate passage.

    fused = similarity + lexical_weight * bm25 / max(best bm25 among the candidates, BM25_FLOOR)
            + name_weight * [the question names the passage's article]

Cosine similarity is kept as it is (its scale means the same for every question); BM25 has no
fixed scale, so it is divided by the best BM25 score among the candidates, but never by less than
BM25_FLOOR: when only common words match (every passage of a one-article corpus holds the
article's name), BM25's small differences are noise and must not outvote the model. The weights
were chosen by measurement on the dev sets (docs/retrieval.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

BM25_FLOOR = 5.0  # about one rare word (IDF ~5) matched: below this, lexical evidence is weak


@dataclass(frozen=True)
class FusionWeights:
    # The grid on squad-culture-dev (docs/retrieval.md): 0.55 is the best BM25 weight that
    # keeps R@1, R@5 and MRR@10 all at their targets; the optimum of R@1 alone is 0.6-0.65.
    lexical: float = 0.55
    # A question that names a place should be answered from that place's article: "What do
    # people eat in Hamhung?" over Hamhung and Kyoto must not get Kyoto's "People in Kyoto eat
    # ...", which shares more words with it (0.17 more lexical and cosine evidence there). 0.3
    # wins that case with a margin, changes nothing on factbook-dev (R@1 1.000 for any weight
    # 0-0.6) and costs squad-culture-dev 0.002 of R@1 (its questions seldom name their article).
    name: float = 0.3


def fuse(
    similarity: NDArray[np.float32],
    bm25: NDArray[np.float32],
    named: NDArray[np.bool_],
    weights: FusionWeights,
) -> NDArray[np.float64]:
    """Fused scores, one per candidate; higher is better."""
    top = max(float(bm25.max()) if len(bm25) else 0.0, BM25_FLOOR)
    lexical = bm25 / top
    return (
        similarity.astype(np.float64)
        + weights.lexical * lexical.astype(np.float64)
        + weights.name * named.astype(np.float64)
    )
