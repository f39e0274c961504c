"""POST /feedback: rate limited with /ask, keyed in key mode, the Origin stored (in the question
log) only when sane."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from cultureqa.store import schema
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for

VERDICT = {"rating": "up", "question": "What is Hamhung known for?"}
KEY = "k" * 32


def test_feedback_shares_the_client_rate_with_ask(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(
        tmp_path, rate_limit_per_minute=1, rate_limit_burst=2, feedback_path=tmp_path / "f.jsonl"
    )
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    assert client.post("/ask", json={"question": "food"}).status_code == 200
    assert client.post("/feedback", json=VERDICT).status_code == 201
    refused = client.post("/feedback", json=VERDICT)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


def test_key_mode_needs_a_key_for_feedback(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(tmp_path, api_keys=[KEY], feedback_path=tmp_path / "f.jsonl")
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    assert client.post("/feedback", json=VERDICT).status_code == 401
    keyed = client.post("/feedback", json=VERDICT, headers={"Authorization": f"Bearer {KEY}"})
    assert keyed.status_code == 201


def test_only_a_sane_origin_is_stored(tmp_path: Path, app_client: AppClient) -> None:
    path = tmp_path / "f.jsonl"
    settings = settings_for(tmp_path, feedback_path=path, rate_limit_per_minute=0)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    for origin in ("https://moodle.example.edu", "https://x" + "y" * 60_000, "javascript:1"):
        response = client.post("/feedback", json=VERDICT, headers={"Origin": origin})
        assert response.status_code == 201
    question_log = client.app.state.cultureqa.question_log  # type: ignore[attr-defined]
    assert question_log.wait_until_ready(20) and question_log.flush(20)
    with question_log.engine.connect() as connection:
        query = select(schema.feedback.c.origin).order_by(schema.feedback.c.id)
        stored = list(connection.execute(query).scalars())
    assert stored == ["https://moodle.example.edu", None, None]
    assert not path.exists()  # the database has it; the old file is only read, once
