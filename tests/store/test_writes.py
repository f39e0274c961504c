"""write_records: an ask id already written, or twice in one batch, is kept and counted once (an
ask that two replicas answered under its proxy's request id). On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from cultureqa.store import schema
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.writes import write_records
from tests.store.helpers import an_ask, open_log, rows

POLICY = PrivacyPolicy(default="anonymous")


def test_an_ask_written_twice_is_kept_and_counted_once(engine: Engine) -> None:
    ask, other = an_ask(), an_ask(answered=False)
    with engine.begin() as connection:
        write_records(connection, [ask, ask], POLICY, None)  # twice in one batch
    with engine.begin() as connection:
        write_records(connection, [other, ask], POLICY, None)  # and again later

    assert sorted(row["id"] for row in rows(engine, schema.asks)) == sorted([ask.id, other.id])
    [day] = rows(engine, schema.daily_counts)
    assert (day["asks"], day["unanswered"]) == (2, 1)


def test_two_servers_logging_one_ask_keep_it_once(engine: Engine) -> None:
    """Two replicas' writers, each handed the same ask (nginx passed it on): one row, both
    writers count it written, neither failed."""
    ask = an_ask()
    logs = [open_log(engine) for _ in range(2)]
    for log in logs:
        log.record_ask(ask)
        assert log.flush()
    stats = [log.close() for log in logs]

    assert [row["id"] for row in rows(engine, schema.asks)] == [ask.id]
    assert [(s.written, s.failed) for s in stats] == [(1, 0), (1, 0)]
