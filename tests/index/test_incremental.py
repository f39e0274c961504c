"""Re-ingest embeds only what changed: unchanged passages keep their stored vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.index.ingest import ingest
from cultureqa.index.store import load_index
from tests.helpers import CORPUS, FakeEmbedder
from tests.index.test_store import write_corpus


class CountingEmbedder(FakeEmbedder):
    """Remembers every text it was asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        self.seen.extend(texts)
        return super().embed(texts)


def test_unchanged_corpus_embeds_nothing(tmp_path: Path) -> None:
    corpus, index_dir, embedder = write_corpus(tmp_path / "c"), tmp_path / "idx", CountingEmbedder()
    first = ingest([corpus], index_dir, embedder)
    assert (first.embedded, first.reused) == (5, 0)
    embedder.seen.clear()
    again = ingest([corpus], index_dir, embedder)
    assert (again.embedded, again.reused) == (0, 5)
    assert embedder.seen == []
    assert "(0 embedded, 5 reused)" in again.summary()


def test_changing_one_article_re_embeds_only_its_changed_passages(tmp_path: Path) -> None:
    corpus, index_dir, embedder = write_corpus(tmp_path / "c"), tmp_path / "idx", CountingEmbedder()
    ingest([corpus], index_dir, embedder)
    embedder.seen.clear()
    lima = corpus / "lima.md"
    lima.write_text(lima.read_text().replace("raw fish in lime", "raw fish in lime juice"))
    report = ingest([corpus], index_dir, embedder)
    assert report.embedded == 1
    assert len(embedder.seen) == 1
    assert "lime juice" in embedder.seen[0]
    loaded = load_index(index_dir, model=embedder.name, dimension=embedder.dimension)
    # Every stored vector is still the embedding of its passage, reused or new.
    expected = FakeEmbedder().embed([p.embedding_text for p in loaded.passages])
    assert np.allclose(loaded.vectors.reconstruct_n(0, loaded.vectors.ntotal), expected)


def test_deleted_article_disappears(tmp_path: Path, fake_embedder: Embedder) -> None:
    corpus, index_dir = write_corpus(tmp_path / "c"), tmp_path / "idx"
    ingest([corpus], index_dir, fake_embedder)
    (corpus / "lima.md").unlink()
    report = ingest([corpus], index_dir, fake_embedder)
    assert (report.articles, report.passages, report.embedded) == (1, 3, 0)
    loaded = load_index(index_dir, model=fake_embedder.name, dimension=fake_embedder.dimension)
    assert {p.article_id for p in loaded.passages} == {"seoul"}


def test_vectors_of_another_model_are_not_reused(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c")
    ingest([corpus], tmp_path / "idx", FakeEmbedder())

    class Other(CountingEmbedder):
        name = "other-model"

    other = Other()
    assert ingest([corpus], tmp_path / "idx", other).embedded == 5


@pytest.mark.slow
def test_real_model_reingest_reuses_identical_vectors(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    first = ingest([CORPUS], tmp_path / "idx", real_embedder)
    before = load_index(tmp_path / "idx", model=real_embedder.name, dimension=384)
    again = ingest([CORPUS], tmp_path / "idx", real_embedder)
    after = load_index(tmp_path / "idx", model=real_embedder.name, dimension=384)
    assert (first.embedded, again.embedded, again.reused) == (6, 0, 6)
    assert after.manifest.version != before.manifest.version
    assert np.array_equal(before.vectors.reconstruct_n(0, 6), after.vectors.reconstruct_n(0, 6))
