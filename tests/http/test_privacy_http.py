"""What the question log keeps in each privacy mode, through HTTP: asks and feedback sent to
the real app, then every table read back. No mode stores the client's address in clear. On
SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import URL, Engine

from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings
from cultureqa.store import schema
from cultureqa.store.database import make_engine
from tests.conftest import AppClient
from tests.helpers import CORPUS, WIDGET_CORPUS, FakeEmbedder, settings_for
from tests.store.helpers import every_value, rows

ADDRESS = "203.0.113.7"  # TEST-NET-3
QUESTION = "What do people eat in Kyoto?"
COMMENT = "my name is Alice"


def privacy_settings(tmp_path: Path, database_url: URL, **extra: object) -> Settings:
    url = database_url.render_as_string(hide_password=False)
    settings = settings_for(tmp_path, rate_limit_per_minute=0, database_url=url, **extra)
    settings.corpus_dir.mkdir(parents=True)
    for article in (CORPUS / "hamhung-culture.md", WIDGET_CORPUS / "kyoto-culture.md"):
        shutil.copy(article, settings.corpus_dir)
    ingest([settings.corpus_dir], settings.index_dir / "default", FakeEmbedder())
    return settings


def ask_and_rate(client: TestClient) -> dict[str, Any]:
    answer: dict[str, Any] = client.post("/ask", json={"question": QUESTION}).json()
    verdict = {
        "rating": "down",
        "question": QUESTION,
        "ask_id": answer["ask_id"],
        "conversation_id": answer["conversation_id"],
        "comment": COMMENT,
    }
    assert client.post("/feedback", json=verdict).status_code == 201
    return answer


def written(client: TestClient) -> Engine:
    question_log = client.app.state.cultureqa.question_log  # type: ignore[attr-defined]
    assert question_log.wait_until_ready(20) and question_log.flush(20)
    return make_engine(question_log.engine.url)


def test_off_keeps_counts_only(tmp_path: Path, database_url: URL, app_client: AppClient) -> None:
    settings = privacy_settings(tmp_path, database_url, question_log="off")
    client = app_client(settings, client=(ADDRESS, 5000))
    answer = ask_and_rate(client)
    engine = written(client)

    assert answer["conversation_id"] and answer["ask_id"]  # the response is the same
    assert rows(engine, schema.asks) == [] and rows(engine, schema.conversations) == []
    assert [(r["asks"], r["collection"]) for r in rows(engine, schema.daily_counts)] == [
        (1, "default")
    ]
    [verdict] = rows(engine, schema.feedback)
    assert verdict["rating"] == "down"
    assert (verdict["question"], verdict["comment"], verdict["ask_id"]) == (None, None, None)
    assert verdict["conversation_id"] is None
    values = every_value(engine)
    assert QUESTION not in values and COMMENT not in values
    assert not any(ADDRESS in str(value) for value in values)
    engine.dispose()


def test_anonymous_keeps_the_question_and_no_client(
    tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    client = app_client(privacy_settings(tmp_path, database_url), client=(ADDRESS, 5000))
    answer = ask_and_rate(client)
    engine = written(client)

    [ask] = rows(engine, schema.asks)
    assert (ask["question"], ask["conversation_id"]) == (QUESTION, answer["conversation_id"])
    assert ask["client_hash"] is None
    [verdict] = rows(engine, schema.feedback)
    assert (verdict["ask_id"], verdict["comment"]) == (answer["ask_id"], COMMENT)
    assert not any(ADDRESS in str(value) for value in every_value(engine))
    engine.dispose()


def test_full_keeps_a_salted_hash_of_the_client(
    tmp_path: Path, database_url: URL, app_client: AppClient
) -> None:
    settings = privacy_settings(tmp_path, database_url, question_log="full")
    client = app_client(settings, client=(ADDRESS, 5000))
    ask_and_rate(client)
    client.post("/ask", json={"question": "And the festivals?"})
    engine = written(client)

    hashes = {ask["client_hash"] for ask in rows(engine, schema.asks)}
    assert len(hashes) == 1  # the same client, the same pseudonym
    [digest] = hashes
    assert digest is not None and len(digest) == 64 and ADDRESS not in digest
    assert not any(ADDRESS in str(value) for value in every_value(engine))
    engine.dispose()


@pytest.mark.parametrize(("by_collection", "kept"), [({"default": "off"}, 0), ({}, 1)])
def test_the_mode_is_set_per_collection(
    by_collection: dict[str, str],
    kept: int,
    tmp_path: Path,
    database_url: URL,
    app_client: AppClient,
) -> None:
    settings = privacy_settings(tmp_path, database_url, question_log_by_collection=by_collection)
    client = app_client(settings)
    ask_and_rate(client)
    engine = written(client)

    assert len(rows(engine, schema.asks)) == kept
    engine.dispose()
