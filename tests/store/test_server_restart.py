"""A PostgreSQL server that stops and starts again (as in the issue's fault test: the server
stopped for a while under load): asks keep being recorded without waiting, what the queue
cannot hold is counted, and writing resumes by itself once the server is back. The server is
the test's own (pgserver.py), so that it may stop it; skipped, saying why, where it cannot
start one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from cultureqa.store import schema
from cultureqa.store.database import make_engine
from cultureqa.store.migrate import upgrade_database
from tests.store.helpers import an_ask, open_log, rows, wait_until
from tests.store.pgserver import NoServerError, Server, throwaway_server


@pytest.fixture
def own_server() -> Iterator[Server]:
    try:
        with throwaway_server() as server:
            yield server
    except NoServerError as exc:
        pytest.skip(f"cannot start a PostgreSQL server of the test's own: {exc}")


def test_writing_resumes_after_the_server_was_stopped(own_server: Server) -> None:
    admin = create_engine(own_server.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE cultureqa"))
    admin.dispose()
    engine = make_engine(own_server.url.set(database="cultureqa"))
    upgrade_database(engine)
    log = open_log(engine, queue_size=5, max_backoff=0.2)
    log.record_ask(an_ask())
    assert log.flush()

    own_server.stop()
    log.record_ask(an_ask())
    wait_until(lambda: not log.stats().database_up)
    accepted = sum(log.record_ask(an_ask()) for _ in range(20))
    own_server.start()
    assert log.flush(timeout=60)
    stats = log.close()

    assert (stats.outages, stats.dropped, stats.failed) == (1, 20 - accepted, 0)
    assert stats.dropped > 0
    assert stats.written == 2 + accepted == len(rows(engine, schema.asks))
    engine.dispose()
