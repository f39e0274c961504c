"""Shared fixtures: the real model (loaded once), a real seed index on disk, and a fake embedder
for fast tests of logic."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cultureqa.embedding.base import Embedder
from cultureqa.embedding.factory import load_embedder
from cultureqa.embedding.torch_backend import SentenceTransformerEmbedder
from cultureqa.http.app import create_app
from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings
from tests.helpers import (
    CORPUS,
    COURSE_KEY,
    OPEN_KEY,
    WIDGET_CORPUS,
    FakeEmbedder,
    keep_data_in,
    publish,
    settings_for,
    write_articles,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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


AppClient = Callable[..., TestClient]


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[AppClient]:
    """Start apps for this test: `app_client(settings, embedder=...)`, or
    `app_client(**overrides)` for settings_for(tmp_path, **overrides). Returns a TestClient
    whose lifespan has run (model and indexes loaded); each is closed after the test. The
    embedder defaults to the fake one; `client` sets the peer address the app sees, and
    `build_missing_index` is create_app's."""
    with ExitStack() as stack:

        def start(
            settings: Settings | None = None,
            *,
            embedder: Embedder | None = None,
            build_missing_index: bool = False,
            client: tuple[str, int] = ("testclient", 50000),
            **overrides: object,
        ) -> TestClient:
            if settings is None:
                settings = settings_for(tmp_path, **overrides)
            elif overrides:
                settings = settings.model_copy(update=overrides)
            settings = keep_data_in(settings, tmp_path)
            app = create_app(
                settings,
                embedder=embedder or FakeEmbedder(),
                build_missing_index=build_missing_index,
            )
            return stack.enter_context(TestClient(app, client=client))

        yield start


@pytest.fixture
def scoped(tmp_path: Path, app_client: AppClient) -> TestClient:
    """Key mode with a key for the collection 'course' only (COURSE_KEY), and one for every
    collection (OPEN_KEY); the default collection and 'course' both published."""
    settings = settings_for(
        tmp_path,
        collections_dir=tmp_path / "collections",
        api_keys=[OPEN_KEY],
        collection_keys={"course": [COURSE_KEY]},
    )
    publish(settings, FakeEmbedder(), "one")
    write_articles(settings.collections_dir / "course", "course")
    ingest([settings.collections_dir / "course"], settings.index_dir / "course", FakeEmbedder())
    return app_client(settings)


@pytest.fixture(scope="module")
def module_app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    """app_client for module-scoped fixtures: one app over the real model for a module's tests."""
    with ExitStack() as stack:
        data = tmp_path_factory.mktemp("app-data")

        def start(settings: Settings, *, embedder: Embedder | None = None) -> TestClient:
            settings = keep_data_in(settings, data)
            app = create_app(settings, embedder=embedder or FakeEmbedder())
            return stack.enter_context(TestClient(app))

        yield start
