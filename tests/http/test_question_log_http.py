"""The question log through the real app: /ask records every ask and carries the conversation
and ask ids, follow-ups lean on the stored conversation, /feedback links to the ask, /metrics
counts the writer, DELETE /conversations/{id} erases. On SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import URL, Engine, select

from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings
from cultureqa.store import schema
from cultureqa.store.database import make_engine
from tests.conftest import AppClient
from tests.helpers import CORPUS, WIDGET_CORPUS, FakeEmbedder, publish, settings_for

QUESTION = "What is City 1 known for?"


def settings_on(tmp_path: Path, database_url: URL, **extra: object) -> Settings:
    url = database_url.render_as_string(hide_password=False)
    settings = settings_for(tmp_path, database_url=url, rate_limit_per_minute=0, **extra)
    publish(settings, FakeEmbedder(), "one")
    return settings


def flushed(client: TestClient) -> Engine:
    """Wait for the app's writer to write what is queued; an engine on its database."""
    question_log = client.app.state.cultureqa.question_log  # type: ignore[attr-defined]
    assert question_log.wait_until_ready(20)
    assert question_log.flush(20)
    return make_engine(question_log.engine.url)


def rows(engine: Engine, table: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        found = [dict(row) for row in connection.execute(select(table)).mappings()]
    engine.dispose()
    return found


def test_ask_returns_ids_and_is_logged(
    tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    client = app_client(settings_on(tmp_path, database_url))

    first = client.post("/ask", json={"question": QUESTION}).json()
    again = client.post(
        "/ask", json={"question": "And music?", "conversation_id": first["conversation_id"]}
    ).json()
    made_up = client.post("/ask", json={"question": QUESTION, "conversation_id": "x"}).json()

    assert len(first["conversation_id"]) >= 16 and first["ask_id"] != again["ask_id"]
    assert again["conversation_id"] == first["conversation_id"]
    assert made_up["conversation_id"] not in {first["conversation_id"], "x"}
    asks = rows(flushed(client), schema.asks)
    by_id = {ask["id"]: ask for ask in asks}
    assert set(by_id) == {first["ask_id"], again["ask_id"], made_up["ask_id"]}
    logged = by_id[first["ask_id"]]
    assert logged["question"] == QUESTION
    assert logged["conversation_id"] == first["conversation_id"]
    assert logged["answered"] is (first["answer"] is not None)
    assert logged["cited_passage_ids"] == [p["id"] for p in first["passages"]]
    assert logged["index_version"] == first["index_version"]
    assert logged["client_hash"] is None  # anonymous, the default


def places_settings(tmp_path: Path, **extra: object) -> Settings:
    """Hamhung and Kyoto, articles with places, indexed with the fake model."""
    settings = settings_for(tmp_path, rate_limit_per_minute=0, **extra)
    settings.corpus_dir.mkdir(parents=True)
    for article in (CORPUS / "hamhung-culture.md", WIDGET_CORPUS / "kyoto-culture.md"):
        shutil.copy(article, settings.corpus_dir)
    ingest([settings.corpus_dir], settings.index_dir / "default", FakeEmbedder())
    return settings


FIRST = "What do people eat in Kyoto?"
FOLLOW_UP = "And which festivals fill the streets?"


@pytest.mark.parametrize("written", [True, False], ids=["stored", "not-yet-written"])
def test_a_follow_up_leans_on_the_stored_conversation(
    written: bool, tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    url = database_url.render_as_string(hide_password=False)
    client = app_client(places_settings(tmp_path, database_url=url))
    first = client.post("/ask", json={"question": FIRST}).json()
    if written:
        flushed(client)
    cited = first["answer"]["citation"]["article_id"] if first["answer"] else None
    history = [{"question": FIRST, "article_id": cited}]

    leaned = client.post(
        "/ask", json={"question": FOLLOW_UP, "conversation_id": first["conversation_id"]}
    ).json()
    sent = client.post("/ask", json={"question": FOLLOW_UP, "history": history}).json()
    own_history = client.post(
        "/ask",
        json={"question": FOLLOW_UP, "conversation_id": first["conversation_id"], "history": []},
    ).json()
    alone = client.post("/ask", json={"question": FOLLOW_UP}).json()

    assert leaned["passages"] == sent["passages"]
    assert leaned["passages"][0]["citation"]["article_id"] == "kyoto-culture"
    # The client's history wins over the stored one, even an empty one.
    assert own_history["passages"] == alone["passages"] != leaned["passages"]


def test_the_default_database_is_beside_the_feedback_file(
    tmp_path: Path, app_client: AppClient
) -> None:
    client = app_client(places_settings(tmp_path))
    client.post("/ask", json={"question": FIRST})
    flushed(client)

    assert (tmp_path / "cultureqa.db").is_file()


def test_feedback_is_linked_to_its_ask(
    tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    client = app_client(settings_on(tmp_path, database_url))
    answer = client.post("/ask", json={"question": QUESTION}).json()
    verdict = {
        "rating": "down",
        "question": QUESTION,
        "ask_id": answer["ask_id"],
        "conversation_id": answer["conversation_id"],
        "comment": "not what I asked",
        "passage_id": answer["passages"][0]["id"],
    }

    assert client.post("/feedback", json=verdict).status_code == 201
    assert client.post("/feedback", json={**verdict, "ask_id": "nope"}).status_code == 201

    stored = sorted(rows(flushed(client), schema.feedback), key=lambda row: row["id"])
    assert [row["ask_id"] for row in stored] == [answer["ask_id"], None]
    assert stored[0]["comment"] == "not what I asked"
    assert stored[0]["conversation_id"] == answer["conversation_id"]
    assert stored[0]["collection"] == "default"


def test_metrics_count_the_writer(tmp_path: Path, database_url: URL, app_client: AppClient) -> None:
    client = app_client(settings_on(tmp_path, database_url))
    client.post("/ask", json={"question": QUESTION})
    flushed(client)

    text = client.get("/metrics").text

    assert 'cultureqa_question_log_records_total{outcome="written"} 1.0' in text
    assert 'cultureqa_question_log_records_total{outcome="dropped"} 0.0' in text
    assert "cultureqa_question_log_pending 0.0" in text
    assert "cultureqa_question_log_database_up 1.0" in text


def test_erasing_a_conversation(tmp_path: Path, database_url: URL, app_client: AppClient) -> None:
    client = app_client(settings_on(tmp_path, database_url))
    mine = client.post("/ask", json={"question": QUESTION}).json()
    client.post("/ask", json={"question": "And music?", "conversation_id": mine["conversation_id"]})
    client.post("/feedback", json={"rating": "up", "question": QUESTION, "ask_id": mine["ask_id"]})
    other = client.post("/ask", json={"question": QUESTION}).json()

    erased = client.delete(f"/conversations/{mine['conversation_id']}")
    again = client.delete(f"/conversations/{mine['conversation_id']}")

    assert erased.status_code == 200, erased.text
    assert erased.json() == {
        "conversation_id": mine["conversation_id"],
        "asks": 2,
        "feedback": 1,
        "conversations": 1,
    }
    assert again.json()["asks"] == 0
    engine = flushed(client)
    assert [ask["id"] for ask in rows(engine, schema.asks)] == [other["ask_id"]]
    assert rows(engine, schema.feedback) == []


@pytest.mark.parametrize("conversation", ["short", "a" * 33, "has space in it yes"])
def test_erasing_needs_a_conversation_id(
    conversation: str, tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)

    refused = client.delete(f"/conversations/{conversation}")

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_request"
