"""Two real `cultureqa worker` processes on one PostgreSQL job table: every job is built by
exactly one of them, once, and they share the work."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from cultureqa.store.database import make_engine
from cultureqa.store.jobs import JobQueue
from tests.builder.processes import READY_LINE, shared_env, start_worker, wait_until
from tests.helpers import write_articles

pytestmark = pytest.mark.slow

COLLECTIONS = [f"course-{n}" for n in range(6)]


@pytest.fixture
def queue(database_url: URL) -> Iterator[JobQueue]:
    queue = JobQueue(make_engine(database_url))
    yield queue
    queue.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_workers_build_every_job_exactly_once(
    tmp_path: Path, database_url: URL, queue: JobQueue
) -> None:
    data = tmp_path / "data"
    write_articles(data / "corpus", "default", count=1)
    for name in COLLECTIONS:
        write_articles(data / "collections" / name, name, count=20)
    env = shared_env(data, database_url.render_as_string(hide_password=False))
    workers = [start_worker(env, tmp_path / f"worker{n}.log", "--poll", "0.1") for n in range(2)]
    try:
        for worker in workers:
            worker.wait_for(READY_LINE)
        jobs = [queue.enqueue(name).id for name in COLLECTIONS]
        wait_until(lambda: all(queue.get(j).state == "succeeded" for j in jobs), 180, 0.2)
    finally:
        for worker in workers:
            worker.stop()

    built = Counter(
        match
        for worker in workers
        for match in re.findall(r"Job (job-\w+): building", worker.log())
    )
    assert built == Counter(jobs)  # each job once, by one worker
    assert {queue.get(j).attempts for j in jobs} == {1}
    holders = {queue.get(j).worker for j in jobs}
    assert len(holders) == 2, holders  # both took jobs
