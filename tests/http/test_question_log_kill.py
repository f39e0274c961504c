"""kill -9 of a server while it writes its question log: the database is consistent (every ask
row has its day counted, nothing half-written), `cultureqa db upgrade` has nothing to do, and
the next server starts on it, migrates nothing twice, writes the asks the killed one answered
but had not written (from its spool, store/spool.py), and logs again. On SQLite and on
PostgreSQL."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import URL, func, select, text

from cultureqa.store import schema
from cultureqa.store.database import make_engine
from cultureqa.testing import running_server, start_serve, wait_ready
from tests.helpers import REPO, cultureqa
from tests.store.helpers import wait_until

pytestmark = pytest.mark.slow


def counts(url: URL) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if url.get_backend_name() == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            asks = connection.execute(select(func.count()).select_from(schema.asks)).scalar_one()
            days = connection.execute(select(func.sum(schema.daily_counts.c.asks))).scalar()
    finally:
        engine.dispose()
    return int(asks), int(days or 0)


def logged_ids(url: URL) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(schema.asks.c.id)).scalars())
    finally:
        engine.dispose()


def test_kill_9_during_writes(tmp_path: Path, database_url: URL) -> None:
    url = database_url.render_as_string(hide_password=False)
    env = {
        "CULTUREQA_DATABASE_URL": url,
        "CULTUREQA_RATE_LIMIT_PER_MINUTE": "0",
        "CULTUREQA_FEEDBACK_PATH": str(tmp_path / "feedback.jsonl"),
    }
    args = ["--index-dir", str(tmp_path / "index")]
    server = start_serve(args, tmp_path / "first.log", cwd=REPO, env=env)
    answered: list[int] = []
    ask_ids: list[str] = []
    stop = threading.Event()

    def ask_on() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post("/ask", json={"question": "What is Hamhung known for?"})
                except httpx.TransportError:
                    return
                answered.append(response.status_code)
                ask_ids.append(response.json().get("ask_id", ""))

    try:
        wait_ready(server, timeout=180)
        askers = [threading.Thread(target=ask_on) for _ in range(4)]
        for asker in askers:
            asker.start()
        wait_until(lambda: len(answered) >= 40, timeout=60)
        server.process.send_signal(signal.SIGKILL)  # mid-flight: asks queued and being written
        server.process.wait(timeout=30)
    finally:
        stop.set()
        server.stop()
    for asker in askers:
        asker.join(timeout=30)

    logged, counted = counts(database_url)
    assert set(answered) == {200}
    assert 0 < logged <= len(answered)
    assert logged == counted  # an ask and its day's count commit together, or neither
    upgrade = cultureqa("db", "upgrade", "--database-url", url, env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "already at" in upgrade.stdout

    with running_server(args, tmp_path / "second.log", cwd=REPO, env=env) as again:
        response = httpx.post(f"{again.url}/ask", json={"question": "Noodles?"}, timeout=30)
        assert response.is_success
        wait_until(lambda: response.json()["ask_id"] in logged_ids(database_url), timeout=30)
    after = logged_ids(database_url)
    assert len(after) == len(set(after))  # none twice
    # Every ask answered is logged now, the killed server's last ones too (and perhaps one it
    # logged as the kill cut its answer short: at most one per asker).
    assert set(ask_ids) | {response.json()["ask_id"]} <= set(after)
    assert len(after) <= len(ask_ids) + len(askers) + 1
    assert counts(database_url) == (len(after), len(after))
    assert "Traceback" not in again.log()
