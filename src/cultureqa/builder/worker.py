"""Worker: claim re-index jobs from the job table (store/jobs.py), one at a time, build each
collection, and record the outcome; the new version is published in the shared index
directory, where every replica picks it up within CULTUREQA_RELOAD_INTERVAL seconds.

While a job runs, a LeaseKeeper thread renews its lease and writes its progress every
`heartbeat` seconds. The build stops at its next progress step, publishing nothing, when the
lease is lost (the job was claimed again by another worker after this one could not renew it
for a whole lease, e.g. while the database was unreachable) or when the worker is asked to
stop (SIGTERM: the job is then given back, queued, for the next worker). A worker killed
outright leaves its job running with a lease that runs out, and a later claim runs it again.
The index is never broken either way: a version is written aside and made current with one
atomic rename (index/store.py), and a build's leftovers are removed by the next build.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cultureqa.errors import CultureQAError, StoreUnavailableError
from cultureqa.index.ingest import IngestReport, ProgressCallback
from cultureqa.store.jobs import JobQueue, JobRecord, Outcome

log = logging.getLogger("cultureqa")

Build = Callable[[str, ProgressCallback], IngestReport]  # (collection, progress) → report

DEFAULT_LEASE_S = 60.0
DEFAULT_POLL_S = 1.0
KEEP_FINISHED = timedelta(days=30)


class JobInterrupted(Exception):
    """Raised from a build's progress step to stop it: the lease is lost or the worker stops."""


def worker_name() -> str:
    """Who holds a job, as its row says: the host (the pod's name on Kubernetes), the process,
    and a random part, so that a restarted worker never passes for the one before it."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaseKeeper:
    """Renews one claimed job's lease and records its progress, on a thread of its own."""

    def __init__(
        self,
        queue: JobQueue,
        job: JobRecord,
        lease: float,
        heartbeat: float,
        stopping: threading.Event,
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        self._queue, self._job, self._lease, self._every = queue, job, lease, heartbeat
        self._stopping, self._tick = stopping, tick
        self._done = threading.Event()
        self._progress: tuple[int, int | None] = (0, None)
        self._expires = job.lease_expires_at or datetime.now(UTC)
        self.lost: str | None = None  # why the claim is no longer ours
        self._thread = threading.Thread(target=self._run, name="cultureqa-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def reported(self) -> tuple[int, int | None]:
        """The last progress the build reported: (embedded, to_embed)."""
        return self._progress

    def progress(self, done: int, total: int) -> None:
        """The build's progress callback: noted for the next heartbeat; raises JobInterrupted
        when the build must stop."""
        self._progress = (done, total)
        if self.lost is not None:
            raise JobInterrupted(self.lost)
        if self._stopping.is_set():
            raise JobInterrupted("the worker is stopping")

    def _run(self) -> None:
        while not self._done.wait(self._every):
            embedded, to_embed = self._progress
            try:
                expires = self._queue.heartbeat(self._job, self._lease, embedded, to_embed)
            except StoreUnavailableError as exc:
                if datetime.now(UTC) >= self._expires:
                    self.lost = f"the lease ran out while the database was unreachable ({exc})"
                    return
                log.warning("Job %s: could not renew its lease: %s", self._job.id, exc)
                continue
            if expires is None:
                self.lost = "the job was claimed by another worker after this one's lease ran out"
                return
            self._expires = expires
            self._tick()


class Worker:
    """Claims and runs jobs until stopped. `build` turns a collection's articles into a
    published version; `stopping` (set by SIGTERM) ends run() after the current job."""

    def __init__(
        self,
        queue: JobQueue,
        build: Build,
        *,
        name: str | None = None,
        lease: float = DEFAULT_LEASE_S,
        poll: float = DEFAULT_POLL_S,
        stopping: threading.Event | None = None,
    ) -> None:
        self.queue = queue
        self.build = build
        self.name = name or worker_name()
        self.lease = lease
        self.poll = poll
        # Renewing three times a lease leaves room for two missed renewals; at least once a
        # second, so that progress reads fresh.
        self.heartbeat = min(1.0, lease / 3)
        self.stopping = stopping or threading.Event()
        self.last_tick = time.monotonic()  # for the health check: the loop is alive

    def _tick(self) -> None:
        self.last_tick = time.monotonic()

    def run(self, *, once: bool = False) -> int:
        """Run jobs until `stopping` is set (or, with `once`, until none is left); returns
        how many ran. An unreachable database is waited for, logging the outage."""
        ran = 0
        down_since: float | None = None
        while not self.stopping.is_set():
            self._tick()
            try:
                job = self.run_one()
            except StoreUnavailableError as exc:
                if down_since is None:
                    log.warning("Worker: the job table is unreachable, retrying: %s", exc)
                    down_since = time.monotonic()
                self.stopping.wait(self.poll)
                continue
            if down_since is not None:
                log.warning("Worker: the job table is reachable again")
                down_since = None
            if job is not None:
                ran += 1
            elif once:
                break
            else:
                self.stopping.wait(self.poll)
        return ran

    def run_one(self) -> JobRecord | None:
        """Claim one job and run it; the job as it ended (None: nothing to claim)."""
        job = self.queue.claim(self.name, self.lease)
        if job is None:
            return None
        log.info(
            "Job %s: building collection %r (attempt %d)", job.id, job.collection, job.attempts
        )
        started = time.monotonic()
        keeper = LeaseKeeper(
            self.queue, job, self.lease, self.heartbeat, self.stopping, tick=self._tick
        )
        with keeper:
            outcome = self._build(job, keeper)
        if outcome is None:  # interrupted
            if keeper.lost is None and self.queue.release(job):
                log.warning("Job %s: given back, queued, as the worker stops", job.id)
            else:
                log.warning("Job %s: stopped: %s", job.id, keeper.lost or "lease lost")
        elif self.queue.finish(job, outcome):
            took = time.monotonic() - started
            state = "succeeded" if outcome.succeeded else f"failed: {outcome.error}"
            log.info("Job %s: %s in %.1f s", job.id, state, took)
        else:
            log.warning("Job %s: ended after its lease was lost; outcome not recorded", job.id)
        self._prune()
        return self.queue.get(job.id)

    def _build(self, job: JobRecord, keeper: LeaseKeeper) -> Outcome | None:
        try:
            report = self.build(job.collection, keeper.progress)
        except JobInterrupted:
            return None
        except CultureQAError as exc:
            outcome = Outcome(succeeded=False, error=str(exc))
        except Exception as exc:  # a job must end in a state someone can read
            log.exception("Job %s failed", job.id)
            outcome = Outcome(succeeded=False, error=repr(exc))
        else:
            outcome = Outcome(
                succeeded=True,
                summary=report.summary(),
                warnings=[str(warning) for warning in report.warnings],
                version=report.manifest.version,
            )
        embedded, to_embed = keeper.reported
        return replace(outcome, embedded=embedded, to_embed=to_embed)

    def _prune(self) -> None:
        try:
            self.queue.prune(KEEP_FINISHED)
        except StoreUnavailableError as exc:  # next time
            log.debug("Worker: old jobs not pruned: %s", exc)
