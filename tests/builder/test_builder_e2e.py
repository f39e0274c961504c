"""One builder, many readers, for real: three `cultureqa serve` replicas on loopback ports and
one `cultureqa worker`, sharing a PostgreSQL database and a data directory, the real model.

An admin upload sent to replica 1 and a re-index requested on replica 2: the worker runs the job
once; all three replicas serve the new version within 10 s of it; the job's status reads the
same from each replica."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from cultureqa.index.store import current_version
from cultureqa.testing import ServerProcess, free_port, start_serve, wait_ready
from tests.builder.processes import (
    ADMIN_KEY,
    READY_LINE,
    WorkerProcess,
    shared_env,
    start_worker,
    wait_until,
)
from tests.helpers import write_articles

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
NEW_ARTICLE = (
    "# Zanzibar Lanterns\n\nThe lantern festival of Zanzibar fills the old town with paper "
    "lanterns every August.\n"
)
QUESTION = {"question": "When is the lantern festival of Zanzibar?", "top_k": 1}
SWITCH_SECONDS = 10.0


@pytest.fixture
def deployment(
    tmp_path: Path, database_url: URL
) -> Iterator[tuple[WorkerProcess, list[ServerProcess]]]:
    data = tmp_path / "data"
    write_articles(data / "corpus", "one", count=3)
    env = shared_env(data, database_url.render_as_string(hide_password=False))
    with ExitStack() as stack:
        health = free_port()
        worker = start_worker(
            env, tmp_path / "worker.log", "--lease", "10", "--health-port", str(health)
        )
        worker.health_url = f"http://127.0.0.1:{health}/health"
        stack.callback(worker.stop)
        worker.wait_for(READY_LINE)  # migrated, the default collection built
        assert current_version(data / "indexes" / "default") is not None
        replicas = []
        for n in range(3):
            (tmp_path / f"replica{n + 1}").mkdir()
            log = tmp_path / f"replica{n + 1}" / "server.log"
            replica = start_serve([], log, cwd=tmp_path, env=env)
            stack.callback(replica.stop)
            replicas.append(replica)
        for replica in replicas:
            wait_ready(replica, timeout=240)
        yield worker, replicas


def served_version(client: httpx.Client, replica: ServerProcess) -> str:
    answer = client.post(f"{replica.url}/ask", json=QUESTION)
    assert answer.status_code == 200, answer.text
    version: str = answer.json()["index_version"]
    return version


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_upload_on_one_replica_and_a_reindex_on_another_reach_all_three(
    deployment: tuple[WorkerProcess, list[ServerProcess]],
) -> None:
    worker, replicas = deployment
    with httpx.Client(timeout=30) as client:
        before = {served_version(client, replica) for replica in replicas}
        assert len(before) == 1  # one published version, served by all

        stored = client.put(
            f"{replicas[0].url}/admin/collections/default/articles/zanzibar.md",
            content=NEW_ARTICLE.encode(),
            headers=ADMIN,
        )
        assert stored.status_code == 201, stored.text
        requested_at = time.monotonic()
        queued = client.post(f"{replicas[1].url}/admin/collections/default/reindex", headers=ADMIN)
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]

        def status(replica: ServerProcess) -> dict[str, Any]:
            got = client.get(f"{replica.url}/admin/jobs/{job_id}", headers=ADMIN)
            assert got.status_code == 200, got.text
            body: dict[str, Any] = got.json()
            return body

        wait_until(lambda: status(replicas[2])["state"] in {"succeeded", "failed"}, 120, 0.1)
        succeeded_at = time.monotonic()
        job = status(replicas[2])
        assert job["state"] == "succeeded", job
        new = job["version"]
        assert new not in before

        pending = set(range(3))

        def all_switched() -> bool:
            pending.difference_update(
                {n for n in pending if served_version(client, replicas[n]) == new}
            )
            return not pending

        wait_until(all_switched, SWITCH_SECONDS, 0.1)
        switched_after = time.monotonic() - succeeded_at
        since_request = time.monotonic() - requested_at
        statuses = [status(replica) for replica in replicas]
        assert worker.health_url is not None
        health = client.get(worker.health_url)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        answer = client.post(f"{replicas[2].url}/ask", json=QUESTION).json()

    assert switched_after < SWITCH_SECONDS
    assert statuses == [statuses[0]] * 3  # the same row, whichever replica reads it
    assert statuses[0]["id"] == job_id and statuses[0]["version"] == new
    assert "Zanzibar" in answer["passages"][0]["text"]
    assert worker.log().count(f"Job {job_id}: building") == 1  # run once
    assert f"Job {job_id}: succeeded" in worker.log()
    print(  # the figures, with -s
        f"\nall 3 replicas served {new} {switched_after:.2f} s after the job succeeded "
        f"({since_request:.2f} s after the re-index request); "
        f"job: {statuses[0]['summary']}"
    )
