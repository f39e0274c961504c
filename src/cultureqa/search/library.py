"""The collections a running server answers from, each swapped to its newest published version
without a restart.

A background thread looks at every collection's CURRENT pointer every `reload_interval`
seconds. A new version is loaded and verified (manifest, counts, checksums) off the request
path, then swapped in with one assignment: a request holds the answerer it started with, so none
fails or mixes versions. A version that fails verification is refused, logged, and reported by
`status()`; the collection keeps answering from its last good version.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cultureqa.embedding.base import Embedder
from cultureqa.errors import IndexNotFoundError, IndexUnavailableError, UnknownCollectionError
from cultureqa.index.collections import index_dir_of, published_collections
from cultureqa.index.store import BUILD_HINT, LoadedIndex, current_version, load_index
from cultureqa.search.answer import Answerer
from cultureqa.search.answer_model import default_models
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import make_retriever
from cultureqa.settings import Settings

log = logging.getLogger("cultureqa")


def make_answerer(
    settings: Settings,
    embedder: Embedder,
    index: LoadedIndex,
    collection: str | None = None,
    retriever: str = "default",
) -> Answerer:
    """The answerer of one loaded index. The places its articles name are found once, here,
    and shared by the ranking and the answer."""
    names = ArticleNames.from_passages(index.passages)
    warn_if_uncalibrated(embedder.name)
    return Answerer(
        make_retriever(retriever, index, names),
        index,
        embedder,
        names,
        max_question_chars=settings.max_question_chars,
        max_top_k=settings.max_top_k,
        collection=None if collection == settings.default_collection else collection,
    )


@cache  # once per model and process: every collection's answerer shares the answer model
def warn_if_uncalibrated(model: str) -> bool:
    """Warn when the shipped answer model was fit on another sentence-transformers model's
    similarities: its confidences (and so which answers are withheld) are then uncalibrated.
    True when it warned."""
    fitted = default_models().embedding_model
    if not fitted or fitted == model:
        return False
    log.warning(
        "the answer model was fit on %s's similarities, not %s's: its confidences are not "
        "calibrated for this model; refit it on the dev sets (python -m benchmarks.answer_model "
        "fit, docs/retrieval.md)",
        fitted,
        model,
    )
    return True


@dataclass(frozen=True)
class CollectionStatus:
    name: str
    version: str | None  # the version being served, None when none is
    passages: int | None
    problem: str | None  # why the newest published version is not the one served, if so


class LiveCollection:
    """One collection's answerer, kept on its newest good version."""

    def __init__(self, name: str, index_dir: Path, settings: Settings, embedder: Embedder) -> None:
        self.name = name
        self._index_dir = index_dir
        self._settings = settings
        self._embedder = embedder
        self._lock = threading.Lock()  # one refresh at a time; readers never take it
        self.answerer: Answerer | None = None
        # Why the newest published version is not served (None when it is).
        self.error: IndexUnavailableError | None = None
        self._refused: str | None = None

    def refresh(self) -> None:
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        version = current_version(self._index_dir)
        serving = self.answerer.index.manifest.version if self.answerer else None
        if version is None:
            if not serving:
                self.error = IndexNotFoundError(f"no index in {self._index_dir}", hint=BUILD_HINT)
            return
        if version in (serving, self._refused):
            return  # published versions never change, so a refused one stays refused
        try:
            index = load_index(
                self._index_dir,
                model=self._embedder.name,
                dimension=self._embedder.dimension,
                version=version,
            )
        except IndexUnavailableError as exc:
            self._refused = version
            keeping = f"; still serving version {serving}" if serving else ""
            self.error = type(exc)(f"version {version} refused: {exc}{keeping}", hint=exc.hint)
            log.error("Collection %r: %s", self.name, self.error)
            return
        self.answerer = make_answerer(self._settings, self._embedder, index, self.name)
        self.error = None
        log.info("Collection %r: serving version %s", self.name, version)

    def status(self) -> CollectionStatus:
        answerer = self.answerer
        manifest = answerer.index.manifest if answerer else None
        return CollectionStatus(
            name=self.name,
            version=manifest.version if manifest else None,
            passages=manifest.passages if manifest else None,
            problem=self.error.message if self.error else None,
        )


class Library:
    """Every collection served, found by looking at the index directory."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self._settings = settings
        self._embedder = embedder
        self._collections: dict[str, LiveCollection] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _collection(self, name: str) -> LiveCollection:
        live = self._collections.get(name)
        if live is None:
            live = LiveCollection(
                name, index_dir_of(self._settings, name), self._settings, self._embedder
            )
            self._collections = {**self._collections, name: live}  # readers see old or new dict
        return live

    def refresh(self, name: str | None = None) -> None:
        """Load newly published versions: of one collection, or of all of them."""
        if name is not None:
            self._collection(name).refresh()
            return
        names = {self._settings.default_collection, *published_collections(self._settings)}
        for each in sorted(names):
            self._collection(each).refresh()

    def names(self) -> list[str]:
        return sorted(n for n, c in self._collections.items() if c.answerer is not None)

    def answerer(self, name: str | None = None) -> Answerer:
        """The answerer of a collection (default: the default one).

        Raises UnknownCollectionError (404) for a name never published, and
        IndexUnavailableError (503) for a known collection with no usable version.
        """
        name = name or self._settings.default_collection
        live = self._collections.get(name)
        if live is None:
            known = ", ".join(self.names()) or "none"
            if self._settings.api_keys:  # key mode: collection names are not for anyone asking
                raise UnknownCollectionError(f"unknown collection {name!r}")
            raise UnknownCollectionError(f"unknown collection {name!r}; known collections: {known}")
        if live.answerer is None:
            raise live.error or IndexUnavailableError("the index is not loaded", hint=BUILD_HINT)
        return live.answerer

    def status(self) -> list[CollectionStatus]:
        return [c.status() for _, c in sorted(self._collections.items())]

    def start(self) -> None:
        """Refresh now, then keep refreshing in a daemon thread until stop()."""
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="cultureqa-reload", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self._settings.reload_interval):
            try:
                self.refresh()
            except Exception:  # a bad moment on disk must not end reloading for good
                log.exception("Reloading indexes failed; trying again")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
