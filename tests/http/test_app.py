"""The HTTP API through FastAPI's TestClient, with the real model and a real index on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cultureqa.embedding.base import Embedder
from cultureqa.settings import Settings
from tests.conftest import AppClient
from tests.helpers import ASK_RESPONSE_KEYS, CORPUS, FakeEmbedder, publish, settings_for

pytestmark = pytest.mark.slow

NOODLES = "What cold noodle dish is Hamhung known for?"
CONTRAST = "The Industrial Heartbeat of Hamhung > The Contrast of Modernity and Tradition"


@pytest.fixture(scope="module")
def client(seed_index: Path, real_embedder: Embedder, module_app_client: AppClient) -> TestClient:
    settings = Settings(corpus_dir=CORPUS, index_dir=seed_index, max_top_k=10)
    return module_app_client(settings, embedder=real_embedder)


def test_ask_returns_ranked_cited_passages(client: TestClient) -> None:
    response = client.post("/ask", json={"question": NOODLES, "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ASK_RESPONSE_KEYS
    assert body["model"] == "all-MiniLM-L6-v2"
    assert body["took_ms"] > 0
    passages = body["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert passages[0]["score"] >= passages[1]["score"] >= passages[2]["score"]
    first = passages[0]
    assert "naengmyeon" in first["text"]
    assert first["id"] == "hamhung-culture#the-contrast-of-modernity-and-tradition"
    citation = first["citation"]
    assert citation["article_id"] == "hamhung-culture"
    assert citation["heading_path"] == CONTRAST
    assert citation["link"] == "corpus/hamhung-culture.md#the-contrast-of-modernity-and-tradition"
    assert citation["source_file"] == "corpus/hamhung-culture.md"
    assert citation["start_line"] <= citation["end_line"]


def test_default_top_k_is_five_or_all_there_is(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Hamhung"}).json()
    assert len(body["passages"]) == 5


def test_question_is_trimmed(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "  " + NOODLES + "\n"}).json()
    assert body["question"] == NOODLES


@pytest.mark.parametrize(
    ("payload", "status", "code", "message"),
    [
        ({"question": ""}, 422, "invalid_request", "question"),
        ({"question": "   "}, 422, "invalid_request", "question is empty"),
        ({"question": "x" * 1001}, 422, "invalid_request", "the limit is 1000"),
        ({"question": "ok", "top_k": 0}, 422, "invalid_request", "top_k"),
        ({"question": "ok", "top_k": 11}, 422, "invalid_request", "between 1 and 10"),
        ({"question": "ok", "top_k": "5"}, 422, "invalid_request", "top_k"),
        ({"question": "ok", "top_k": 2.5}, 422, "invalid_request", "top_k"),
        ({"question": "ok", "top_k": True}, 422, "invalid_request", "top_k"),
        ({"question": 5}, 422, "invalid_request", "question"),
        ({"question": None}, 422, "invalid_request", "question"),
        ({}, 422, "invalid_request", "question: Field required"),
        ({"question": "ok", "topk": 3}, 422, "invalid_request", "topk"),
        (["question"], 422, "invalid_request", "body"),
    ],
)
def test_bad_requests_get_clear_json_errors(
    client: TestClient, payload: Any, status: int, code: str, message: str
) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert message in error["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"question=hi", b'{"question": "a"'],
)
def test_body_that_is_not_json_is_a_400(client: TestClient, raw: bytes) -> None:
    response = client.post("/ask", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)
    error = response.json()["error"]
    assert error["message"]
    if raw:
        assert response.status_code == 400
        assert error["code"] == "invalid_json"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["passages"] == 6


def test_openapi_documents_request_and_response_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ask = schema["paths"]["/ask"]["post"]
    assert ask["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AskRequest"
    )
    assert {"200", "422", "503"} <= set(ask["responses"])
    components = schema["components"]["schemas"]
    assert components["AskRequest"]["examples"][0]["question"] == NOODLES
    assert (
        components["AskResponse"]["examples"][0]["passages"][0]["citation"]["heading_path"]
        == CONTRAST
    )
    assert client.get("/docs").status_code == 200


def test_no_index_gives_503_saying_how_to_build(
    tmp_path: Path, real_embedder: Embedder, app_client: AppClient
) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "empty")
    empty = app_client(settings, embedder=real_embedder)
    response = empty.post("/ask", json={"question": NOODLES})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "index_not_found"
    assert "cultureqa ingest" in error["hint"]
    ready = empty.get("/ready")
    assert ready.status_code == 503
    assert "no index" in ready.json()["reason"]
    assert empty.get("/health").status_code == 200


def test_missing_index_is_built_when_asked(
    tmp_path: Path, real_embedder: Embedder, app_client: AppClient
) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "built")
    built = app_client(settings, embedder=real_embedder, build_missing_index=True)
    assert built.get("/ready").json()["passages"] == 6


def test_serving_without_a_corpus_serves_what_is_published(
    tmp_path: Path, app_client: AppClient
) -> None:
    # `cultureqa serve` started outside the repository: no ./corpus to build from.
    built_elsewhere = settings_for(tmp_path)
    publish(built_elsewhere, FakeEmbedder(), "one")  # the default collection's index
    settings = built_elsewhere.model_copy(update={"corpus_dir": tmp_path / "no-such-corpus"})
    client = app_client(settings, build_missing_index=True)
    assert client.get("/ready").status_code == 200
    assert client.post("/ask", json={"question": "food"}).status_code == 200
    assert not (tmp_path / "no-such-corpus").exists()
