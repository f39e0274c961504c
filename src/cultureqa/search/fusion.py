"""One score from the dense and the lexical evidence about a candidate passage.

    fused = max(similarity, best sentence similarity)
            + lexical_weight * trust * bm25 / max(best bm25 among the candidates, BM25_FLOOR)
            + name_weight * [the question names the passage's article]
    trust = min(1, (best bm25 / the most a passage could score) / full_match)

The dense evidence is the passage's cosine similarity or that of its best sentence, whichever
is higher: a question about one detail ("Can you haggle in the souk?") is nearer the sentence
that holds it than the whole passage.

The lexical evidence is trusted as far as the best lexical match goes: "the most a passage
could score" is what one holding every question word (at BM25's saturation, k1 + 1 per word)
would get. A question that reuses the article's words (SQuAD's) has a match near that, and
BM25 counts fully; a question in everyday words ("What faith do most Irish people follow?")
matches only incidental words, and BM25 then must not outvote a strong dense match. BM25 also
has no fixed scale, so it is divided by the best score among the candidates, but never by less
than BM25_FLOOR (when only common words match, its small differences are noise). The weights
were chosen on the dev sets together (docs/retrieval.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cultureqa.index.lexical import K1

BM25_FLOOR = 5.0  # about one rare word (IDF ~5) matched: below this, lexical evidence is weak


# BM25's most for one occurrence-saturated term is IDF x (k1 + 1).
SATURATION = K1 + 1


@dataclass(frozen=True)
class FusionWeights:
    # The grid over the dev sets together (benchmarks/retrieval.py fusion, docs/retrieval.md):
    # the one setting that keeps the default at or above the best single ranking on every dev
    # set (student-style, everyday Factbook, factbook-dev, squad-culture-dev, seed-dev).
    lexical: float = 0.6
    full_match: float = 0.3
    # A question that names a place should be answered from that place's article: "What do
    # people eat in Hamhung?" over Hamhung and Kyoto must not get Kyoto's "People in Kyoto eat
    # ...", which shares more words with it (0.17 more lexical and cosine evidence there).
    name: float = 0.3


def fuse(
    similarity: NDArray[np.float32],
    sentence: NDArray[np.float32],
    bm25: NDArray[np.float32],
    named: NDArray[np.bool_],
    weights: FusionWeights,
    query_idf: float = 0.0,
) -> NDArray[np.float64]:
    """Fused scores, one per candidate; higher is better. `sentence` is each candidate's best
    sentence similarity, `query_idf` the sum of the question's (distinct) words' IDF (0: trust
    BM25 fully)."""
    best = float(bm25.max()) if len(bm25) else 0.0
    lexical = bm25 / max(best, BM25_FLOOR)
    trust = 1.0
    if query_idf > 0:
        trust = min(1.0, best / (SATURATION * query_idf) / weights.full_match)
    return (
        np.maximum(similarity, sentence).astype(np.float64)
        + weights.lexical * trust * lexical.astype(np.float64)
        + weights.name * named.astype(np.float64)
    )
