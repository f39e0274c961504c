"""Issue 14's fault test, on real processes: a `cultureqa serve` logs its asks in a PostgreSQL
server of the test's own (Debian's binaries), which is stopped for 10 s (`pg_ctl stop`) while
ten clients ask. Every ask is answered, /metrics shows the database down and the records
waiting, and once the server is back the log writes them by itself: the question log then
holds every answered ask, once.

tests/http/test_question_log_outage.py covers the same in-process, with the database refusing
connections (and SQLite's moved away) and follow-ups during the outage; here the server is
really gone, its connections cut, and the log resumes with no one calling flush()."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from cultureqa.store import schema
from cultureqa.store.database import make_engine
from tests.cluster.conftest import START_TIMEOUT_S
from tests.cluster.load import Event, run_load
from tests.cluster.processes import Replica, metrics, replicas_for, wait_for
from tests.store.pgserver import NoServerError, Server, throwaway_server

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

CLIENTS = 10
SECONDS = 20.0
STOP_AT = 3.0
START_AT = 13.0


@pytest.fixture
def postgres() -> Iterator[Server]:
    """A PostgreSQL server this test may stop: never the machine's."""
    try:
        with throwaway_server() as server:
            yield server
    except NoServerError as exc:
        pytest.skip(f"no throwaway PostgreSQL server: {exc}")


@pytest.fixture
def server(tmp_path: Path, places_index: Path, postgres: Server) -> Iterator[Replica]:
    url = postgres.url.render_as_string(hide_password=False)
    env = {"CULTUREQA_DATABASE_URL": url, "CULTUREQA_RATE_LIMIT_PER_MINUTE": "0"}
    (replica,) = replicas_for(1, ["--index-dir", str(places_index)], env, tmp_path)
    replica.start()
    try:
        replica.wait_ready(START_TIMEOUT_S)
        yield replica
    finally:
        replica.stop()


def logged_ask_ids(postgres: Server) -> list[str]:
    engine = make_engine(postgres.url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(schema.asks.c.id)).scalars())
    finally:
        engine.dispose()


def migrated(postgres: Server) -> bool:
    try:
        return logged_ask_ids(postgres) == []
    except DBAPIError:  # no table yet
        return False


def test_asks_are_answered_while_postgresql_is_stopped(server: Replica, postgres: Server) -> None:
    wait_for("the log's database migrated", lambda: migrated(postgres), 60)
    during: dict[str, float] = {}

    def look() -> None:
        during.update(metrics(server.url))

    load = run_load(
        server.url,
        CLIENTS,
        SECONDS,
        [
            Event(STOP_AT, "postgresql stopped", postgres.stop),
            Event(START_AT - 1, "metrics during the outage", look),
            Event(START_AT, "postgresql started", postgres.start),
        ],
    )
    print(load.summary())
    assert Counter(o.status for o in load.outcomes) == {200: len(load.outcomes)}
    stopped, _ = load.events["postgresql stopped"]
    _, started = load.events["postgresql started"]
    asked_meanwhile = [o for o in load.outcomes if stopped < o.sent < started]
    assert asked_meanwhile
    assert during["cultureqa_question_log_database_up"] == 0.0
    assert during["cultureqa_question_log_pending"] > 0

    # Nothing calls flush(): the writer finds the database back by itself.
    wait_for(
        "the asks written after the outage",
        lambda: metrics(server.url)["cultureqa_question_log_pending"] == 0,
        timeout=60,
    )
    after = metrics(server.url)
    print(
        f"asks answered {len(load.outcomes)} ({len(asked_meanwhile)} while PostgreSQL was "
        f"stopped); waiting at the outage's end {during['cultureqa_question_log_pending']:g}; "
        f"outages {after['cultureqa_question_log_outages_total']:g}"
    )
    assert after["cultureqa_question_log_database_up"] == 1.0
    assert after["cultureqa_question_log_outages_total"] >= 1.0
    assert after['cultureqa_question_log_records_total{outcome="dropped"}'] == 0.0
    assert after['cultureqa_question_log_records_total{outcome="failed"}'] == 0.0
    logged = logged_ask_ids(postgres)
    assert len(logged) == len(set(logged))
    assert set(logged) == {o.ask_id for o in load.outcomes}
