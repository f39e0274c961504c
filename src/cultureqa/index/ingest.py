"""Build an index from article sources: read, split, embed what is new, write, publish.

Embeddings are keyed by a hash of the exact text the model sees (and the model's name), so a
re-ingest reuses the vectors of every unchanged passage from the current version and embeds only
what is new or changed. Deleted articles simply have no passages in the new version.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cultureqa.corpus import Article, SkippedFile, find_files, load_corpus
from cultureqa.corpus.passages import SPLITTER_VERSION, Passage, split_passages
from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.errors import CorpusError, IndexUnavailableError
from cultureqa.index.store import (
    Manifest,
    load_index,
    read_manifest,
    remove_abandoned_builds,
    write_index,
    writer_lock,
)

ProgressCallback = Callable[[int, int], None]  # (passages embedded so far, passages to embed)

# Passages handed to the model per call: big enough for whole batches, small enough that the
# progress bar and job progress move.
EMBED_CHUNK = 512


@dataclass(frozen=True)
class IngestReport:
    manifest: Manifest
    articles: int
    passages: int
    embedded: int  # passages sent to the model; the rest reused their stored vectors
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def reused(self) -> int:
        return self.passages - self.embedded

    def summary(self) -> str:
        skipped = ""
        if self.skipped:
            reasons: dict[str, int] = {}
            for item in self.skipped:
                reasons[item.reason] = reasons.get(item.reason, 0) + 1
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
            skipped = f"; skipped {len(self.skipped)} files ({why})"
        return (
            f"Indexed {self.articles} articles as {self.passages} passages "
            f"({self.embedded} embedded, {self.reused} reused) in {self.seconds:.1f} s"
            f"{skipped} (version {self.manifest.version})"
        )


def text_key(model: str, text: str) -> bytes:
    return hashlib.sha256(f"{model}\0{text}".encode()).digest()


def corpus_fingerprint(sources: Sequence[Path], fmt: str, max_tokens: int) -> str:
    """A hash of everything that decides the passages: the files' names and bytes, the format
    and the splitter. The same fingerprint means ingest would produce the same passages."""
    digest = hashlib.sha256(f"splitter={SPLITTER_VERSION};fmt={fmt};max={max_tokens}".encode())
    for source in sources:
        for path in find_files([source]):
            name = path.relative_to(source) if source.is_dir() else Path(path.name)
            digest.update(f"\0{name.as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def stored_vectors(index_dir: Path, embedder: Embedder) -> dict[bytes, Vectors]:
    """Vectors of the current version by text key; empty when there is none usable."""
    try:
        current = load_index(index_dir, model=embedder.name, dimension=embedder.dimension)
    except IndexUnavailableError:
        return {}
    matrix = current.vectors.reconstruct_n(0, current.vectors.ntotal)
    return {
        text_key(embedder.name, p.embedding_text): matrix[row]
        for row, p in enumerate(current.passages)
    }


def embed_missing(
    texts: Sequence[str],
    known: dict[bytes, Vectors],
    embedder: Embedder,
    *,
    batch_size: int,
    progress: bool,
    on_progress: ProgressCallback | None,
) -> tuple[Vectors, int]:
    """Vectors for all texts, embedding only those whose key is not in `known`."""
    vectors = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    todo: list[int] = []
    for row, text in enumerate(texts):
        vector = known.get(text_key(embedder.name, text))
        if vector is None:
            todo.append(row)
        else:
            vectors[row] = vector
    # Longest first across the whole corpus: batches of like length waste little on padding.
    todo.sort(key=lambda row: -len(texts[row]))
    if on_progress:
        on_progress(0, len(todo))
    with tqdm(
        total=len(todo), desc="Embedding", unit="passage", disable=not progress, leave=False
    ) as bar:
        for start in range(0, len(todo), EMBED_CHUNK):
            rows = todo[start : start + EMBED_CHUNK]
            vectors[rows] = embedder.embed([texts[r] for r in rows], batch_size=batch_size)
            bar.update(len(rows))
            if on_progress:
                on_progress(start + len(rows), len(todo))
    return vectors, len(todo)


def ingest(
    sources: Sequence[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    fmt: str = "auto",
    strict: bool = False,
    batch_size: int = 64,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Read `sources`, embed every new passage, and publish a new index version in `index_dir`.

    Raises CorpusError when nothing usable was found (or, with `strict`, on the first bad file);
    then nothing is published and the current version stays as it was.
    """
    started = time.perf_counter()
    corpus = load_corpus(sources, fmt, strict=strict)
    reasons = "; ".join(f"{s.path}: {s.reason}" for s in corpus.skipped) or "no files"
    return ingest_articles(
        corpus.articles,
        index_dir,
        embedder,
        sources=[str(s) for s in sources],
        fingerprint=corpus_fingerprint(sources, fmt, embedder.max_tokens),
        skipped=corpus.skipped,
        empty_reason=f"no passages found in {', '.join(map(str, sources))} ({reasons})",
        batch_size=batch_size,
        progress=progress,
        on_progress=on_progress,
        started=started,
    )


def ingest_articles(
    articles: Sequence[Article],
    index_dir: Path,
    embedder: Embedder,
    *,
    sources: Sequence[str],
    fingerprint: str,
    skipped: Sequence[SkippedFile] = (),
    empty_reason: str = "no passages found",
    batch_size: int = 64,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
    started: float | None = None,
    cut_sections: bool = True,
) -> IngestReport:
    """Split, embed what is new, and publish articles already read (by a parser, or by the BEIR
    reader).

    With `cut_sections` False every section is one passage, and the model reads only its first
    window of it (how published BEIR figures are made).
    """
    started = time.perf_counter() if started is None else started
    max_tokens = embedder.max_tokens if cut_sections else sys.maxsize
    passages: list[Passage] = []
    for article in articles:
        passages.extend(split_passages(article, embedder.count_tokens, max_tokens))
    if not passages:
        raise CorpusError(empty_reason)
    with writer_lock(index_dir):
        remove_abandoned_builds(index_dir)
        vectors, embedded = embed_missing(
            [p.embedding_text for p in passages],
            stored_vectors(index_dir, embedder),
            embedder,
            batch_size=batch_size,
            progress=progress,
            on_progress=on_progress,
        )
        manifest = write_index(
            index_dir,
            passages,
            vectors,
            model=embedder.name,
            sources=list(sources),
            corpus_fingerprint=fingerprint,
            build_seconds=time.perf_counter() - started,
        )
    return IngestReport(
        manifest=manifest,
        articles=len(articles),
        passages=len(passages),
        embedded=embedded,
        skipped=list(skipped),
        seconds=time.perf_counter() - started,
    )


def staleness(
    index_dir: Path, sources: Sequence[Path], embedder: Embedder, fmt: str = "auto"
) -> str | None:
    """Why the index needs rebuilding for these sources and this model, or None if it is fresh."""
    try:
        manifest = read_manifest(index_dir)
    except IndexUnavailableError as exc:
        return exc.message
    if manifest.model != embedder.name or manifest.dimension != embedder.dimension:
        return f"index was built with model {manifest.model!r}, configured is {embedder.name!r}"
    if manifest.corpus_fingerprint != corpus_fingerprint(sources, fmt, embedder.max_tokens):
        return f"the articles in {', '.join(map(str, sources))} changed since the index was built"
    return None
