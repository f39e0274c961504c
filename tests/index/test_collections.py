"""Collections remember their sources: nothing a user ingested is dropped or replaced silently."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cultureqa.errors import CorpusError
from cultureqa.index.collections import (
    ensure_index,
    ingest_collection,
    recorded_sources,
    sources_to_read,
)
from cultureqa.index.ingest import ingest
from cultureqa.index.store import current_version, load_index
from tests.helpers import FakeEmbedder, settings_for, write_articles


def article_ids(index_dir: Path) -> set[str]:
    fake = FakeEmbedder()
    index = load_index(index_dir, model=fake.name, dimension=fake.dimension)
    return {p.article_id for p in index.passages}


def test_a_default_collection_built_elsewhere_is_not_replaced_by_the_corpus(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    elsewhere = tmp_path / "factbook"
    write_articles(elsewhere, "factbook", count=2)
    (elsewhere / "only-here.md").write_text("# Only here\n\nA line.\n", encoding="utf-8")
    index_dir = settings.index_dir / "default"
    ingest([elsewhere], index_dir, FakeEmbedder())
    version = current_version(index_dir)
    write_articles(settings.corpus_dir, "seed", count=1)  # ./corpus holds something else
    with caplog.at_level(logging.WARNING, logger="cultureqa"):
        ensure_index(settings, FakeEmbedder())
    assert current_version(index_dir) == version
    assert "only-here" in article_ids(index_dir)
    assert "was built from" in caplog.text and str(elsewhere.resolve()) in caplog.text


def test_re_indexing_keeps_the_articles_ingested_from_elsewhere(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, collections_dir=tmp_path / "collections")
    notes = tmp_path / "course-notes"
    write_articles(notes, "cli", count=2)
    ingest([notes], settings.index_dir / "geo", FakeEmbedder())  # cultureqa ingest --collection
    own = settings.collections_dir / "geo"
    own.mkdir(parents=True)
    (own / "lima.md").write_text("# Lima\n\nCeviche is raw fish.\n", encoding="utf-8")
    assert sources_to_read(settings, "geo") == [own, notes.resolve()]
    ingest_collection(settings, FakeEmbedder(), "geo")
    assert article_ids(settings.index_dir / "geo") == {"city0", "city1", "lima"}
    assert set(recorded_sources(settings, "geo")) == {own.resolve(), notes.resolve()}


def test_a_source_that_is_gone_stops_the_re_index(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, collections_dir=tmp_path / "collections")
    notes = tmp_path / "course-notes"
    write_articles(notes, "cli", count=2)
    ingest([notes], settings.index_dir / "geo", FakeEmbedder())
    version = current_version(settings.index_dir / "geo")
    for path in notes.iterdir():
        path.unlink()
    notes.rmdir()
    with pytest.raises(CorpusError, match="which is gone"):
        ingest_collection(settings, FakeEmbedder(), "geo")
    assert current_version(settings.index_dir / "geo") == version


def test_a_default_collection_read_with_a_format_is_fresh_for_serve(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_articles(settings.corpus_dir, "seed", count=2)
    index_dir = settings.index_dir / "default"
    ingest([settings.corpus_dir], index_dir, FakeEmbedder(), fmt="markdown")
    version = current_version(index_dir)
    ensure_index(settings, FakeEmbedder())  # what `serve` does first
    assert current_version(index_dir) == version  # not rebuilt: same articles, same format
