"""Engines for the question log's database URL: SQLite tuned for one writer thread and many
readers, or PostgreSQL through psycopg 3.

SQLite's Python driver starts transactions lazily and commits DDL on its own, which would make
a migration killed half-way leave half a schema. So the engine takes over: the driver is put in
autocommit mode and every SQLAlchemy transaction emits its own BEGIN (the recipe from
SQLAlchemy's SQLite notes), which makes DDL transactional too. A connection with the execution
option `sqlite_begin_immediate` takes the write lock at BEGIN, so that two processes migrating
at once queue up instead of both reading the old revision.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from cultureqa.errors import StoreUnavailableError

log = logging.getLogger("cultureqa.store")

# How long a writer waits for SQLite's lock held by another process before giving up.
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long a PostgreSQL connection attempt, and one statement, may take: a server that is down
# or stuck must not hold the writer (or a reader on the request path) for ever. TCP keepalives
# notice a server that vanished without closing the connection.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 60_000
_POSTGRES_CONNECT_ARGS = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
BEGIN_IMMEDIATE = "sqlite_begin_immediate"


def normalize_url(url: str) -> URL:
    """The URL as SQLAlchemy should see it: `postgresql://` and `postgres://` mean psycopg 3
    (SQLAlchemy's own default for them is psycopg2, which is not installed)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailableError(
            "CULTUREQA_DATABASE_URL is not a database URL",
            hint="e.g. sqlite:///cultureqa.db or postgresql://user@host/dbname",
        ) from exc
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise StoreUnavailableError(
            f"unsupported database {parsed.get_backend_name()!r} in CULTUREQA_DATABASE_URL",
            hint="use sqlite:///PATH or postgresql://...",
        )
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """The database file of an SQLite URL, None for in-memory databases and other backends."""
    if url.get_backend_name() != "sqlite" or url.database in {None, "", ":memory:"}:
        return None
    return Path(str(url.database))


def make_engine(url: str | URL) -> Engine:
    """An engine for the URL. SQLite files get a fresh connection per checkout (NullPool), so
    a file that was moved away and back, or restored from a backup, is seen as it is now and
    not through a stale handle; PostgreSQL gets a pool that tests connections before use."""
    parsed = normalize_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, poolclass=NullPool)
        _tune_sqlite(engine)
        return engine
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=4,
        connect_args=_POSTGRES_CONNECT_ARGS,
    )


def for_writing(engine: Engine) -> Engine:
    """The engine, with SQLite transactions that take the write lock at BEGIN: a transaction
    that reads before it writes then waits for another process's lock (busy_timeout) instead of
    failing when it tries to upgrade its read lock."""
    return engine.execution_options(**{BEGIN_IMMEDIATE: True})


def create_sqlite_directory(url: URL) -> None:
    """SQLite creates the file but not its directory: make it, once, at start-up (never on a
    reconnect, so a directory that went away is an outage, not a new empty database). A new
    database file is made readable by its owner only, since it holds what people asked
    (SQLite gives its -wal and -shm files the same permissions)."""
    path = sqlite_file(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot make the directory of the question log's database {path}: "
            f"{exc.strerror or exc}",
            hint="check CULTUREQA_DATABASE_URL and the directory's permissions",
        ) from exc


# Turning a file to WAL needs it to itself and SQLite does not wait for that (no busy
# handler): connections opening a new file together retry for up to this long.
WAL_SWITCH_SECONDS = 10.0


def _turn_to_wal(cursor: Any) -> None:
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we BEGIN ourselves (see the module doc)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # WAL: readers never wait for the writer; synchronous=NORMAL is durable across a
        # killed process (only a power cut may lose the last commits). The mode is kept in
        # the file: set once, it is only read here.
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            _turn_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
