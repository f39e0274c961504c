"""Build an index from article sources: read, split, embed, write, publish."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import SkippedFile, find_files, load_corpus
from .embedding import Embedder
from .errors import CorpusError, IndexUnavailableError
from .index import Manifest, read_manifest, write_index
from .passages import SPLITTER_VERSION, Passage, split_passages


@dataclass(frozen=True)
class IngestReport:
    manifest: Manifest
    articles: int
    passages: int
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        skipped = f", {len(self.skipped)} files skipped" if self.skipped else ""
        return (
            f"Indexed {self.articles} articles as {self.passages} passages "
            f"in {self.seconds:.1f} s{skipped} (version {self.manifest.version})"
        )


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


def ingest(
    sources: Sequence[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    fmt: str = "auto",
    strict: bool = False,
    batch_size: int = 64,
    progress: bool = False,
) -> IngestReport:
    """Read `sources`, embed every passage, and publish a new index version in `index_dir`.

    Raises CorpusError when nothing usable was found (or, with `strict`, on the first bad file).
    """
    started = time.perf_counter()
    corpus = load_corpus(sources, fmt, strict=strict)
    passages: list[Passage] = []
    for article in corpus.articles:
        passages.extend(split_passages(article, embedder.count_tokens, embedder.max_tokens))
    if not passages:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in corpus.skipped) or "no files"
        raise CorpusError(f"no passages found in {', '.join(map(str, sources))} ({reasons})")
    vectors = embedder.embed(
        [p.embedding_text for p in passages], batch_size=batch_size, progress=progress
    )
    manifest = write_index(
        index_dir,
        passages,
        vectors,
        model=embedder.name,
        sources=[str(s) for s in sources],
        corpus_fingerprint=corpus_fingerprint(sources, fmt, embedder.max_tokens),
        build_seconds=time.perf_counter() - started,
    )
    return IngestReport(
        manifest=manifest,
        articles=len(corpus.articles),
        passages=len(passages),
        skipped=corpus.skipped,
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
