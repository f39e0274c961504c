"""Dense, BM25 and hybrid retrieval over a small index (fake embedder: the logic, not the model)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.index.ingest import ingest
from cultureqa.index.lexical import tokenize
from cultureqa.index.store import load_index
from cultureqa.search.fusion import BM25_FLOOR, FusionWeights, fuse
from cultureqa.search.places import ArticleNames
from cultureqa.search.retrieval import make_retriever

ARTICLES = {
    "ghana.md": (
        "---\nid: gh\ntitle: Ghana\ncountry: Ghana\n---\n# Ghana\n\n## Capital\n"
        "Accra, whose name means ants.\n\n## Religions\nChristian, Muslim, traditional.\n"
    ),
    "guinea.md": (
        "---\nid: gv\ntitle: Guinea\n---\n# Guinea\n\n## Capital\nConakry is the capital city.\n"
    ),
    "png.md": (
        "---\nid: pp\ntitle: Papua New Guinea\n---\n# Papua New Guinea\n\n## Capital\n"
        "Port Moresby is the capital city.\n"
    ),
    "switzerland.md": (
        "---\nid: sz\ntitle: Switzerland\naliases: [Swiss, Helvetia]\n---\n# Switzerland\n\n"
        "## Food\nFondue is melted cheese shared from one pot.\n"
    ),
}


@pytest.fixture
def index_dir(tmp_path: Path, fake_embedder: Embedder) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text)
    ingest([corpus], tmp_path / "idx", fake_embedder)
    return tmp_path / "idx"


def test_names_prefer_the_longest_match(index_dir: Path, fake_embedder: Embedder) -> None:
    index = load_index(index_dir, model=fake_embedder.name, dimension=64)
    names = ArticleNames.from_passages(index.passages)
    assert names.named_articles(tokenize("What is the capital of Papua New Guinea?")) == ["pp"]
    assert names.named_articles(tokenize("What is the capital of Guinea?")) == ["gv"]
    assert names.named_articles(tokenize("What is Ghana's capital?")) == ["gh"]
    assert names.named_articles(tokenize("What is a capital?")) == []
    # An alias names its article as its title does ("Swiss" in front matter's aliases).
    assert names.named_articles(tokenize("What do Swiss people eat?")) == ["sz"]
    assert names.named_articles(tokenize("Food in Helvetia?")) == ["sz"]


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("What is the capital city of Guinea?", "gv"),
        ("What is the capital city of Papua New Guinea?", "pp"),
        ("Which religions are practised in Ghana?", "gh"),
    ],
)
def test_hybrid_puts_the_named_article_first(
    index_dir: Path, fake_embedder: Embedder, question: str, article: str
) -> None:
    index = load_index(index_dir, model=fake_embedder.name, dimension=64)
    hits = make_retriever("default", index).search_vector(
        question, fake_embedder.embed([question]), 3
    )
    assert hits[0].passage.article_id == article
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


@pytest.mark.parametrize("name", ["default", "dense", "bm25"])
def test_every_retriever_ranks_and_scores(
    index_dir: Path, fake_embedder: Embedder, name: str
) -> None:
    index = load_index(index_dir, model=fake_embedder.name, dimension=64)
    question = "Accra ants capital"
    hits = make_retriever(name, index).search_vector(question, fake_embedder.embed([question]), 2)
    assert hits[0].passage.id == "gh#capital"
    assert -1.0 <= hits[0].similarity <= 1.0001


def test_bm25_returns_nothing_for_unknown_words(index_dir: Path, fake_embedder: Embedder) -> None:
    index = load_index(index_dir, model=fake_embedder.name, dimension=64)
    retriever = make_retriever("bm25", index)
    assert retriever.search_vector("zebra", fake_embedder.embed(["zebra"]), 5) == []


def test_unknown_retriever_is_refused(index_dir: Path, fake_embedder: Embedder) -> None:
    index = load_index(index_dir, model=fake_embedder.name, dimension=64)
    with pytest.raises(ValueError, match="unknown retriever"):
        make_retriever("magic", index)


def test_fuse_adds_scaled_bm25_and_the_name_bonus() -> None:
    sims = np.array([0.5, 0.4, 0.4], dtype=np.float32)
    no_sentence = np.full(3, -1.0, dtype=np.float32)
    bm25 = np.array([10.0, 20.0, 0.0], dtype=np.float32)
    named = np.array([False, False, True])
    fused = fuse(sims, no_sentence, bm25, named, FusionWeights(lexical=0.2, name=0.3))
    assert fused == pytest.approx([0.6, 0.6, 0.7])
    # Weak lexical evidence (below the floor) is not blown up to full weight.
    weak = fuse(sims, no_sentence, (bm25 / 10).astype(np.float32), named, FusionWeights(0.2, 0.3))
    assert weak == pytest.approx([0.5 + 0.2 * 1 / BM25_FLOOR, 0.4 + 0.2 * 2 / BM25_FLOOR, 0.7])
    zero = np.zeros(3, dtype=np.float32)
    assert fuse(sims, no_sentence, zero, named, FusionWeights())[0] == pytest.approx(0.5)


def test_fuse_takes_the_better_of_passage_and_best_sentence() -> None:
    sims = np.array([0.5, 0.4], dtype=np.float32)
    sentence = np.array([0.3, 0.7], dtype=np.float32)
    none = np.zeros(2, dtype=np.float32)
    fused = fuse(sims, sentence, none, np.array([False, False]), FusionWeights())
    assert fused == pytest.approx([0.5, 0.7])


def test_lexical_evidence_counts_as_far_as_the_best_match_goes() -> None:
    sims = np.array([0.5, 0.45], dtype=np.float32)
    none = np.full(2, -1.0, dtype=np.float32)
    bm25 = np.array([0.0, 6.6], dtype=np.float32)
    named = np.array([False, False])
    weights = FusionWeights(lexical=0.6, full_match=0.3, name=0.3)
    # The best match scores 6.6 of the 2.2 x 10 = 22 a passage holding every question word
    # could: 0.3 of it, which is trusted fully ...
    full = fuse(sims, none, bm25, named, weights, query_idf=10.0)
    assert full == pytest.approx([0.5, 0.45 + 0.6])
    # ... and a third as well-matched question (IDF 30) trusts it a third as much.
    weak = fuse(sims, none, bm25, named, weights, query_idf=30.0)
    assert weak == pytest.approx([0.5, 0.45 + 0.6 / 3])
