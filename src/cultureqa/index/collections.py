"""Collections: named indexes side by side, each with its own articles and index directory.

corpus_dir/                       articles of the default collection
collections_dir/<name>/           articles of every other collection (admin uploads land here)
index_dir/<name>/                 each collection's index (see store.py)

Also the two ways a collection gets (re)built from its own articles: on request, and when the
default collection is missing or stale at start-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from cultureqa.embedding.base import Embedder
from cultureqa.errors import CorpusError, IndexUnavailableError, InvalidRequestError
from cultureqa.index.ingest import IngestReport, ProgressCallback, ingest, staleness
from cultureqa.index.store import (
    LoadedIndex,
    Manifest,
    current_version,
    kept_versions,
    load_index,
    read_manifest,
)
from cultureqa.settings import COLLECTION_NAME_RULE, Settings, is_collection_name

log = logging.getLogger("cultureqa")


def check_collection_name(name: str) -> str:
    if not is_collection_name(name):
        raise InvalidRequestError(f"invalid collection name {name!r}: {COLLECTION_NAME_RULE}")
    return name


def index_dir_of(settings: Settings, collection: str) -> Path:
    return settings.index_dir / check_collection_name(collection)


def sources_of(settings: Settings, collection: str) -> Path:
    """Where a collection's articles live: corpus_dir for the default one."""
    if collection == settings.default_collection:
        return settings.corpus_dir
    return settings.collections_dir / check_collection_name(collection)


def published_collections(settings: Settings) -> list[str]:
    """Collections with a published index, sorted by name."""
    if not settings.index_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in settings.index_dir.iterdir()
        if p.is_dir() and is_collection_name(p.name) and current_version(p) is not None
    )


def recorded_sources(settings: Settings, collection: str) -> list[Path]:
    """The sources the collection's current version was built from, as its manifest records
    them (absolute paths since format 3); [] when it has no index."""
    try:
        manifest = read_manifest(index_dir_of(settings, collection), check_format=False)
    except IndexUnavailableError:
        return []
    return [Path(source) for source in manifest.sources]


def recorded_format(settings: Settings, collection: str) -> str:
    """The --format the collection's current version read its sources with ('auto' when it
    has none, or was built before formats were recorded)."""
    try:
        manifest = read_manifest(index_dir_of(settings, collection), check_format=False)
    except IndexUnavailableError:
        return "auto"
    return manifest.source_format


def format_for_ingest(
    settings: Settings, collection: str, given: str | None, *, replacing: bool
) -> str:
    """The format an ingest reads with: the one given, else the one recorded (when the recorded
    sources are read again: a re-index, or --add), else 'auto'. Adding sources in another
    format than the recorded sources' is refused: one collection, one format."""
    recorded = recorded_format(settings, collection)
    if replacing:
        return given or "auto"
    if given and given != recorded and recorded_sources(settings, collection):
        raise CorpusError(
            f"collection {collection!r} is read with --format {recorded}, not {given}",
            hint=f"add these sources with --format {recorded}, or replace the collection's "
            f"sources (without --add) to read them all as {given}",
        )
    return given or recorded


def sources_to_read(settings: Settings, collection: str) -> list[Path]:
    """What re-indexing a collection reads: its own articles directory, and every other source
    its current version was built from (a `cultureqa ingest DIR --collection NAME`), so that
    re-indexing never drops articles silently. A recorded source that is gone is an error,
    not a reason to publish without it."""
    own = sources_of(settings, collection)
    sources = [own]
    for source in recorded_sources(settings, collection):
        if source.resolve() == own.resolve() or source in sources:
            continue
        if not source.exists():
            raise CorpusError(
                f"collection {collection!r} was built from {source}, which is gone",
                hint="restore it, or rebuild the collection with `cultureqa ingest` from what "
                "it should hold now",
            )
        sources.append(source)
    return sources


def sources_for_ingest(
    settings: Settings, collection: str, given: list[Path], *, add: bool = False
) -> tuple[list[Path], list[Path]]:
    """What `cultureqa ingest [SOURCES] --collection NAME [--add]` reads, and the recorded
    sources it no longer reads. Without SOURCES: the collection's own articles and every
    recorded source (as a re-index). With them: SOURCES replace the recorded ones, or are added
    to them with `add`; a collection's own folder (where admin uploads land) stays one of its
    sources either way, except the default collection's corpus directory, which other sources
    replace."""
    recorded = recorded_sources(settings, collection)
    if not given:
        sources = sources_to_read(settings, collection)
        if not sources[0].exists() and len(sources) > 1:
            sources = sources[1:]  # built from elsewhere only: nothing of its own to read
        return sources, []
    chosen: list[Path] = []
    own = sources_of(settings, collection)
    keep_own = collection != settings.default_collection and own.is_dir()
    for source in [*(recorded if add else []), *given, *([own] if keep_own else [])]:
        if all(source.resolve() != other.resolve() for other in chosen):
            chosen.append(source)
    dropped = [r for r in recorded if all(r.resolve() != c.resolve() for c in chosen)]
    return chosen, dropped


