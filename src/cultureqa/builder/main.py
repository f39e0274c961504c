"""`cultureqa worker` from start to stop: reach and migrate the database (waiting while it is
down), load the model, build the default collection when it is missing or stale (the replicas
of an external builder never do), then run jobs until SIGTERM."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import Engine

from cultureqa.builder.health import Alive, start_health_server, ticking
from cultureqa.builder.worker import DEFAULT_LEASE_S, DEFAULT_POLL_S, Worker
from cultureqa.embedding.factory import load_embedder
from cultureqa.errors import CorpusError, StoreUnavailableError
from cultureqa.index.collections import ensure_index, ingest_collection
from cultureqa.index.ingest import IngestReport, ProgressCallback
from cultureqa.runtime import apply_threads, ingest_plan
from cultureqa.settings import Settings
from cultureqa.store.database import create_sqlite_directory, make_engine
from cultureqa.store.jobs import JobQueue
from cultureqa.store.migrate import upgrade_database
from cultureqa.store.question_log import database_url_of

log = logging.getLogger("cultureqa")

DATABASE_RETRY_S = 2.0


@dataclass(frozen=True)
class WorkerOptions:
    once: bool = False  # stop when no job is left
    lease: float = DEFAULT_LEASE_S
    poll: float = DEFAULT_POLL_S
    health_host: str = "127.0.0.1"
    health_port: int | None = None  # None: no health check served
    seed_corpus: Path | None = None  # copied to corpus_dir when that does not exist yet


def seed_corpus(source: Path, target: Path) -> bool:
    """Copy the articles in `source` (the image's corpus) to `target` (the default collection's
    folder on the shared volume, where admin uploads land) when `target` does not exist yet:
    once, whole (copied aside, then renamed), and never again, so that articles an admin
    deleted stay deleted. True when it copied."""
    if target.exists():
        return False
    if not source.is_dir():
        raise CorpusError(f"--seed-corpus {source} is not a directory")
    staging = target.with_name(f".{target.name}.seed-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    try:
        staging.rename(target)
    except OSError:  # made meanwhile by someone else: theirs stands
        shutil.rmtree(staging, ignore_errors=True)
        return False
    log.info("Worker: seeded %s with the articles of %s", target, source)
    return True


def wait_for_database(engine: Engine, stopping: threading.Event) -> bool:
    """Migrate the database to this release's schema, retrying while it cannot be reached;
    False when asked to stop first."""
    logged = False
    while not stopping.is_set():
        try:
            upgrade_database(engine)
            return True
        except StoreUnavailableError as exc:
            if not logged:
                log.warning("Worker: waiting for the database: %s", exc)
                logged = True
            stopping.wait(DATABASE_RETRY_S)
    return False


def run_worker(settings: Settings, options: WorkerOptions, stopping: threading.Event) -> int:
    """Run the builder until `stopping` is set (or, with options.once, until the queue is
    empty); returns how many jobs ran."""
    if settings.builder != "external":
        log.warning(
            "CULTUREQA_BUILDER is %r here: servers with that setting run their jobs themselves; "
            "set CULTUREQA_BUILDER=external on the replicas for their jobs to reach this worker",
            settings.builder,
        )
    engine = make_engine(database_url_of(settings))
    create_sqlite_directory(engine.url)
    started: list[Worker] = []
    patience = max(60.0, 2 * options.lease)
    server = _health_server(options, started, patience)
    try:
        if not wait_for_database(engine, stopping):
            return 0
        plan = ingest_plan(settings)
        apply_threads(plan)
        embedder = load_embedder(settings, threads=plan.torch_threads)
        if options.seed_corpus is not None:
            seed_corpus(options.seed_corpus, settings.corpus_dir)
        ensure_index(settings, embedder)

        def build(collection: str, progress: ProgressCallback) -> IngestReport:
            return ingest_collection(settings, embedder, collection, on_progress=progress)

        worker = Worker(
            JobQueue(engine), build, lease=options.lease, poll=options.poll, stopping=stopping
        )
        started.append(worker)
        where = engine.url.render_as_string(hide_password=True)
        log.info("Worker %s: running the re-index jobs queued in %s", worker.name, where)
        ran = worker.run(once=options.once)
        log.info("Worker %s: stopped after %d job(s)", worker.name, ran)
        return ran
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        engine.dispose()


def _health_server(
    options: WorkerOptions, started: list[Worker], patience: float
) -> ThreadingHTTPServer | None:
    if options.health_port is None:
        return None

    def alive() -> tuple[bool, dict[str, object]]:
        if not started:  # loading the model, building the default collection
            return True, {"state": "starting"}
        check: Alive = ticking(lambda: started[0].last_tick, patience)
        return check()

    return start_health_server(options.health_host, options.health_port, alive)
