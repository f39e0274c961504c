"""`cultureqa worker --seed-corpus`: the image's articles copied to the shared volume once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cultureqa.builder.main import seed_corpus
from cultureqa.errors import CorpusError
from tests.helpers import write_articles


def test_the_corpus_is_seeded_once_and_deletions_stay(tmp_path: Path) -> None:
    image = tmp_path / "image-corpus"
    write_articles(image, "one", count=2)
    shared = tmp_path / "data" / "corpus"
    shared.parent.mkdir()

    assert seed_corpus(image, shared)
    assert sorted(p.name for p in shared.iterdir()) == ["city0.md", "city1.md"]
    (shared / "city0.md").unlink()  # an admin deletes an article
    assert not seed_corpus(image, shared)
    assert sorted(p.name for p in shared.iterdir()) == ["city1.md"]
    assert [p.name for p in shared.parent.iterdir()] == ["corpus"]  # nothing left aside


def test_a_missing_seed_is_an_error_saying_which(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="nowhere"):
        seed_corpus(tmp_path / "nowhere", tmp_path / "corpus")
