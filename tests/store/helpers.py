"""What the store's tests share: reading tables back, a started log on an engine, and an
outage of the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, select, text

from cultureqa.store import schema
from cultureqa.store.privacy import PrivacyPolicy, QuestionLogMode
from cultureqa.store.question_log import QuestionLog
from cultureqa.store.records import AskRecord

CLIENT = "203.0.113.7"  # TEST-NET-3: an address that is no one's


def rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table)).mappings()]


def every_value(engine: Engine) -> list[object]:
    """Every value in every table of the question log, for 'is X stored anywhere'."""
    return [
        value
        for table in schema.metadata.sorted_tables
        for row in rows(engine, table)
        for value in row.values()
    ]


def open_log(engine: Engine, mode: QuestionLogMode = "anonymous", **options: Any) -> QuestionLog:
    return QuestionLog(engine, PrivacyPolicy(default=mode), **options)


def an_ask(**fields: Any) -> AskRecord:
    defaults: dict[str, Any] = {
        "collection": "default",
        "question": "What is Hamhung known for?",
        "answered": True,
        "confidence": 0.75,
        "answer_passage_id": "hamhung-culture#food",
        "cited_passage_ids": ("hamhung-culture#food", "hamhung-culture#history"),
        "index_version": "v1",
        "latency_ms": 12.5,
        "client_address": CLIENT,
    }
    return AskRecord(**{**defaults, **fields})


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@contextmanager
def outage(engine: Engine) -> Iterator[None]:
    """The database goes away, then comes back as it was.

    SQLite: the database's directory is moved away (connections are made per transaction,
    so the next one fails to open the file) and moved back. PostgreSQL: the database stops
    accepting connections and every open one is terminated, then it accepts them again."""
    if engine.dialect.name == "sqlite":
        directory = Path(str(engine.url.database)).parent
        away = directory.with_name(directory.name + "-away")
        directory.rename(away)
        try:
            yield
        finally:
            away.rename(directory)
        return
    name = engine.url.database
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        try:
            yield
        finally:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
