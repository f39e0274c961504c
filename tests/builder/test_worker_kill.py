"""A real `cultureqa worker` SIGKILLed in the middle of a job, with the real model: the index
keeps serving its last version, whole; once the dead worker's lease runs out another worker
claims the job again, runs it to the end, and publishes."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from cultureqa.embedding.factory import load_embedder
from cultureqa.index.store import VERSIONS_DIR, current_version, load_index
from cultureqa.settings import Settings
from cultureqa.store.database import make_engine
from cultureqa.store.jobs import JobQueue
from tests.builder.processes import READY_LINE, shared_env, start_worker, wait_until
from tests.helpers import write_articles

pytestmark = pytest.mark.slow

LEASE = "3"  # seconds: the second worker claims the dead one's job this soon
NEW_ARTICLES = 150


def embedding(queue: JobQueue, job_id: str) -> bool:
    return queue.get(job_id).to_embed is not None


@pytest.fixture
def queue(database_url: URL) -> Iterator[JobQueue]:
    queue = JobQueue(make_engine(database_url))
    yield queue
    queue.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_worker_killed_mid_job_leaves_the_index_whole_and_the_job_to_the_next(
    tmp_path: Path, database_url: URL, queue: JobQueue
) -> None:
    data = tmp_path / "data"
    write_articles(data / "corpus", "default", count=2)
    big = data / "collections" / "big"
    write_articles(big, "first", count=2)
    url = database_url.render_as_string(hide_password=False)
    env = shared_env(data, url)
    index_dir = data / "indexes" / "big"

    first = start_worker(env, tmp_path / "first.log", "--lease", LEASE)
    try:
        first.wait_for(READY_LINE)
        done = queue.enqueue("big")
        wait_until(lambda: queue.get(done.id).state == "succeeded", 120)
        served = current_version(index_dir)
        assert served is not None
        # Many new articles: the next build embeds for several seconds.
        for n in range(NEW_ARTICLES):
            (big / f"more{n}.md").write_text(
                f"# Town {n}\n\n" + f"Town {n} has a market and a river. " * 12 + "\n\n"
                "## Songs\n\n" + f"Town {n} sings songs of the river. " * 12 + "\n",
                encoding="utf-8",
            )
        job = queue.enqueue("big")
        # Killed once it is embedding: its first progress step is in the job's row.
        wait_until(lambda: embedding(queue, job.id) or first.process.poll() is not None, 120)
        assert queue.get(job.id).state == "running", first.log()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    finally:
        first.stop()

    dead = queue.get(job.id)
    assert (dead.state, dead.attempts) == ("running", 1)
    assert current_version(index_dir) == served  # the last version, still current
    embedder = load_embedder(Settings())
    whole = load_index(index_dir, model=embedder.name, dimension=embedder.dimension)
    assert whole.manifest.version == served  # and whole: manifest and checksums verified

    second = start_worker(env, tmp_path / "second.log", "--lease", LEASE)
    try:
        wait_until(lambda: queue.get(job.id).state in {"succeeded", "failed"}, 240, 0.2)
    finally:
        second.stop()
    finished = queue.get(job.id)
    assert (finished.state, finished.attempts) == ("succeeded", 2), finished.error
    assert finished.worker != dead.worker
    assert current_version(index_dir) == finished.version != served
    rebuilt = load_index(index_dir, model=embedder.name, dimension=embedder.dimension)
    assert rebuilt.manifest.articles == 2 + NEW_ARTICLES
    # The dead build's staging directory is gone: removed by the next build.
    assert [p.name for p in (index_dir / VERSIONS_DIR).iterdir() if p.name.startswith(".")] == []
    assert f"Job {job.id}: building collection 'big' (attempt 2)" in second.log()
