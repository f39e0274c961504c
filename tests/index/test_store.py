"""The index directory: round trip, determinism, atomic versions, refusing bad files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from cultureqa.index.ingest import corpus_fingerprint, ingest, staleness
from cultureqa.index.lexical import LEXICAL_FILES
from cultureqa.index.store import (
    CURRENT_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    PASSAGES_FILE,
    VECTORS_FILE,
    VERSIONS_DIR,
    _passage_from_json,
    _passage_to_json,
    current_version,
    load_index,
)
from tests.helpers import CORPUS, FakeEmbedder


def write_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "seoul.md").write_text(
        "---\nid: seoul\nplace: Seoul\n---\n# Seoul\n\nSeoul is the capital of Korea.\n\n"
        "## Food\n\nKimchi is eaten with every meal.\n\n## Music\n\nPansori is a sung story.\n",
        encoding="utf-8",
    )
    (root / "lima.md").write_text(
        "# Lima\n\nLima sits on the Pacific coast.\n\n## Food\n\nCeviche is raw fish in lime.\n",
        encoding="utf-8",
    )
    return root


def version_path(index_dir: Path) -> Path:
    version = current_version(index_dir)
    assert version
    return index_dir / VERSIONS_DIR / version


def test_round_trip_on_disk(tmp_path: Path, fake_embedder: Embedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    report = ingest([corpus], tmp_path / "idx", fake_embedder)
    assert (report.articles, report.passages) == (2, 5)
    loaded = load_index(
        tmp_path / "idx", model=fake_embedder.name, dimension=fake_embedder.dimension
    )
    manifest = loaded.manifest
    assert manifest.format_version == FORMAT_VERSION
    assert (manifest.model, manifest.dimension) == ("fake-bag-of-words", 64)
    assert (manifest.articles, manifest.passages) == (2, 5)
    assert manifest.corpus_fingerprint == corpus_fingerprint(
        [corpus], "auto", fake_embedder.max_tokens
    )
    assert {p.id for p in loaded.passages} == {
        "lima",
        "lima#food",
        "seoul",
        "seoul#food",
        "seoul#music",
    }
    # The stored vectors are the embeddings of the stored passages, row for row.
    query = fake_embedder.embed([loaded.passages[3].embedding_text])
    scores, rows = loaded.search(query, 1)
    assert rows[0][0] == 3
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)
    on_disk = json.loads((loaded.path / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert on_disk["files"][VECTORS_FILE]["bytes"] == (loaded.path / VECTORS_FILE).stat().st_size


def test_search_asks_for_more_than_there_is(tmp_path: Path, fake_embedder: Embedder) -> None:
    ingest([write_corpus(tmp_path / "c")], tmp_path / "idx", fake_embedder)
    loaded = load_index(tmp_path / "idx", model=fake_embedder.name, dimension=64)
    _, rows = loaded.search(fake_embedder.embed(["food"]), 50)
    assert sorted(rows[0].tolist()) == list(range(5))


@pytest.mark.slow
def test_ingest_twice_gives_the_same_index(tmp_path: Path, real_embedder: Embedder) -> None:
    ingest([CORPUS], tmp_path / "one", real_embedder)
    ingest([CORPUS], tmp_path / "two", real_embedder)
    one, two = version_path(tmp_path / "one"), version_path(tmp_path / "two")
    assert (one / PASSAGES_FILE).read_bytes() == (two / PASSAGES_FILE).read_bytes()
    assert (one / VECTORS_FILE).read_bytes() == (two / VECTORS_FILE).read_bytes()
    a = load_index(tmp_path / "one", model=real_embedder.name, dimension=384)
    b = load_index(tmp_path / "two", model=real_embedder.name, dimension=384)
    assert a.manifest.corpus_fingerprint == b.manifest.corpus_fingerprint
    assert np.array_equal(
        a.vectors.reconstruct_n(0, a.vectors.ntotal), b.vectors.reconstruct_n(0, 6)
    )


def test_new_version_is_published_and_old_ones_pruned(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    corpus = write_corpus(tmp_path / "c")
    versions: list[str] = []
    for _ in range(4):
        ingest([corpus], tmp_path / "idx", fake_embedder)
        versions.append(current_version(tmp_path / "idx") or "")
    assert len(set(versions)) == 4
    kept = sorted(p.name for p in (tmp_path / "idx" / VERSIONS_DIR).iterdir())
    assert kept == sorted(versions[-2:])  # the current one and the one before, for rollback


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError) as caught:
        load_index(tmp_path, model="m", dimension=3)
    assert caught.value.hint and "cultureqa ingest" in caught.value.hint


def test_model_mismatch_is_refused(tmp_path: Path, fake_embedder: Embedder) -> None:
    ingest([write_corpus(tmp_path / "c")], tmp_path / "idx", fake_embedder)
    with pytest.raises(IndexMismatchError, match="built with model 'fake-bag-of-words'"):
        load_index(tmp_path / "idx", model="all-MiniLM-L6-v2", dimension=384)


@pytest.mark.parametrize("victim", [VECTORS_FILE, PASSAGES_FILE, *LEXICAL_FILES])
@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete"])
def test_damaged_files_are_refused(
    tmp_path: Path, fake_embedder: Embedder, victim: str, damage: str
) -> None:
    ingest([write_corpus(tmp_path / "c")], tmp_path / "idx", fake_embedder)
    path = version_path(tmp_path / "idx") / victim
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"garbage" * 100)
    else:
        path.unlink()
    with pytest.raises(IndexCorruptError, match=victim):
        load_index(tmp_path / "idx", model=fake_embedder.name, dimension=64)


def test_pointer_to_missing_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / CURRENT_FILE).write_text("20990101T000000-deadbeef\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="has no manifest"):
        load_index(tmp_path, model="m", dimension=3)


def test_staleness(tmp_path: Path, fake_embedder: Embedder) -> None:
    corpus = write_corpus(tmp_path / "c")
    index_dir = tmp_path / "idx"
    assert "no index" in (staleness(index_dir, [corpus], fake_embedder) or "")
    ingest([corpus], index_dir, fake_embedder)
    assert staleness(index_dir, [corpus], fake_embedder) is None
    (corpus / "lima.md").write_text("# Lima\n\nChanged.\n", encoding="utf-8")
    assert "changed" in (staleness(index_dir, [corpus], fake_embedder) or "")
    ingest([corpus], index_dir, fake_embedder)
    assert staleness(index_dir, [corpus], fake_embedder) is None

    class OtherModel(FakeEmbedder):
        name = "another-model"

    assert "another-model" in (staleness(index_dir, [corpus], OtherModel()) or "")


def test_nothing_to_index_is_an_error(tmp_path: Path, fake_embedder: Embedder) -> None:
    from cultureqa.errors import CorpusError

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "empty.md").write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"no passages found .*empty file"):
        ingest([tmp_path / "c"], tmp_path / "idx", fake_embedder)
    assert not (tmp_path / "idx" / CURRENT_FILE).exists()


def test_passages_of_an_index_built_before_aliases_load_without_them() -> None:
    stored = {
        "id": "a#food",
        "article_id": "a",
        "title": "A",
        "headings": ["Food"],
        "anchor": "food",
        "text": "Rice.",
        "start_line": 3,
        "end_line": 3,
        "source_file": None,
        "source_url": None,
        "place": "A",
        "country": None,
    }
    passage = _passage_from_json(json.dumps(stored))
    assert (passage.headings, passage.aliases) == (("Food",), ())
    again = _passage_from_json(_passage_to_json(replace(passage, aliases=("Ay", "Ayish"))))
    assert again.aliases == ("Ay", "Ayish")
