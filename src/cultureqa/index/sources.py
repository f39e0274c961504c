"""A collection's article files: list them, store an upload (parsed first), delete one.

Uploads land in the collection's own articles directory (see collections.sources_of); a name is
only ever a plain file name with a known article extension, so no path can leave it.
"""

from __future__ import annotations

import re
from pathlib import Path

from cultureqa.corpus.loader import EXTENSIONS, parse_file
from cultureqa.corpus.model import Article
from cultureqa.corpus.source import SourceFile
from cultureqa.errors import (
    ConflictError,
    CorpusError,
    IndexUnavailableError,
    InvalidRequestError,
    NotFoundError,
)
from cultureqa.index.collections import index_dir_of, sources_of
from cultureqa.index.store import VERSIONS_DIR, read_manifest, read_passages
from cultureqa.settings import Settings

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def article_path(settings: Settings, collection: str, file_name: str) -> Path:
    """The path an uploaded article is stored at, refusing any name that could leave the
    collection's directory: only a plain file name with a known article extension."""
    if not _FILE_NAME.fullmatch(file_name) or ".." in file_name:
        raise InvalidRequestError(
            f"invalid article file name {file_name!r}: use letters, digits, '.', '-' and '_' "
            "only, no path"
        )
    if Path(file_name).suffix.lower() not in EXTENSIONS:
        raise InvalidRequestError(
            f"unsupported article type {Path(file_name).suffix!r}; "
            f"use one of {', '.join(sorted(EXTENSIONS))}"
        )
    root = sources_of(settings, collection).resolve()
    path = (root / file_name).resolve()
    if path.parent != root:  # belt and braces: the pattern already rules this out
        raise InvalidRequestError(f"invalid article file name {file_name!r}")
    return path


def store_article(settings: Settings, collection: str, file_name: str, data: bytes) -> int:
    """Check that the upload parses as an article, then write it atomically.

    Returns how many articles it holds. Raises InvalidRequestError for a bad name or content.
    """
    path = article_path(settings, collection, file_name)
    try:
        articles = parse_file(path, data=data, root=path.parent)
    except CorpusError as exc:
        shown = SourceFile.at(path, path.parent).display  # `collection/file`, no server path
        message = exc.message if exc.message.startswith(shown) else f"{shown}: {exc.message}"
        raise InvalidRequestError(message) from exc
    check_unique_ids(
        articles, file_name, ids_elsewhere(path) | ids_from_sources(settings, collection)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.upload")
    staging.write_bytes(data)
    staging.replace(path)
    return len(articles)


def ids_from_sources(settings: Settings, collection: str) -> dict[str, str]:
    """The article ids the collection's current version took from its other sources (those of
    `cultureqa ingest DIR --collection NAME`), each with its file as citations name it. The
    collection's own folder is left out: its files are read as they are now (ids_elsewhere)."""
    index_dir = index_dir_of(settings, collection)
    try:
        manifest = read_manifest(index_dir, check_format=False)
        passages = read_passages(index_dir / VERSIONS_DIR / manifest.version)
    except (IndexUnavailableError, OSError, ValueError, TypeError, KeyError):
        return {}  # no usable version: nothing indexed to collide with
    own = f"{sources_of(settings, collection).resolve().name}/"
    return {
        p.article_id: p.source_file
        for p in passages
        if p.source_file and not p.source_file.startswith(own)
    }


def ids_elsewhere(path: Path) -> dict[str, str]:
    """The article ids of the other files in `path`'s folder, each with its file's name.
    Files that do not parse are left out: they are skipped at re-index too."""
    found: dict[str, str] = {}
    if not path.parent.is_dir():
        return found
    for other in sorted(path.parent.iterdir()):
        if other.name == path.name or other.name.startswith(".") or not other.is_file():
            continue
        try:
            articles = parse_file(other, root=path.parent)
        except CorpusError:
            continue
        found.update((article.id, other.name) for article in articles)
    return found


def check_unique_ids(articles: list[Article], file_name: str, elsewhere: dict[str, str]) -> None:
    """An upload whose article ids repeat, in itself (422) or in another file of the collection
    (409, naming it), would make every re-index fail: refused before it is stored."""
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise InvalidRequestError(
                f"{file_name}: article id {article.id!r} is used twice in this file"
            )
        seen.add(article.id)
        if article.id in elsewhere:
            raise ConflictError(
                f"{file_name}: article id {article.id!r} is already used by "
                f"{elsewhere[article.id]} in this collection",
                hint="give one of them another id (`id:` in Markdown front matter), or "
                "replace or delete the other file",
            )


def delete_article(settings: Settings, collection: str, file_name: str) -> None:
    path = article_path(settings, collection, file_name)
    if not path.is_file():
        raise NotFoundError(f"no article file {file_name!r} in collection {collection!r}")
    path.unlink()


def article_files(settings: Settings, collection: str) -> list[str]:
    root = sources_of(settings, collection)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
