"""The configured model on the configured backend."""

from __future__ import annotations

import logging
from pathlib import Path

from cultureqa.embedding.base import Embedder, resolve_model_path
from cultureqa.embedding.onnx_backend import OnnxEmbedder
from cultureqa.embedding.onnx_backend import supports as onnx_supports
from cultureqa.embedding.torch_backend import SentenceTransformerEmbedder
from cultureqa.errors import ModelError
from cultureqa.settings import Settings

log = logging.getLogger("cultureqa")


def load_embedder(settings: Settings, threads: int | None = None) -> Embedder:
    """The configured model on the configured backend (see Settings.backend), computing on
    `threads` threads (default: the backend's own choice)."""
    model_dir = Path(resolve_model_path(settings.model))
    wants_onnx = settings.backend == "onnx" or (
        settings.backend == "auto" and settings.device == "cpu" and onnx_supports(model_dir)
    )
    if wants_onnx:
        try:
            cache_dir = settings.model_cache_dir or (
                settings.cache_dir / "onnx" if settings.cache_dir else None
            )
            return OnnxEmbedder(settings.model, model_dir, threads=threads, cache_dir=cache_dir)
        except ModelError as exc:
            if settings.backend == "onnx":
                raise
            log.warning("ONNX backend unavailable (%s); using torch", exc)
    return SentenceTransformerEmbedder(settings.model, device=settings.device, threads=threads)
