"""Build an index from article sources: read, split, embed what is new, write, publish.

Embeddings are keyed by a hash of the exact text the model sees (and the model's name), so a
re-ingest reuses the vectors of every unchanged passage and sentence from the current version
(of this format or an older one) and embeds only what is new or changed. Deleted articles
simply have no passages in the new version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from tqdm import tqdm

from cultureqa.corpus import Article, ArticleWarning, SkippedFile, find_files, load_corpus
from cultureqa.corpus.passages import SPLITTER_VERSION, Passage, split_passages
from cultureqa.corpus.review import ArticleSummary
from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.errors import CorpusError, IndexUnavailableError
from cultureqa.index.sentences import (
    SENTENCE_METHOD,
    SentenceIndex,
    sentences_of,
    span_table,
)
from cultureqa.index.store import (
    VECTORS_FILE,
    VERSIONS_DIR,
    Manifest,
    read_manifest,
    read_passages,
    remove_abandoned_builds,
    verify_version,
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
    sentences: int = 0  # answer sentences, each with a vector pooled from its passage's pass
    warnings: list[ArticleWarning] = field(default_factory=list)
    per_article: list[ArticleSummary] = field(default_factory=list)  # read by a parser

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
            f"{skipped} (version {self.manifest.version}); {self.sentences} answer sentences"
            + (f"; {len(self.warnings)} warnings" if self.warnings else "")
        )

    def as_dict(self) -> dict[str, Any]:
        """The whole report (`cultureqa ingest --report FILE`): counts, version, every file
        skipped, every warning, and each article with where its title came from, its
        sections and its own warnings."""
        return {
            "summary": self.summary(),
            "version": self.manifest.version,
            "articles": self.articles,
            "passages": self.passages,
            "embedded": self.embedded,
            "reused": self.reused,
            "sentences": self.sentences,
            "seconds": round(self.seconds, 3),
            "sources": self.manifest.sources,
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "warnings": [dataclasses.asdict(w) for w in self.warnings],
            "per_article": [dataclasses.asdict(a) for a in self.per_article],
        }


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
    """Vectors of the current version (passages and sentences) by text key; empty when there is
    none usable. Read without the format check, so that an index of an older format still
    lends its vectors to the rebuild that replaces it."""
    try:
        manifest = read_manifest(index_dir, check_format=False)
        if manifest.model != embedder.name or manifest.dimension != embedder.dimension:
            return {}
        path = index_dir / VERSIONS_DIR / manifest.version
        verify_version(path, manifest)  # never reuse vectors from a damaged version
        return _vectors_by_key(path, embedder.name, manifest.sentence_method == SENTENCE_METHOD)
    except (IndexUnavailableError, RuntimeError, ValueError, OSError, KeyError, TypeError):
        return {}  # nothing to reuse: everything is embedded afresh


def sentence_key(model: str, passage: Passage, start: int, end: int) -> bytes:
    """A sentence's vector depends on its whole passage (it is read in context): keyed by both."""
    return text_key(model, f"{passage.embedding_text}\0{start}:{end}")


def _vectors_by_key(path: Path, model: str, with_sentences: bool) -> dict[bytes, Vectors]:
    passages = read_passages(path)
    vectors = faiss.read_index(str(path / VECTORS_FILE))
    matrix = vectors.reconstruct_n(0, vectors.ntotal)
    known = {text_key(model, p.embedding_text): matrix[row] for row, p in enumerate(passages)}
    if with_sentences:  # made the way this version makes them
        sentences = SentenceIndex.load(path, len(passages))
        for vector, (row, start, end) in zip(sentences.vectors, sentences.spans, strict=True):
            known[sentence_key(model, passages[row], int(start), int(end))] = vector
    return known


@dataclass
class Embedded:
    passages: Vectors  # one row per passage
    sentences: Vectors  # one row per sentence, passage by passage
    rows: list[int]  # the passages that went through the model


