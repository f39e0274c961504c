"""Wire the parts together from settings: model, index (rebuilt when asked and needed), answerer."""

from __future__ import annotations

import logging

from .answer import Answerer
from .embedding import Embedder, SentenceTransformerEmbedder
from .index import LoadedIndex, load_index
from .ingest import ingest, staleness
from .retrieval import DenseRetriever
from .settings import Settings

log = logging.getLogger("cultureqa")


def load_embedder(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.model, device=settings.device)


def ensure_index(settings: Settings, embedder: Embedder, *, progress: bool = False) -> None:
    """Build the index from `settings.corpus_dir` when it is missing or stale."""
    reason = staleness(settings.index_dir, [settings.corpus_dir], embedder)
    if reason is None:
        return
    log.warning("Rebuilding the index in %s: %s", settings.index_dir, reason)
    report = ingest(
        [settings.corpus_dir],
        settings.index_dir,
        embedder,
        batch_size=settings.batch_size,
        progress=progress,
    )
    log.warning("%s", report.summary())


def open_index(settings: Settings, embedder: Embedder) -> LoadedIndex:
    return load_index(settings.index_dir, model=embedder.name, dimension=embedder.dimension)


def make_answerer(settings: Settings, embedder: Embedder, index: LoadedIndex) -> Answerer:
    return Answerer(
        DenseRetriever(embedder, index),
        index,
        max_question_chars=settings.max_question_chars,
        max_top_k=settings.max_top_k,
    )
