"""The database goes away while the app answers: every ask is still answered (follow-ups too),
/metrics says the database is down and what waits, and once it is back everything asked
meanwhile is written. On SQLite (its directory moved away) and PostgreSQL (connections
refused and cut)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import URL, func, select

from cultureqa.store import schema
from cultureqa.store.database import make_engine
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for
from tests.store.helpers import outage, wait_until

ASKS = 20


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} is not in /metrics")


def test_asks_are_answered_while_the_database_is_down(
    tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    url = database_url.render_as_string(hide_password=False)
    settings = settings_for(tmp_path, database_url=url, rate_limit_per_minute=0)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    question_log = client.app.state.cultureqa.question_log  # type: ignore[attr-defined]
    assert question_log.wait_until_ready(20)
    engine = make_engine(database_url)
    first = client.post("/ask", json={"question": "What is City 1 known for?"}).json()
    assert question_log.flush(20)

    with outage(engine):
        answers = [
            client.post(
                "/ask",
                json={"question": f"And music {n}?", "conversation_id": first["conversation_id"]},
            )
            for n in range(ASKS)
        ]
        wait_until(lambda: metric(client, "cultureqa_question_log_database_up") == 0.0)
        assert metric(client, "cultureqa_question_log_pending") > 0

    assert [answer.status_code for answer in answers] == [200] * ASKS
    assert question_log.flush(30)
    assert metric(client, "cultureqa_question_log_database_up") == 1.0
    assert metric(client, "cultureqa_question_log_outages_total") >= 1.0
    assert metric(client, "cultureqa_question_log_pending") == 0.0
    with engine.connect() as connection:
        logged = connection.execute(select(func.count()).select_from(schema.asks)).scalar_one()
    engine.dispose()
    assert logged == ASKS + 1
