"""The worker (builder/worker.py) on both databases, with the fake embedder: a job is built and
published once, its progress and outcome recorded; a failure is recorded; a lost lease stops
the build before it publishes; a stopping worker gives its job back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from cultureqa.builder.worker import Build, Worker
from cultureqa.errors import CorpusError
from cultureqa.index.collections import index_dir_of, ingest_collection
from cultureqa.index.ingest import IngestReport, ProgressCallback
from cultureqa.index.store import current_version, kept_versions
from cultureqa.settings import Settings
from cultureqa.store.jobs import JobQueue
from cultureqa.store.schema import index_jobs
from tests.helpers import FakeEmbedder, settings_for, write_articles


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = settings_for(tmp_path, collections_dir=tmp_path / "collections", batch_size=2)
    write_articles(settings.collections_dir / "history", "one", count=4)
    return settings


def builder_of(settings: Settings, calls: list[str] | None = None) -> Build:
    embedder = FakeEmbedder()

    def build(collection: str, progress: ProgressCallback) -> IngestReport:
        if calls is not None:
            calls.append(collection)
        return ingest_collection(settings, embedder, collection, on_progress=progress)

    return build


def test_a_queued_job_is_built_once_published_and_recorded(
    engine: Engine, settings: Settings
) -> None:
    queue = JobQueue(engine)
    calls: list[str] = []
    job = queue.enqueue("history", requested_by="replica-2")

    worker = Worker(queue, builder_of(settings, calls), name="w1", poll=0.05)
    assert worker.run(once=True) == 1
    assert Worker(queue, builder_of(settings, calls), name="w2").run(once=True) == 0

    done = queue.get(job.id)
    assert calls == ["history"]  # built once, by one worker
    assert (done.state, done.worker, done.attempts, done.error) == ("succeeded", "w1", 1, None)
    published = current_version(index_dir_of(settings, "history"))
    assert published is not None and done.version == published
    assert done.summary is not None and "Indexed 4 articles" in done.summary
    assert done.to_embed is not None and done.to_embed > 0  # the progress heartbeats wrote
    assert done.finished_at is not None and done.lease_expires_at is None


def test_a_build_that_fails_is_recorded_with_its_error(engine: Engine, settings: Settings) -> None:
    queue = JobQueue(engine)
    job = queue.enqueue("empty")

    def build(collection: str, progress: ProgressCallback) -> IngestReport:
        raise CorpusError(f"no articles in collection {collection!r}")

    Worker(queue, build, name="w1").run(once=True)

    failed = queue.get(job.id)
    assert (failed.state, failed.version) == ("failed", None)
    assert failed.error == "no articles in collection 'empty'"


def slow_build(settings: Settings, started: threading.Event) -> Build:
    """A build that reports progress every 20 ms for up to 10 s, then builds for real."""
    real = builder_of(settings)

    def build(collection: str, progress: ProgressCallback) -> IngestReport:
        started.set()
        for step in range(500):
            progress(step, 500)
            time.sleep(0.02)
        return real(collection, progress)

    return build


def test_a_worker_that_loses_its_lease_stops_before_publishing(
    engine: Engine, settings: Settings
) -> None:
    queue = JobQueue(engine)
    job = queue.enqueue("history")
    started = threading.Event()
    worker = Worker(queue, slow_build(settings, started), name="w1", lease=0.6)
    thread = threading.Thread(target=worker.run_one)
    thread.start()
    assert started.wait(10)
    with engine.begin() as connection:  # another worker claims it meanwhile
        connection.execute(update(index_jobs).values(worker="w2", attempts=2))
    thread.join(10)

    assert not thread.is_alive()  # stopped at a progress step, well before its 10 s
    seen = queue.get(job.id)
    assert (seen.state, seen.worker, seen.version) == ("running", "w2", None)  # w2's, untouched
    assert kept_versions(index_dir_of(settings, "history")) == []  # nothing published


def test_a_stopping_worker_gives_its_job_back(engine: Engine, settings: Settings) -> None:
    queue = JobQueue(engine)
    job = queue.enqueue("history")
    started = threading.Event()
    stopping = threading.Event()
    worker = Worker(queue, slow_build(settings, started), name="w1", stopping=stopping)
    thread = threading.Thread(target=worker.run)
    thread.start()
    assert started.wait(10)
    stopping.set()  # SIGTERM
    thread.join(10)

    assert not thread.is_alive()
    back = queue.get(job.id)
    assert (back.state, back.worker, back.attempts) == ("queued", None, 0)
    assert current_version(index_dir_of(settings, "history")) is None
    assert Worker(queue, builder_of(settings), name="w2").run(once=True) == 1
    assert queue.get(job.id).state == "succeeded"
