"""The re-index job queue (store/jobs.py) on SQLite and PostgreSQL: queueing, claiming, the
lease and its fencing, exactly-once claims under contention, and the status everyone reads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from cultureqa.errors import NotFoundError, StoreUnavailableError
from cultureqa.store.database import make_engine
from cultureqa.store.jobs import MAX_ATTEMPTS, JobQueue, Outcome

LEASE = 60.0


class Clock:
    """A clock the test moves: leases run out when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(engine: Engine, clock: Clock) -> JobQueue:
    return JobQueue(engine, clock=clock)


def test_a_queued_job_reads_back_the_same_from_another_connection(
    queue: JobQueue, engine: Engine
) -> None:
    job = queue.enqueue("history", requested_by="replica-1")

    other = JobQueue(engine).get(job.id)
    assert other == job
    assert (other.state, other.collection, other.requested_by) == ("queued", "history", "replica-1")
    assert other.attempts == 0 and other.worker is None
    with pytest.raises(NotFoundError):
        queue.get("job-none")


def test_a_second_request_while_one_is_queued_returns_that_job(
    queue: JobQueue, clock: Clock
) -> None:
    first = queue.enqueue("history")
    clock.advance(1)
    assert queue.enqueue("history").id == first.id
    assert queue.enqueue("geography").id != first.id
    running = queue.claim("w1", LEASE)  # history runs: a new request is a new job
    assert running is not None and running.id == first.id
    assert queue.enqueue("history").id != first.id


def test_claims_take_the_oldest_job_once(queue: JobQueue, clock: Clock) -> None:
    older = queue.enqueue("a")
    clock.advance(1)
    newer = queue.enqueue("b")

    first = queue.claim("w1", LEASE)
    second = queue.claim("w2", LEASE)

    assert first is not None and second is not None
    assert (first.id, first.worker, first.attempts, first.state) == (older.id, "w1", 1, "running")
    assert first.lease_expires_at == clock.now + timedelta(seconds=LEASE)
    assert (second.id, second.worker) == (newer.id, "w2")
    assert queue.claim("w3", LEASE) is None


def test_a_job_of_a_collection_being_built_waits_for_it(queue: JobQueue, clock: Clock) -> None:
    queue.enqueue("a")
    running = queue.claim("w1", LEASE)
    waiting = queue.enqueue("a")

    assert queue.claim("w2", LEASE) is None  # never two builds of one collection at once
    assert running is not None and queue.finish(running, Outcome(succeeded=True, version="v2"))
    claimed = queue.claim("w2", LEASE)
    assert claimed is not None and claimed.id == waiting.id


def test_heartbeats_renew_the_lease_and_record_progress(queue: JobQueue, clock: Clock) -> None:
    queue.enqueue("a")
    job = queue.claim("w1", LEASE)
    assert job is not None

    clock.advance(LEASE * 0.9)
    expires = queue.heartbeat(job, LEASE, embedded=40, to_embed=100)
    clock.advance(LEASE * 0.9)  # past the first lease, within the renewed one

    assert expires == clock.now + timedelta(seconds=LEASE * 0.1)
    assert queue.claim("w2", LEASE) is None
    seen = queue.get(job.id)
    assert (seen.embedded, seen.to_embed, seen.state, seen.worker) == (40, 100, "running", "w1")


def test_a_dead_worker_s_job_is_claimed_again_and_the_dead_claim_is_fenced_off(
    queue: JobQueue, clock: Clock
) -> None:
    queue.enqueue("a")
    dead = queue.claim("w1", LEASE)
    assert dead is not None
    clock.advance(LEASE - 1)
    assert queue.claim("w2", LEASE) is None  # not before its lease runs out
    clock.advance(2)

    again = queue.claim("w2", LEASE)

    assert again is not None and (again.id, again.worker, again.attempts) == (dead.id, "w2", 2)
    # The first worker, back from a pause, can neither renew, finish nor give it back.
    assert queue.heartbeat(dead, LEASE) is None
    assert not queue.finish(dead, Outcome(succeeded=False, error="late"))
    assert not queue.release(dead)
    assert queue.finish(again, Outcome(succeeded=True, summary="built", version="v9"))
    done = queue.get(dead.id)
    assert (done.state, done.version, done.error, done.worker) == ("succeeded", "v9", None, "w2")


def test_a_job_that_kills_its_worker_every_time_is_failed_after_the_last_attempt(
    queue: JobQueue, clock: Clock
) -> None:
    job = queue.enqueue("a")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = queue.claim(f"w{attempt}", LEASE)
        assert claimed is not None and claimed.attempts == attempt
        clock.advance(LEASE + 1)  # and the worker dies

    assert queue.claim("w-last", LEASE) is None
    failed = queue.get(job.id)
    assert failed.state == "failed"
    assert failed.error is not None and f"{MAX_ATTEMPTS} times" in failed.error
    assert failed.finished_at == clock.now


def test_a_released_job_is_queued_again_without_counting_the_claim(queue: JobQueue) -> None:
    queue.enqueue("a")
    job = queue.claim("w1", LEASE)
    assert job is not None and queue.release(job)

    back = queue.get(job.id)
    assert (back.state, back.worker, back.attempts) == ("queued", None, 0)
    again = queue.claim("w2", LEASE)
    assert again is not None and (again.id, again.attempts) == (job.id, 1)


def test_a_failure_keeps_its_error_and_warnings_read_back(queue: JobQueue) -> None:
    queue.enqueue("a")
    job = queue.claim("w1", LEASE)
    assert job is not None
    assert queue.finish(job, Outcome(succeeded=False, error="bad file", warnings=["x.md: odd"]))
    failed = queue.get(job.id)
    assert (failed.state, failed.error, failed.warnings) == ("failed", "bad file", ("x.md: odd",))
    assert queue.recent()[0].id == job.id


def test_old_finished_jobs_are_pruned_and_the_others_kept(queue: JobQueue, clock: Clock) -> None:
    queue.enqueue("a")
    old = queue.claim("w1", LEASE)
    assert old is not None and queue.finish(old, Outcome(succeeded=True))
    clock.advance(40 * 86_400)
    waiting = queue.enqueue("a")

    assert queue.prune(timedelta(days=30)) == 1
    assert [job.id for job in queue.recent()] == [waiting.id]


def test_concurrent_workers_claim_every_job_exactly_once(database_url: URL, engine: Engine) -> None:
    """Eight workers, each on its own engine (connections of their own), race for 30 jobs of
    30 collections: every job is claimed once, none twice, none left."""
    jobs = {JobQueue(engine).enqueue(f"c{i}").id for i in range(30)}
    claims: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(name: str) -> None:
        queue = JobQueue(make_engine(database_url))
        try:
            start.wait()
            while (job := queue.claim(name, LEASE)) is not None:
                claims.append((job.id, name))
                time.sleep(0.02)  # "building": the others claim meanwhile
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            queue.engine.dispose()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert Counter(job for job, _ in claims) == Counter(jobs)  # each once
    assert len({worker for _, worker in claims}) > 1  # they did run side by side


def test_an_unmigrated_database_is_an_outage_saying_what_to_do(empty_engine: Engine) -> None:
    with pytest.raises(StoreUnavailableError) as raised:
        JobQueue(empty_engine).enqueue("a")
    assert "job table" in raised.value.message
    assert raised.value.hint is not None and "db upgrade" in raised.value.hint
