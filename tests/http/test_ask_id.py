"""An ask's id: the X-Request-ID its trusted proxy sent, which is the same on every replica the
proxy tries (deploy/nginx.conf), else a new one; an ask two replicas answered under that id is
logged once. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, func, select

from cultureqa.store import schema
from cultureqa.store.database import make_engine
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for

REQUEST_ID = "0123456789abcdef0123456789abcdef"  # nginx's $request_id: 32 hex digits
PROXY = "127.0.0.1"


@pytest.mark.parametrize(
    ("peer", "request_id", "kept"),
    [
        (PROXY, REQUEST_ID, True),
        ("203.0.113.5", REQUEST_ID, False),  # a client's own X-Request-ID is not believed
        (PROXY, "short", False),  # not the shape of an id
        (PROXY, "a" * 33, False),
        (PROXY, "0123456789abcdef/0123456789abcd", False),
    ],
)
def test_the_ask_id_is_a_trusted_proxy_s_request_id(
    tmp_path: Path, app_client: AppClient, peer: str, request_id: str, kept: bool
) -> None:
    settings = settings_for(tmp_path, trusted_proxies=[PROXY], rate_limit_per_minute=0)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings, client=(peer, 50000))
    headers = {"X-Request-ID": request_id}
    answer = client.post("/ask", json={"question": "City 1?"}, headers=headers).json()
    assert (answer["ask_id"] == request_id) is kept


def test_an_ask_passed_on_to_a_second_replica_is_logged_once(
    tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    url = database_url.render_as_string(hide_password=False)
    settings = settings_for(
        tmp_path, database_url=url, trusted_proxies=[PROXY], rate_limit_per_minute=0
    )
    publish(settings, FakeEmbedder(), "one")
    replicas = [app_client(settings, client=(PROXY, 50000)) for _ in range(2)]
    for replica in replicas:
        answer = replica.post(
            "/ask", json={"question": "City 1?"}, headers={"X-Request-ID": REQUEST_ID}
        )
        assert answer.json()["ask_id"] == REQUEST_ID
        question_log = replica.app.state.cultureqa.question_log  # type: ignore[attr-defined]
        assert question_log.wait_until_ready(20)
        assert question_log.flush(20)

    engine = make_engine(database_url)
    with engine.connect() as connection:
        ids = connection.execute(select(schema.asks.c.id)).scalars().all()
        counted = connection.execute(select(func.sum(schema.daily_counts.c.asks))).scalar()
    engine.dispose()
    assert (list(ids), counted) == ([REQUEST_ID], 1)
