"""The index on disk: FAISS vectors, the passage store and a manifest, published atomically.

    INDEX_DIR/
      CURRENT                  name of the version being served (replaced atomically)
      versions/<version>/
        manifest.json          model, dimension, counts, corpus fingerprint, checksums
        vectors.faiss          FAISS inner-product index over unit vectors (see ann.py)
        passages.jsonl         one passage per line, in vector order (JSON: no pickle anywhere)
        bm25.*.npy, bm25.vocab.json
                               BM25 weights per term and passage (see lexical.py), same order
        sentences.npy, sentence_spans.npy
                               a vector per sentence of each passage (see sentences.py)

A build is written to a hidden directory, verified, renamed into versions/, and only then named in
CURRENT. A reader therefore sees a whole old version or a whole new one, never half of either.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from cultureqa.corpus.passages import Passage
from cultureqa.embedding.base import Vectors
from cultureqa.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from cultureqa.index.ann import build_vector_index, tune_for_search
from cultureqa.index.lexical import LEXICAL_FILES, LexicalIndex
from cultureqa.index.sentences import SENTENCE_FILES, SENTENCE_METHOD, SentenceIndex

# 2: BM25 arrays next to the vectors. 3: sentence vectors.
FORMAT_VERSION = 3
CURRENT_FILE = "CURRENT"
VERSIONS_DIR = "versions"
MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.faiss"
PASSAGES_FILE = "passages.jsonl"
KEEP_VERSIONS = 2  # the one served and the one before it, for rollback

BUILD_HINT = "build one with `cultureqa ingest`"


@dataclass(frozen=True)
class Manifest:
    format_version: int
    version: str
    model: str
    dimension: int
    articles: int
    passages: int
    sources: list[str]
    corpus_fingerprint: str
    built_at: str
    build_seconds: float
    files: dict[str, dict[str, Any]]
    vector_index: str = "flat"  # "flat" (exact) or "hnsw"; see ann.py
    sentence_method: str = ""  # how the sentence vectors were made (sentences.SENTENCE_METHOD)
    source_format: str = "auto"  # the format `sources` are read with (`ingest --format`)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class LoadedIndex:
    """A published version, in memory: vectors, passages (in vector order) and manifest."""

    manifest: Manifest
    vectors: Any  # faiss.Index
    passages: list[Passage]
    path: Path
    lexical: LexicalIndex
    sentences: SentenceIndex

    def search(self, query: Vectors, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row numbers of the k nearest passages for each query row."""
        k = min(k, len(self.passages))
        scores, rows = self.vectors.search(np.ascontiguousarray(query, dtype=np.float32), k)
        return scores, rows

    def similarities(self, query: Vectors, rows: Sequence[int]) -> np.ndarray:
        """Cosine similarity of one query row with the given passages' vectors."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        stored = self.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        return np.asarray(stored @ np.asarray(query, dtype=np.float32).reshape(-1))


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index directory. The kernel drops the lock when its holder
    dies, even by SIGKILL, so a killed build never blocks the next one."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_abandoned_builds(index_dir: Path) -> int:
    """Delete staging directories left by builds that died; call it holding writer_lock."""
    versions = index_dir / VERSIONS_DIR
    if not versions.is_dir():
        return 0
    abandoned = [p for p in versions.iterdir() if p.name.startswith(".building-")]
    for path in abandoned:
        shutil.rmtree(path, ignore_errors=True)
    for stray in index_dir.glob(f".{CURRENT_FILE}.*.tmp"):
        stray.unlink(missing_ok=True)
    return len(abandoned)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _passage_to_json(passage: Passage) -> str:
    return json.dumps(dataclasses.asdict(passage), ensure_ascii=False, sort_keys=True)


def _passage_from_json(line: str) -> Passage:
    data = json.loads(line)
    data["headings"] = tuple(data["headings"])
    data["aliases"] = tuple(data.get("aliases", ()))  # absent from indexes built before them
    return Passage(**data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_passages(version_dir: Path) -> list[Passage]:
    """The passages of one version directory, in vector order."""
    with (version_dir / PASSAGES_FILE).open(encoding="utf-8") as handle:
        return [_passage_from_json(line) for line in handle if line.strip()]


def current_version(index_dir: Path) -> str | None:
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def write_index(
    index_dir: Path,
    passages: Sequence[Passage],
    vectors: Vectors,
    sentences: SentenceIndex,
    *,
    model: str,
    sources: Sequence[str],
    corpus_fingerprint: str,
    build_seconds: float,
    vector_kind: str = "auto",
    source_format: str = "auto",
) -> Manifest:
    """Write a new version and make it current; returns its manifest. Call it holding
    writer_lock(index_dir): versions are pruned here, and two writers at once could each remove
    what the other just published."""
    if len(passages) != len(vectors):
        raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
    versions = index_dir / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    # Microseconds make names unique and sortable in publication order.
    version = f"{now:%Y%m%dT%H%M%S%f}-{corpus_fingerprint[:8]}"
    if (versions / version).exists():
        raise FileExistsError(f"index version {version} already exists")

    staging = versions / f".building-{version}-{os.getpid()}"
    staging.mkdir()
    try:
        dimension, kind, files = _write_data(staging, passages, vectors, sentences, vector_kind)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            version=version,
            model=model,
            dimension=dimension,
            articles=len({p.article_id for p in passages}),
            passages=len(passages),
            sources=list(sources),
            corpus_fingerprint=corpus_fingerprint,
            built_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            build_seconds=round(build_seconds, 3),
            files=files,
            vector_index=kind,
            sentence_method=SENTENCE_METHOD,
            source_format=source_format,
        )
        (staging / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        for name in (*files, MANIFEST_FILE):
            with (staging / name).open("rb") as handle:
                os.fsync(handle.fileno())
        verify_version(staging, manifest)
        staging.rename(versions / version)
        _fsync_dir(versions)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _make_current(index_dir, version)
    _prune(versions, keep=version)
    return manifest


def _write_data(
    staging: Path,
    passages: Sequence[Passage],
    vectors: Vectors,
    sentences: SentenceIndex,
    vector_kind: str,
) -> tuple[int, str, dict[str, dict[str, Any]]]:
    """The vector index, the passages, the BM25 arrays and the sentence vectors; returns the
    dimension, the index kind, and each file's SHA-256 and size (for the manifest)."""
    dimension = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    vector_index, kind = build_vector_index(vectors, dimension, vector_kind)
    faiss.write_index(vector_index, str(staging / VECTORS_FILE))
    with (staging / PASSAGES_FILE).open("w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(_passage_to_json(passage) + "\n")
    # BM25 sees what the model sees: title, heading path and text.
    LexicalIndex.build([p.embedding_text for p in passages]).save(staging)
    sentences.save(staging)
    files = {
        name: {"sha256": _sha256(staging / name), "bytes": (staging / name).stat().st_size}
        for name in (VECTORS_FILE, PASSAGES_FILE, *LEXICAL_FILES, *SENTENCE_FILES)
    }
    return dimension, kind, files


def _make_current(index_dir: Path, version: str) -> None:
    """Point CURRENT at `version` with one atomic rename, flushed to disk."""
    pointer = index_dir / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    pointer.write_text(version + "\n", encoding="utf-8")
    with pointer.open("rb") as handle:
        os.fsync(handle.fileno())
    pointer.replace(index_dir / CURRENT_FILE)
    _fsync_dir(index_dir)


def _prune(versions: Path, keep: str) -> None:
    """Drop all but the newest KEEP_VERSIONS versions; never the one just published."""
    published = sorted(
        (p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    for old in published[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def kept_versions(index_dir: Path) -> list[str]:
    """The published versions on disk, oldest first (names sort in publication order)."""
    versions = index_dir / VERSIONS_DIR
    if not versions.is_dir():
        return []
    return sorted(p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))


def rollback(index_dir: Path, version: str | None = None) -> Manifest:
    """Serve a kept version again: `version`, or the newest one older than the current. It is
    verified (manifest, format, checksums) before CURRENT names it, with the same atomic
    rename as a publication, so a running server switches to it within its reload interval.
    Raises IndexNotFoundError when there is nothing to go back to, IndexCorruptError (or
    IndexMismatchError) when that version is damaged (or of another format)."""
    with writer_lock(index_dir):
        current = current_version(index_dir)
        kept = kept_versions(index_dir)
        if version is None:
            older = [v for v in kept if current is None or v < current]
            if not older:
                raise IndexNotFoundError(
                    f"no version older than {current} is kept in {index_dir}",
                    hint=f"versions kept: {', '.join(kept) or 'none'}",
                )
            version = older[-1]
        elif version not in kept:
            raise IndexNotFoundError(
                f"no version {version!r} in {index_dir}",
                hint=f"versions kept: {', '.join(kept) or 'none'}",
            )
        manifest = read_manifest(index_dir, version)
        verify_version(index_dir / VERSIONS_DIR / version, manifest)
        _make_current(index_dir, version)
    return manifest


def verify_version(path: Path, manifest: Manifest) -> None:
    """IndexCorruptError unless every file of the version is there with its manifest's size and
    SHA-256."""
    for name, expected in manifest.files.items():
        file = path / name
        if not file.is_file():
            raise IndexCorruptError(f"index file {file} is missing", hint=BUILD_HINT)
        if file.stat().st_size != expected["bytes"] or _sha256(file) != expected["sha256"]:
            raise IndexCorruptError(
                f"index file {file} does not match its manifest (truncated or changed)",
                hint=BUILD_HINT,
            )


def read_manifest(
    index_dir: Path, version: str | None = None, *, check_format: bool = True
) -> Manifest:
    """The manifest of `version` (default: the current one); IndexNotFoundError when none,
    IndexMismatchError when it is of another format (unless `check_format` is off)."""
    version = version or current_version(index_dir)
    if version is None:
        raise IndexNotFoundError(f"no index in {index_dir}", hint=BUILD_HINT)
    path = index_dir / VERSIONS_DIR / version / MANIFEST_FILE
    try:
        manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorruptError(
            f"{index_dir} names version {version!r}, which has no manifest", hint=BUILD_HINT
        ) from exc
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(f"manifest {path} is unreadable: {exc}", hint=BUILD_HINT) from exc
    if check_format and manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index in {index_dir} has format version {manifest.format_version}; "
            f"this cultureqa reads version {FORMAT_VERSION}",
            hint="rebuild it with `cultureqa ingest`",
        )
    return manifest


def load_index(
    index_dir: Path, *, model: str, dimension: int, version: str | None = None
) -> LoadedIndex:
    """Load `version` (default: the current one), checked against the model that will query it
    and against its manifest's checksums."""
    manifest = read_manifest(index_dir, version)
    path = index_dir / VERSIONS_DIR / manifest.version
    if manifest.model != model or manifest.dimension != dimension:
        raise IndexMismatchError(
            f"index in {index_dir} was built with model {manifest.model!r} "
            f"({manifest.dimension} dimensions), but the configured model is {model!r} "
            f"({dimension} dimensions)",
            hint="rebuild it with `cultureqa ingest`, or configure the model it was built with",
        )
    verify_version(path, manifest)
    try:
        vectors = faiss.read_index(str(path / VECTORS_FILE))
        tune_for_search(vectors)
        passages = read_passages(path)
        lexical = LexicalIndex.load(path)
        sentences = SentenceIndex.load(path, len(passages))
    except (RuntimeError, ValueError, TypeError, KeyError, OSError) as exc:
        raise IndexCorruptError(f"index in {path} is unreadable: {exc}", hint=BUILD_HINT) from exc
    if (
        vectors.ntotal != len(passages)
        or len(passages) != manifest.passages
        or lexical.passages != len(passages)
        or sentences.vectors.shape[1:] != (dimension,)
    ):
        raise IndexCorruptError(
            f"index in {path} holds {vectors.ntotal} vectors and {len(passages)} passages; "
            f"its manifest says {manifest.passages}",
            hint=BUILD_HINT,
        )
    return LoadedIndex(
        manifest=manifest,
        vectors=vectors,
        passages=passages,
        path=path,
        lexical=lexical,
        sentences=sentences,
    )
