"""kill -9 of a process while it writes, or while it migrates: the database is consistent
afterwards, the next start migrates nothing twice, and writing goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.engine import URL

from cultureqa.store import schema
from cultureqa.store.migrate import head_revision, upgrade_database
from tests.helpers import REPO
from tests.store.helpers import an_ask, open_log

ASKS_BEFORE_THE_KILL = 100


def count(engine: Engine, query: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())  # type: ignore[call-overload]


def start_writer(url: URL) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.child_writer", url.render_as_string(False)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def kill_while_writing(child: subprocess.Popen[str], engine: Engine) -> None:
    deadline = time.monotonic() + 60
    while count(engine, select(func.count()).select_from(schema.asks)) < ASKS_BEFORE_THE_KILL:
        assert time.monotonic() < deadline, "the child wrote too little"
        assert child.poll() is None, "the child died by itself"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(10)


def assert_consistent(engine: Engine) -> None:
    asks, feedback, counts = schema.asks, schema.feedback, schema.daily_counts
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    logged = count(engine, select(func.count()).select_from(asks))
    # An ask and its day's count are written in one transaction: both or neither.
    assert count(engine, select(func.coalesce(func.sum(counts.c.asks), 0))) == logged
    orphans = select(func.count()).where(
        asks.c.conversation_id.is_not(None),
        ~select(schema.conversations.c.id)
        .where(schema.conversations.c.id == asks.c.conversation_id)
        .exists(),
    )
    assert count(engine, orphans) == 0
    # Feedback is written after its ask, in the same or a later transaction.
    unlinked = select(func.count()).select_from(feedback).where(feedback.c.ask_id.is_(None))
    assert count(engine, unlinked) == 0
    assert count(engine, select(func.count()).select_from(feedback)) <= logged


def test_a_killed_writer_leaves_a_consistent_database(engine: Engine) -> None:
    child = start_writer(engine.url)
    try:
        kill_while_writing(child, engine)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    assert_consistent(engine)
    again = upgrade_database(engine)
    assert (again.before, again.changed) == (head_revision(), False)
    log = open_log(engine)  # and the next start writes on
    before = count(engine, select(func.count()).select_from(schema.asks))
    log.record_ask(an_ask())
    assert log.flush()
    log.close()
    assert count(engine, select(func.count()).select_from(schema.asks)) == before + 1


def test_a_migration_killed_half_way_leaves_the_database_as_it_was(
    empty_engine: Engine,
) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.store.child_migrate",
            empty_engine.url.render_as_string(False),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "migrating"
        time.sleep(1.0)  # a few statements in: some tables made, not all
        assert child.poll() is None, "the migration finished before the kill"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()

    assert inspect(empty_engine).get_table_names() == []  # all or nothing: nothing
    result = upgrade_database(empty_engine)
    assert (result.before, result.after) == (None, head_revision())
    assert_consistent(empty_engine)
