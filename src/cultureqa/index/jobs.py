"""Re-index jobs run in the background, one at a time, with progress anyone can read."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from cultureqa.errors import CultureQAError, NotFoundError
from cultureqa.index.ingest import IngestReport, ProgressCallback

log = logging.getLogger("cultureqa")

Work = Callable[[ProgressCallback], IngestReport]

KEEP_FINISHED_JOBS = 100


@dataclass(frozen=True)
class Job:
    id: str
    collection: str
    state: str = "queued"  # queued → running → succeeded | failed
    embedded: int = 0  # passages embedded so far
    to_embed: int | None = None  # passages to embed, once known
    summary: str | None = None
    warnings: tuple[str, ...] = ()  # about articles read all the same (IngestReport.warnings)
    error: str | None = None
    version: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None


class JobRunner:
    """A single worker thread: builds run one after another, never two at once."""

    def __init__(self, on_success: Callable[[str], None]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cultureqa-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._on_success = on_success

    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)  # type: ignore[arg-type]

    def submit(self, collection: str, work: Work) -> Job:
        with self._lock:
            job = Job(id=f"job-{next(self._ids)}-{int(time.time())}", collection=collection)
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job.id, work)
        return job

    def _run(self, job_id: str, work: Work) -> None:
        self._update(job_id, state="running")

        def progress(done: int, total: int) -> None:
            self._update(job_id, embedded=done, to_embed=total)

        try:
            report = work(progress)
        except CultureQAError as exc:
            self._update(job_id, state="failed", error=str(exc), finished_at=time.time())
            return
        except Exception as exc:  # a job must end in a state someone can read
            log.exception("Job %s failed", job_id)
            self._update(job_id, state="failed", error=repr(exc), finished_at=time.time())
            return
        job = self.get(job_id)
        self._update(
            job_id,
            state="succeeded",
            summary=report.summary(),
            warnings=tuple(str(w) for w in report.warnings),
            version=report.manifest.version,
            finished_at=time.time(),
        )
        self._on_success(job.collection)

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r}")
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished_at is not None]
        for job in sorted(finished, key=lambda j: j.created_at)[:-KEEP_FINISHED_JOBS]:
            del self._jobs[job.id]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
