"""Wire the parts together from settings: model, index (rebuilt when asked and needed), answerer."""

from __future__ import annotations

import logging
from pathlib import Path

from .answer import Answerer
from .catalog import index_dir_of, sources_of
from .embedding import Embedder, SentenceTransformerEmbedder, resolve_model_path
from .errors import ModelError
from .index import LoadedIndex, load_index
from .ingest import IngestReport, ProgressCallback, ingest, staleness
from .onnx_embedding import OnnxEmbedder
from .onnx_embedding import supports as onnx_supports
from .retrieval import make_retriever
from .settings import Settings

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
            return OnnxEmbedder(
                settings.model, model_dir, threads=threads, cache_dir=settings.model_cache_dir
            )
        except ModelError as exc:
            if settings.backend == "onnx":
                raise
            log.warning("ONNX backend unavailable (%s); using torch", exc)
    return SentenceTransformerEmbedder(settings.model, device=settings.device, threads=threads)


def ingest_collection(
    settings: Settings,
    embedder: Embedder,
    collection: str | None = None,
    *,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Re-ingest a collection from its own articles directory (corpus_dir for the default)."""
    name = collection or settings.default_collection
    return ingest(
        [sources_of(settings, name)],
        index_dir_of(settings, name),
        embedder,
        batch_size=settings.batch_size,
        progress=progress,
        on_progress=on_progress,
    )


def ensure_index(settings: Settings, embedder: Embedder, *, progress: bool = False) -> None:
    """Build the default collection from `settings.corpus_dir` when it is missing or stale."""
    index_dir = index_dir_of(settings, settings.default_collection)
    reason = staleness(index_dir, [settings.corpus_dir], embedder)
    if reason is None:
        return
    log.warning("Rebuilding the index in %s: %s", index_dir, reason)
    report = ingest_collection(settings, embedder, progress=progress)
    log.warning("%s", report.summary())


def open_index(
    settings: Settings, embedder: Embedder, collection: str | None = None
) -> LoadedIndex:
    return load_index(
        index_dir_of(settings, collection or settings.default_collection),
        model=embedder.name,
        dimension=embedder.dimension,
    )


def make_answerer(
    settings: Settings,
    embedder: Embedder,
    index: LoadedIndex,
    collection: str | None = None,
    retriever: str = "default",
) -> Answerer:
    return Answerer(
        make_retriever(retriever, embedder, index),
        index,
        embedder,
        max_question_chars=settings.max_question_chars,
        max_top_k=settings.max_top_k,
        collection=None if collection == settings.default_collection else collection,
    )
