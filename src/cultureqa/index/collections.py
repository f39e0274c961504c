"""Collections: named indexes side by side, each with its own articles and index directory.

corpus_dir/                       articles of the default collection
collections_dir/<name>/           articles of every other collection (admin uploads land here)
index_dir/<name>/                 each collection's index (see index.py)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .corpus.loader import EXTENSIONS, PARSERS, decode_text
from .corpus.source import SourceFile
from .errors import CorpusError, InvalidRequestError, NotFoundError
from .index import current_version

if TYPE_CHECKING:
    from .settings import Settings

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def is_collection_name(name: str) -> bool:
    """Safe as a directory name: 1-64 lower-case letters, digits, '-' and '_'."""
    return bool(_NAME.fullmatch(name))


def check_collection_name(name: str) -> str:
    if not is_collection_name(name):
        raise InvalidRequestError(
            f"invalid collection name {name!r}: use 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
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
        if p.is_dir() and _NAME.fullmatch(p.name) and current_version(p) is not None
    )


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
        text = decode_text(data)
        articles = PARSERS[EXTENSIONS[path.suffix.lower()]](text, SourceFile.at(path))
    except CorpusError as exc:
        raise InvalidRequestError(f"{file_name}: {exc.message}") from exc
    if not any(a.sections for a in articles):
        raise InvalidRequestError(f"{file_name}: no text found")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.upload")
    staging.write_bytes(data)
    staging.replace(path)
    return len(articles)


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
