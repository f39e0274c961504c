"""The writer: records never wait for the database, a full queue drops and counts, an outage is
counted and logged once and writing resumes by itself, a refused record costs only itself."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, StatementError

from cultureqa.errors import StoreUnavailableError
from cultureqa.store import schema
from cultureqa.store.database import for_writing, make_engine
from cultureqa.store.migrate import upgrade_database
from cultureqa.store.question_log import QuestionLog
from cultureqa.store.records import FeedbackRecord
from cultureqa.store.writer import is_outage
from tests.store.helpers import an_ask, open_log, outage, rows, wait_until


def test_recording_returns_at_once_and_flush_writes_everything(engine: Engine) -> None:
    log = open_log(engine)
    started = time.perf_counter()
    accepted = [log.record_ask(an_ask()) for _ in range(500)]
    took = time.perf_counter() - started
    assert log.flush()
    stats = log.close()

    assert all(accepted)
    assert took < 0.5  # 500 records queued, none written on this thread
    assert (stats.written, stats.dropped, stats.failed, stats.pending) == (500, 0, 0, 0)
    assert len(rows(engine, schema.asks)) == 500
    assert rows(engine, schema.daily_counts)[0]["asks"] == 500


def test_writing_survives_an_outage_and_counts_what_it_could_not_keep(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    log = open_log(engine, queue_size=5, max_backoff=0.1)
    log.record_ask(an_ask())
    assert log.flush()

    with caplog.at_level(logging.WARNING, logger="cultureqa.store"), outage(engine):
        log.record_ask(an_ask())
        wait_until(lambda: not log.stats().database_up)
        accepted = sum(log.record_ask(an_ask()) for _ in range(20))
        during = log.stats()
    assert log.flush(timeout=30)
    after = log.close()

    assert during.outages == 1
    assert during.dropped == 20 - accepted > 0  # the queue held 5; the rest were counted
    assert (after.written, after.dropped, after.failed) == (2 + accepted, during.dropped, 0)
    assert after.database_up
    assert len(rows(engine, schema.asks)) == after.written
    assert sum(row["asks"] for row in rows(engine, schema.daily_counts)) == after.written
    messages = [r.getMessage() for r in caplog.records if "database is" in r.getMessage()]
    assert len(messages) == 2  # the outage once, its end once
    assert "unavailable" in messages[0] and "back after" in messages[1]


def test_close_during_an_outage_gives_up_and_counts_the_rest_as_failed(engine: Engine) -> None:
    log = open_log(engine, max_backoff=0.1)
    with outage(engine):
        for _ in range(3):
            log.record_ask(an_ask())
        wait_until(lambda: not log.stats().database_up)
        stats = log.close(timeout=0.3)
        late = log.record_ask(an_ask())

    assert (stats.written, stats.failed, stats.pending) == (0, 3, 0)
    assert not late
    assert log.stats().dropped == 1


def test_a_refused_record_costs_only_itself(engine: Engine) -> None:
    log = open_log(engine)
    log.record_ask(an_ask())
    log.record_feedback(FeedbackRecord(rating="meh"))  # type: ignore[arg-type]
    log.record_feedback(FeedbackRecord(rating="up"))
    assert log.flush()
    stats = log.close()

    assert (stats.written, stats.failed) == (2, 1)
    assert [row["rating"] for row in rows(engine, schema.feedback)] == ["up"]


def test_feedback_on_an_ask_that_was_never_logged_is_kept_unlinked(engine: Engine) -> None:
    log: QuestionLog = open_log(engine)
    log.record_feedback(FeedbackRecord(rating="down", ask_id="no-such-ask-aaaaaaaa"))
    assert log.flush()
    log.close()

    assert [row["ask_id"] for row in rows(engine, schema.feedback)] == [None]


def test_a_database_down_at_start_is_prepared_once_it_is_up(empty_engine: Engine) -> None:
    with outage(empty_engine):
        log = open_log(
            empty_engine, max_backoff=0.1, prepare=lambda: upgrade_database(empty_engine)
        )
        log.record_ask(an_ask())
        wait_until(lambda: not log.stats().database_up)
        assert not log.wait_until_ready(0.2)
    assert log.wait_until_ready(20)
    assert log.flush(20)
    stats = log.close()

    assert (stats.written, stats.outages, stats.database_up) == (1, 1, True)
    assert len(rows(empty_engine, schema.asks)) == 1


def test_many_threads_recording_at_once_lose_nothing(engine: Engine) -> None:
    log = open_log(engine)

    def record_some() -> None:
        for _ in range(200):
            log.record_ask(an_ask())

    threads = [threading.Thread(target=record_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.flush(30)
    stats = log.close()

    assert (stats.written, stats.dropped, stats.pending) == (1600, 0, 0)
    assert len(rows(engine, schema.asks)) == 1600


def test_a_record_that_cannot_even_be_sent_costs_only_itself(engine: Engine) -> None:
    log = open_log(engine)
    log.record_ask(an_ask(asked_at=datetime(2026, 12, 1)))  # naive: refused before any SQL
    log.record_ask(an_ask())
    assert log.flush()
    stats = log.close()

    assert (stats.written, stats.failed, stats.outages) == (1, 1, 0)
    assert len(rows(engine, schema.asks)) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OperationalError("SELECT 1", {}, Exception("connection refused")), True),
        (ProgrammingError("SELECT 1", {}, Exception("relation asks does not exist")), True),
        (IntegrityError("INSERT", {}, Exception("CHECK constraint failed")), False),
        (StatementError("bad parameter", "INSERT", {}, ValueError("naive datetime")), False),
        (StoreUnavailableError("cannot connect"), True),
        (ValueError("a bug"), False),
    ],
)
def test_outages_are_told_from_bad_records(error: Exception, expected: bool) -> None:
    assert is_outage(error) is expected


def test_two_servers_on_one_database_write_side_by_side(engine: Engine) -> None:
    """`serve --workers 2`: one writer per process, one database (SQLite: WAL and a busy
    timeout; each writer takes the write lock at BEGIN)."""
    logs = [open_log(make_engine(engine.url)) for _ in range(2)]

    def record_some(log: QuestionLog) -> None:
        for number in range(300):
            log.record_ask(an_ask())
            if number % 50 == 0:
                time.sleep(0.01)  # batches of every size, interleaved

    threads = [threading.Thread(target=record_some, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for log in logs:
        assert log.flush(30)
    stats = [log.close() for log in logs]

    assert [(s.written, s.failed, s.dropped) for s in stats] == [(300, 0, 0)] * 2
    assert len(rows(engine, schema.asks)) == 600


def test_a_database_that_hangs_never_holds_up_a_record(engine: Engine) -> None:
    """Another process holds the write lock (SQLite) or the tables (PostgreSQL) for a second:
    the writer waits, the asks do not, and everything is written once the lock is gone."""
    log = open_log(engine)
    locker = for_writing(make_engine(engine.url))  # SQLite: BEGIN IMMEDIATE takes the lock
    with locker.connect() as holder:
        held = holder.begin()
        if engine.dialect.name == "postgresql":
            holder.exec_driver_sql("LOCK TABLE asks, daily_counts IN ACCESS EXCLUSIVE MODE")
        slowest, recorded = 0.0, 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            log.record_ask(an_ask())
            slowest = max(slowest, time.perf_counter() - started)
            recorded += 1
            time.sleep(0.01)
        assert log.stats().written == 0  # the writer is stuck behind the lock
        held.rollback()
    locker.dispose()
    assert log.flush(30)
    stats = log.close()

    assert slowest < 0.05
    assert (stats.written, stats.dropped, stats.failed) == (recorded, 0, 0)


def test_a_trickle_of_asks_is_written_a_batch_at_a_time(engine: Engine) -> None:
    """Group commit: asks arriving every 5 ms are written in a few transactions, not one
    each (a quarter of the CPU per ask here), and without any flush."""
    commits = []
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    log = open_log(engine)
    for _ in range(20):
        log.record_ask(an_ask())
        time.sleep(0.005)
    wait_until(lambda: log.stats().written == 20)
    log.close()

    assert len(commits) <= 5
