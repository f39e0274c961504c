"""The admin API with CULTUREQA_BUILDER=external, on SQLite and PostgreSQL: two apps (two
replicas) on one database and one data directory; a re-index is a row of the job table that no
replica runs, the worker does, and both replicas read the same job and serve its version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL

from cultureqa.builder.worker import Worker
from cultureqa.errors import StoreUnavailableError
from cultureqa.index.collections import ingest_collection
from cultureqa.index.ingest import IngestReport, ProgressCallback
from cultureqa.index.store import current_version
from cultureqa.settings import Settings
from cultureqa.store.database import make_engine
from cultureqa.store.jobs import JobQueue
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish

KEY = "k" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
ARTICLE = b"---\nid: lima\n---\n# Lima\n\nCeviche is raw fish cured in lime juice.\n"


@pytest.fixture
def settings(tmp_path: Path, database_url: URL) -> Settings:
    return Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "indexes",
        collections_dir=tmp_path / "collections",
        feedback_path=tmp_path / "feedback.jsonl",
        reload_interval=0.05,
        admin_keys=[KEY],
        builder="external",
        database_url=database_url.render_as_string(hide_password=False),
    )


def ready_queue(settings: Settings) -> JobQueue:
    """The job table, once a replica's question log has migrated the database."""
    assert settings.database_url is not None
    queue = JobQueue(make_engine(settings.database_url.get_secret_value()))
    deadline = time.monotonic() + 30
    while True:
        try:
            queue.recent()
            return queue
        except StoreUnavailableError:  # not migrated yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_reindex_on_one_replica_is_run_by_the_worker_and_read_by_both(
    settings: Settings, app_client: AppClient
) -> None:
    publish(settings, FakeEmbedder(), "one")
    replicas: list[TestClient] = [app_client(settings), app_client(settings)]
    queue = ready_queue(settings)
    stored = replicas[0].put(
        "/admin/collections/course/articles/lima.md", content=ARTICLE, headers=AUTH
    )
    assert stored.status_code == 201
    assert (settings.collections_dir / "course" / "lima.md").read_bytes() == ARTICLE

    queued = replicas[1].post("/admin/collections/course/reindex", headers=AUTH)
    again = replicas[0].post("/admin/collections/course/reindex", headers=AUTH)

    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    assert (queued.json()["attempts"], queued.json()["worker"]) == (0, None)
    assert again.json()["id"] == queued.json()["id"]  # still queued: the same job
    time.sleep(0.3)  # no replica builds it
    job_id = queued.json()["id"]
    assert replicas[0].get(f"/admin/jobs/{job_id}", headers=AUTH).json()["state"] == "queued"
    assert current_version(settings.index_dir / "course") is None

    embedder = FakeEmbedder()

    def build(collection: str, progress: ProgressCallback) -> IngestReport:
        return ingest_collection(settings, embedder, collection, on_progress=progress)

    assert Worker(queue, build, name="builder-1").run(once=True) == 1
    seen = [r.get(f"/admin/jobs/{job_id}", headers=AUTH).json() for r in replicas]
    assert seen[0] == seen[1]
    assert seen[0]["state"] == "succeeded" and (seen[0]["embedded"], seen[0]["to_embed"]) == (1, 1)
    assert (seen[0]["attempts"], seen[0]["worker"]) == (1, "builder-1")
    assert seen[0]["version"] == current_version(settings.index_dir / "course")
    deadline = time.monotonic() + 5
    for replica in replicas:  # each picks the version up by itself
        while True:
            answer = replica.post("/ask", json={"question": "ceviche", "collection": "course"})
            if answer.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert answer.json()["index_version"] == seen[0]["version"]
    assert replicas[1].get("/admin/jobs/job-none", headers=AUTH).status_code == 404
    queue.engine.dispose()