def embed_missing(
    passages: Sequence[Passage],
    sentences: Sequence[Sequence[tuple[int, int]]],
    known: dict[bytes, Vectors],
    embedder: Embedder,
    *,
    batch_size: int,
    progress: bool,
    on_progress: ProgressCallback | None,
) -> Embedded:
    """Vectors for every passage and its `sentences` (offsets into its text), running the model
    only on passages whose vectors are not all in `known`."""
    model = embedder.name
    first = np.concatenate([[0], np.cumsum([len(s) for s in sentences])]).astype(np.int64)
    out = Embedded(
        np.empty((len(passages), embedder.dimension), dtype=np.float32),
        np.empty((int(first[-1]), embedder.dimension), dtype=np.float32),
        [],
    )
    for row, passage in enumerate(passages):
        keys = [text_key(model, passage.embedding_text)]
        keys += [sentence_key(model, passage, a, b) for a, b in sentences[row]]
        if not all(key in known for key in keys):
            out.rows.append(row)
            continue
        out.passages[row] = known[keys[0]]
        for at, key in enumerate(keys[1:], start=int(first[row])):
            out.sentences[at] = known[key]
    # Longest first across the whole corpus: batches of like length waste little on padding.
    todo = sorted(out.rows, key=lambda row: -len(passages[row].embedding_text))
    if on_progress:
        on_progress(0, len(todo))
    with tqdm(
        total=len(todo), desc="Embedding", unit="passage", disable=not progress, leave=False
    ) as bar:
        for start in range(0, len(todo), EMBED_CHUNK):
            chunk = todo[start : start + EMBED_CHUNK]
            texts = [passages[r].embedding_text for r in chunk]
            # Sentence offsets into the text the model reads: after the title and headings.
            shifted = [_shift(sentences[r], passages[r]) for r in chunk]
            vectors, pooled = embedder.embed_sentences(texts, shifted, batch_size=batch_size)
            out.passages[chunk] = vectors
            at = 0
            for r in chunk:
                count = len(sentences[r])
                out.sentences[first[r] : first[r] + count] = pooled[at : at + count]
                at += count
            bar.update(len(chunk))
            if on_progress:
                on_progress(start + len(chunk), len(todo))
    return out


def _shift(spans: Sequence[tuple[int, int]], passage: Passage) -> list[tuple[int, int]]:
    offset = len(passage.embedding_text) - len(passage.text)
    return [(a + offset, b + offset) for a, b in spans]


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
    report = ingest_articles(
        corpus.articles,
        index_dir,
        embedder,
        # Absolute: the collection remembers where its articles came from, wherever the
        # command that re-reads them runs (collections.recorded_sources).
        sources=[str(s.resolve()) for s in sources],
        fingerprint=corpus_fingerprint(sources, fmt, embedder.max_tokens),
        source_format=fmt,
        empty_reason=f"no passages found in {', '.join(map(str, sources))} ({reasons})",
        batch_size=batch_size,
        progress=progress,
        on_progress=on_progress,
        started=started,
    )
    return dataclasses.replace(
        report,
        skipped=corpus.skipped,
        warnings=corpus.warnings,
        per_article=corpus.summaries(),
    )


def ingest_articles(
    articles: Sequence[Article],
    index_dir: Path,
    embedder: Embedder,
    *,
    sources: Sequence[str],
    fingerprint: str,
    source_format: str = "auto",  # the --format the sources are read with, for re-indexing
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
    passages = [p for a in articles for p in split_passages(a, embedder.count_tokens, max_tokens)]
    if not passages:
        raise CorpusError(empty_reason)
    per_passage = sentences_of(passages)
    with writer_lock(index_dir):
        remove_abandoned_builds(index_dir)
        embedded = embed_missing(
            passages,
            per_passage,
            stored_vectors(index_dir, embedder),
            embedder,
            batch_size=batch_size,
            progress=progress,
            on_progress=on_progress,
        )
        sentences = SentenceIndex.of(embedded.sentences, span_table(per_passage), len(passages))
        manifest = write_index(
            index_dir,
            passages,
            embedded.passages,
            sentences,
            model=embedder.name,
            sources=list(sources),
            corpus_fingerprint=fingerprint,
            build_seconds=time.perf_counter() - started,
            source_format=source_format,
        )
    return IngestReport(
        manifest=manifest,
        articles=len(articles),
        passages=len(passages),
        embedded=len(embedded.rows),
        seconds=time.perf_counter() - started,
        sentences=len(sentences.spans),
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
