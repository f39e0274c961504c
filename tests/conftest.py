"""Shared fixtures: the real model (loaded once), a real seed index on disk, and a fake embedder
for fast tests of logic."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding import Embedder, SentenceTransformerEmbedder, Vectors
from cultureqa.ingest import ingest
from cultureqa.service import load_embedder
from cultureqa.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
SEED_TXT = SHARED / "seed" / "hamhung-culture.txt"
SEED_DEV = SHARED / "eval" / "seed-dev.jsonl"

# The top-level keys of POST /ask's JSON (and of `cultureqa ask --json`): the API's contract,
# written out so that dropping or renaming one fails a test.
ASK_RESPONSE_KEYS = {
    "question",
    "collection",
    "passages",
    "index_version",
    "model",
    "took_ms",
    "answer",
    "confidence",
    "no_answer_reason",
}


def require_shared(path: Path) -> Path:
    """../shared is beside every checkout here and in CI; say so plainly when it is not."""
    if not path.exists():
        pytest.fail(f"{path} is missing: tests read ../shared beside the repository")
    return path


class FakeEmbedder:
    """Bag-of-words vectors from hashed words: similar wording, similar vector. No model."""

    name = "fake-bag-of-words"
    dimension = 64
    max_tokens = 40

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension  # noqa: S324
                out[row, bucket] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


@pytest.fixture
def fake_embedder() -> Embedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The real model on the default backend, as users get it."""
    return load_embedder(Settings())


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    """The real model through sentence-transformers itself."""
    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """The shipped corpus, ingested with the real model into a real index directory, as the
    default collection. Returns the index root (what CULTUREQA_INDEX_DIR names)."""
    index_root = tmp_path_factory.mktemp("seed-index")
    ingest([CORPUS], index_root / "default", real_embedder)
    return index_root


@pytest.fixture
def seed_settings(seed_index: Path) -> Settings:
    return Settings(corpus_dir=CORPUS, index_dir=seed_index)


WIDGET_CORPUS = Path(__file__).resolve().parent / "data" / "widget-corpus"


@pytest.fixture(scope="session")
def places_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hamhung (the seed article), Kyoto (another place, with a section on food), and an
    article whose text is full of markup and `javascript:` links."""
    corpus = tmp_path_factory.mktemp("places-corpus")
    shutil.copy(CORPUS / "hamhung-culture.md", corpus)
    for article in WIDGET_CORPUS.glob("*.md"):
        shutil.copy(article, corpus)
    return corpus


@pytest.fixture(scope="session")
def places_index(
    tmp_path_factory: pytest.TempPathFactory, places_corpus: Path, real_embedder: Embedder
) -> Path:
    index_root = tmp_path_factory.mktemp("places-index")
    ingest([places_corpus], index_root / "default", real_embedder)
    return index_root
