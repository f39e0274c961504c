"""The torch backend: a sentence-transformers model run as sentence-transformers runs it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cultureqa.embedding.base import BatchEmbedder, Span, Vectors, pool_spans, resolve_model_path
from cultureqa.errors import ModelError


class SentenceTransformerEmbedder(BatchEmbedder):
    """A sentence-transformers model, loaded once, run on the CPU unless told otherwise."""

    def __init__(self, name: str, device: str = "cpu", threads: int | None = None) -> None:
        # Nothing may download at run time: make a missing model fail fast instead of hanging.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # A bar per weight file is noise, not progress.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        if threads:
            torch.set_num_threads(threads)  # process-wide, like torch itself
        self._name = name
        path = resolve_model_path(name)
        try:
            self._model: Any = SentenceTransformer(path, device=device)
        except Exception as exc:  # any loading failure: missing files, bad config, offline
            local = Path(path).exists()
            raise ModelError(
                f"cannot load embedding model {name!r}: {exc}",
                hint=(
                    "check the model directory"
                    if local
                    else "use a local directory or a model already in the Hugging Face cache"
                ),
            ) from exc
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ModelError(f"model {name!r} does not say its embedding dimension")
        self._dimension = int(dimension)
        self._tokenizer = self._model.tokenizer
        special = len(self._tokenizer("", add_special_tokens=True)["input_ids"])
        window = self._model.max_seq_length
        if not window:
            raise ModelError(f"model {name!r} does not say how many tokens it reads")
        self._max_tokens = int(window) - special

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _run(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _run_spans(self, texts: list[str], spans: list[Sequence[Span]]) -> tuple[Vectors, Vectors]:
        vectors = self._run(texts)
        tokens = self._model.encode(
            texts,
            batch_size=len(texts),
            output_value="token_embeddings",
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        window = self._model.max_seq_length
        offsets = self._tokenizer(
            texts, return_offsets_mapping=True, truncation=True, max_length=window
        )["offset_mapping"]
        pooled = [
            pool_spans(np.asarray(tokens[i].cpu(), dtype=np.float32), offsets[i], spans[i], v)
            for i, v in enumerate(vectors)
        ]
        dimension = vectors.shape[1]
        return vectors, np.concatenate(pooled) if pooled else np.zeros((0, dimension), np.float32)
