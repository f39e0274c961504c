"""The re-index job queue in the database (table index_jobs, revision 0003): any replica queues
a job, one builder claims it under a lease, and everyone reads the same status.

A job goes queued → running → succeeded | failed. Claiming is one transaction that picks the
oldest claimable job and marks it running with a lease (`worker`, `lease_expires_at`, and
`attempts`, the claim's number): on PostgreSQL with SELECT ... FOR UPDATE SKIP LOCKED, so
that workers claiming at once take different jobs without waiting for each other; on SQLite
under BEGIN IMMEDIATE, its database-wide write lock, so that claims run one after another.
The UPDATE also checks that `attempts` is still what was read: a claim that lost a race
changes nothing.

The worker holding a job renews its lease (heartbeat) while it runs and records its outcome;
both are fenced by (worker, attempts), so a worker whose lease ran out, and whose job was
claimed again by another, can neither renew nor overwrite it. A worker killed mid-job stops
renewing: once the lease runs out the job is claimable again, up to MAX_ATTEMPTS claims, and
then failed with a message saying so (a job that kills its worker every time must not loop).
A job never runs while another job of the same collection holds a live lease.

Times are the workers' and replicas' clocks, in UTC: leases of a minute tolerate the skew of
machines kept in time by NTP, as Kubernetes nodes are.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from cultureqa.errors import NotFoundError, StoreUnavailableError
from cultureqa.store.database import for_writing
from cultureqa.store.schema import index_jobs

log = logging.getLogger("cultureqa.store")

# A job whose worker died this many times (its lease ran out each time) is failed, not retried.
MAX_ATTEMPTS = 3
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobRecord:
    """One row of index_jobs."""

    id: str
    collection: str
    state: str  # queued, running, succeeded, failed
    created_at: datetime
    requested_by: str | None = None
    worker: str | None = None  # who holds (or last held) the job
    attempts: int = 0  # claims so far; the current claim's number while running
    lease_expires_at: datetime | None = None
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    embedded: int = 0
    to_embed: int | None = None
    summary: str | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None
    version: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> JobRecord:
        values = dict(row)
        values["warnings"] = tuple(values.get("warnings") or ())
        return cls(**values)


@dataclass(frozen=True)
class Outcome:
    """How a job ended: succeeded with a version, or failed with an error."""

    succeeded: bool
    summary: str | None = None
    warnings: Sequence[str] = ()
    version: str | None = None
    error: str | None = None
    embedded: int = 0  # the last progress the build reported
    to_embed: int | None = None


def new_job_id() -> str:
    return f"job-{secrets.token_hex(12)}"


class JobQueue:
    """The job table's operations. Every method is one short transaction and raises
    StoreUnavailableError when the database cannot be reached (or is not migrated yet)."""

    def __init__(self, engine: Engine, *, clock: Clock = _utc_now) -> None:
        self.engine = engine
        self._writing = for_writing(engine)
        self._clock = clock

    @contextmanager
    def _transaction(self, what: str, *, write: bool = True) -> Iterator[Connection]:
        engine = self._writing if write else self.engine
        try:
            with engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
            raise StoreUnavailableError(
                f"could not {what} in the job table: {exc.__class__.__name__}: {first}",
                hint="check CULTUREQA_DATABASE_URL, that the database is up, and that it is "
                "migrated (`cultureqa db upgrade`)",
            ) from exc

    def enqueue(self, collection: str, requested_by: str | None = None) -> JobRecord:
        """Queue a re-index of `collection`. While a job of it is still queued (not started),
        that job is returned instead: it will read the articles as they are when it starts."""
        with self._transaction("queue a job") as connection:
            waiting = connection.execute(
                select(index_jobs)
                .where(index_jobs.c.collection == collection, index_jobs.c.state == "queued")
                .order_by(index_jobs.c.created_at)
                .limit(1)
            ).mappings()
            found = waiting.first()
            if found is not None:
                return JobRecord.from_row(found)
            job = JobRecord(
                id=new_job_id(),
                collection=collection,
                state="queued",
                created_at=self._clock(),
                requested_by=requested_by,
            )
            values = {**job.__dict__, "warnings": []}
            connection.execute(insert(index_jobs).values(**values))
        return job

    def get(self, job_id: str) -> JobRecord:
        """The job as the database has it now; NotFoundError when there is none."""
        with self._transaction("read a job", write=False) as connection:
            row = (
                connection.execute(select(index_jobs).where(index_jobs.c.id == job_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return JobRecord.from_row(row)

    def recent(self, limit: int = 20) -> list[JobRecord]:
        """The newest jobs first."""
        with self._transaction("list jobs", write=False) as connection:
            rows = connection.execute(
                select(index_jobs).order_by(index_jobs.c.created_at.desc()).limit(limit)
            ).mappings()
            return [JobRecord.from_row(row) for row in rows]

    def claim(self, worker: str, lease: float) -> JobRecord | None:
        """Take the oldest claimable job for `worker`, with a lease of `lease` seconds: a
        queued job, or a running one whose lease ran out (its worker died). None when there is
        none. Jobs whose workers died MAX_ATTEMPTS times are failed on the way."""
        now = self._clock()
        with self._transaction("claim a job") as connection:
            self._fail_abandoned(connection, now)
            row = connection.execute(self._claimable(connection, now)).mappings().first()
            if row is None:
                return None
            claimed = connection.execute(
                update(index_jobs)
                .where(index_jobs.c.id == row["id"], index_jobs.c.attempts == row["attempts"])
                .values(
                    state="running",
                    worker=worker,
                    attempts=row["attempts"] + 1,
                    lease_expires_at=now + timedelta(seconds=lease),
                    heartbeat_at=now,
                    started_at=now,
                    embedded=0,
                    to_embed=None,
                )
            )
            if claimed.rowcount != 1:  # pragma: no cover - the row lock rules it out
                return None
            fresh = connection.execute(select(index_jobs).where(index_jobs.c.id == row["id"]))
            return JobRecord.from_row(fresh.mappings().one())

    def _claimable(self, connection: Connection, now: datetime) -> Any:
        jobs = index_jobs.c
        busy = select(jobs.collection).where(jobs.state == "running", jobs.lease_expires_at >= now)
        query = (
            select(index_jobs)
            .where(
                or_(
                    jobs.state == "queued",
                    and_(jobs.state == "running", jobs.lease_expires_at < now),
                ),
                jobs.collection.not_in(busy),
            )
            .order_by(jobs.created_at, jobs.id)
            .limit(1)
        )
        if connection.dialect.name == "postgresql":
            # Rows another worker is claiming are skipped, not waited for.
            query = query.with_for_update(skip_locked=True, of=index_jobs)
        return query

    def _fail_abandoned(self, connection: Connection, now: datetime) -> None:
        abandoned = connection.execute(
            update(index_jobs)
            .where(
                index_jobs.c.state == "running",
                index_jobs.c.lease_expires_at < now,
                index_jobs.c.attempts >= MAX_ATTEMPTS,
            )
            .values(
                state="failed",
                finished_at=now,
                error=f"the builder stopped {MAX_ATTEMPTS} times while running this job "
                "(killed, or out of memory?); not retried",
            )
        )
        if abandoned.rowcount:
            log.warning("failed %d job(s) abandoned %d times", abandoned.rowcount, MAX_ATTEMPTS)

    def _fenced(self, job: JobRecord) -> Any:
        """The WHERE of a write by the worker holding `job`: still its claim, still running."""
        return and_(
            index_jobs.c.id == job.id,
            index_jobs.c.worker == job.worker,
            index_jobs.c.attempts == job.attempts,
            index_jobs.c.state == "running",
        )

    def heartbeat(
        self, job: JobRecord, lease: float, embedded: int = 0, to_embed: int | None = None
    ) -> datetime | None:
        """Renew the lease of the claimed `job` and record its progress. Returns the new
        expiry, or None when the claim is no longer this worker's (its lease ran out and the
        job was claimed again, or failed): the worker must then stop."""
        now = self._clock()
        expires = now + timedelta(seconds=lease)
        with self._transaction("renew a job's lease") as connection:
            renewed = connection.execute(
                update(index_jobs)
                .where(self._fenced(job))
                .values(
                    lease_expires_at=expires,
                    heartbeat_at=now,
                    embedded=embedded,
                    to_embed=to_embed,
                )
            )
        return expires if renewed.rowcount == 1 else None

    def finish(self, job: JobRecord, outcome: Outcome) -> bool:
        """Record how the claimed `job` ended. False when the claim is no longer this
        worker's: nothing is written."""
        values: dict[str, Any] = {
            "state": "succeeded" if outcome.succeeded else "failed",
            "finished_at": self._clock(),
            "lease_expires_at": None,
            "summary": outcome.summary,
            "warnings": list(outcome.warnings),
            "version": outcome.version,
            "error": outcome.error,
            "embedded": outcome.embedded,
            "to_embed": outcome.to_embed,
        }
        with self._transaction("record a job's outcome") as connection:
            done = connection.execute(update(index_jobs).where(self._fenced(job)).values(values))
        return done.rowcount == 1

    def release(self, job: JobRecord) -> bool:
        """Give the claimed `job` back, queued, without counting the claim (a worker that is
        asked to stop mid-job). False when the claim is no longer this worker's."""
        with self._transaction("give a job back") as connection:
            done = connection.execute(
                update(index_jobs)
                .where(self._fenced(job))
                .values(
                    state="queued",
                    worker=None,
                    attempts=job.attempts - 1,
                    lease_expires_at=None,
                    started_at=None,
                    embedded=0,
                    to_embed=None,
                )
            )
        return done.rowcount == 1

    def prune(self, older_than: timedelta) -> int:
        """Delete finished jobs that finished more than `older_than` ago; returns how many."""
        cutoff = self._clock() - older_than
        with self._transaction("prune old jobs") as connection:
            done = connection.execute(
                delete(index_jobs).where(
                    index_jobs.c.state.in_(("succeeded", "failed")),
                    index_jobs.c.finished_at < cutoff,
                )
            )
        return int(done.rowcount)