def ingest_collection(
    settings: Settings,
    embedder: Embedder,
    collection: str | None = None,
    *,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Re-ingest a collection from its own articles directory (corpus_dir for the default) and
    the other sources it was built from."""
    name = collection or settings.default_collection
    sources, _ = sources_for_ingest(settings, name, [])
    return ingest(
        sources,
        index_dir_of(settings, name),
        embedder,
        fmt=recorded_format(settings, name),
        batch_size=settings.batch_size,
        progress=progress,
        on_progress=on_progress,
    )


def ensure_index(settings: Settings, embedder: Embedder, *, progress: bool = False) -> None:
    """Build the default collection from `settings.corpus_dir` when it is missing or stale.

    A default collection built from other sources (`cultureqa ingest DIR`) is never replaced
    by the corpus directory's articles: it is served as it is, and the log says so. Without a
    corpus directory (a server started elsewhere than the repository) there is nothing to
    build from: the collections already published are served as they are."""
    index_dir = index_dir_of(settings, settings.default_collection)
    recorded = recorded_sources(settings, settings.default_collection)
    corpus = settings.corpus_dir.resolve()
    if recorded and any(source.resolve() != corpus for source in recorded):
        log.warning(
            "The default collection in %s was built from %s, not from %s: serving it as it "
            "is (rebuild it with `cultureqa ingest`)",
            index_dir,
            ", ".join(map(str, recorded)),
            settings.corpus_dir,
        )
        return
    if not settings.corpus_dir.exists():
        log.warning(
            "No corpus at %s: the default collection is not built from it; serving the "
            "collections already published in %s",
            settings.corpus_dir,
            settings.index_dir,
        )
        return
    fmt = recorded_format(settings, settings.default_collection)
    reason = staleness(index_dir, [settings.corpus_dir], embedder, fmt)
    if reason is None:
        return
    log.warning("Rebuilding the index in %s: %s", index_dir, reason)
    report = ingest_collection(settings, embedder, progress=progress)
    log.warning("%s", report.summary())


def open_index(
    settings: Settings, embedder: Embedder, collection: str | None = None
) -> LoadedIndex:
    """A collection's current index, checked against the embedder's model and dimension."""
    return load_index(
        index_dir_of(settings, collection or settings.default_collection),
        model=embedder.name,
        dimension=embedder.dimension,
    )


@dataclass(frozen=True)
class CollectionInfo:
    """What `cultureqa collections` shows of one collection."""

    name: str
    articles_dir: Path  # its own articles (admin uploads land here)
    sources: list[str]  # what its current version was built from
    format: str  # the --format they were read with
    version: str | None  # the version served
    versions: list[str]  # every version kept, oldest first
    articles: int = 0
    passages: int = 0
    built_at: str | None = None
    warnings: list[str] = field(default_factory=list)


def known_collections(settings: Settings) -> list[str]:
    """Every collection with an index or an articles folder, the default one first."""
    names = set(published_collections(settings))
    if settings.collections_dir.is_dir():
        names |= {
            p.name
            for p in settings.collections_dir.iterdir()
            if p.is_dir() and is_collection_name(p.name)
        }
    default = settings.default_collection
    return [default, *sorted(names - {default})]


def describe_collection(settings: Settings, name: str) -> CollectionInfo:
    """A collection's sources, counts and kept versions, and what looks wrong with it."""
    index_dir = index_dir_of(settings, name)
    warnings: list[str] = []
    manifest: Manifest | None = None
    try:
        manifest = read_manifest(index_dir)
    except IndexUnavailableError as exc:
        warnings.append(exc.message)
    sources = manifest.sources if manifest else []
    warnings += [f"source {source} is gone" for source in sources if not Path(source).exists()]
    own = sources_of(settings, name)
    if manifest is None and own.is_dir():
        warnings.append(f"articles in {own} are not indexed yet")
    return CollectionInfo(
        name=name,
        articles_dir=own,
        sources=sources,
        format=manifest.source_format if manifest else "auto",
        version=current_version(index_dir),
        versions=kept_versions(index_dir),
        articles=manifest.articles if manifest else 0,
        passages=manifest.passages if manifest else 0,
        built_at=manifest.built_at if manifest else None,
        warnings=warnings,
    )
