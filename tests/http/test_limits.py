"""Limits on one request: body size (413), question length and top_k (422), history length,
and the time budget with a bounded number of asks at once (503 when the queue is full, 504
past the budget)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cultureqa.errors import DeadlineExceededError, OverloadedError
from cultureqa.http.gate import AskGate
from cultureqa.settings import Settings
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for

KEY = "k" * 32


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(
        tmp_path,
        collections_dir=tmp_path / "collections",
        max_request_bytes=2048,
        max_question_chars=200,
        max_top_k=7,
        max_upload_bytes=4096,
        admin_keys=[KEY],
        rate_limit_per_minute=0,
    )


@pytest.fixture
def client(settings: Settings, app_client: AppClient) -> TestClient:
    publish(settings, FakeEmbedder(), "one")
    return app_client(settings)


def test_a_body_over_the_cap_is_a_413_saying_the_limit(client: TestClient) -> None:
    body = '{"question": "' + "x" * 3000 + '"}'
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "2048 bytes" in error["message"]
    assert response.headers["X-Request-ID"]


def test_a_chunked_body_over_the_cap_is_a_413_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the middleware counts as it reads
        yield b'{"question": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    response = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_chunked_body_under_the_cap_is_answered(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": '
        yield b'"What is City 1 known for?"}'

    response = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json()["passages"]


def test_admin_uploads_have_their_own_larger_cap(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    article = b"# Lima\n\n" + b"Ceviche is raw fish cured in lime juice. " * 70  # ~3 KB
    ok = client.put("/admin/collections/c/articles/lima.md", content=article, headers=auth)
    assert ok.status_code == 201
    big = client.put("/admin/collections/c/articles/big.md", content=article * 2, headers=auth)
    assert big.status_code == 413


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"question": "q" * 201}, "the limit is 200"),
        ({"question": "ok", "top_k": 8}, "between 1 and 7"),
    ],
)
def test_question_and_top_k_caps(client: TestClient, payload: object, message: str) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([{"question": "a"}] * 11, "history has 11 turns; the limit is 10"),
        (
            [{"question": "x" * 1001}],
            "history turn 1: the question is 1001 characters long; the limit is 200",
        ),
        (
            [{"question": "a", "article_id": "y" * 201}],
            "history turn 1: article_id is longer than 200 characters",
        ),
    ],
)
def test_history_over_the_caps_is_refused(
    client: TestClient, history: list[dict[str, str]], message: str
) -> None:
    response = client.post("/ask", json={"question": "And there?", "history": history})
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_history_within_the_caps_is_answered(client: TestClient) -> None:
    history = [{"question": "What is Hamhung known for?"}] * 10
    assert (
        client.post("/ask", json={"question": "And there?", "history": history}).status_code == 200
    )


def test_the_gate_runs_at_most_its_slots_at_once() -> None:
    gate = AskGate(slots=2, queue=10, timeout=10)
    running = 0
    most = 0
    lock = threading.Lock()

    def work() -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return 1

    async def many() -> list[int]:
        return list(await asyncio.gather(*(gate.run(work) for _ in range(8))))

    try:
        assert asyncio.run(many()) == [1] * 8
    finally:
        gate.shutdown()
    assert most == 2


def test_a_full_queue_is_a_503_with_retry_after_and_the_budget_a_504() -> None:
    gate = AskGate(slots=1, queue=1, timeout=0.5)
    release = threading.Event()
    started: list[str] = []

    def blocked(name: str) -> str:
        started.append(name)
        release.wait(5)
        return name

    async def scenario() -> tuple[object, object, object]:
        first = asyncio.ensure_future(gate.run(lambda: blocked("first")))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(gate.run(lambda: blocked("second")))  # queued
        await asyncio.sleep(0.05)
        with pytest.raises(OverloadedError) as overloaded:
            await gate.run(lambda: "third")
        results = await asyncio.gather(first, second, return_exceptions=True)
        return overloaded.value, results[0], results[1]

    try:
        overloaded, first, second = asyncio.run(scenario())
    finally:
        release.set()
        gate.shutdown()
    assert isinstance(overloaded, OverloadedError)
    assert overloaded.status == 503
    assert overloaded.headers() == {"Retry-After": "1"}
    assert isinstance(first, DeadlineExceededError)
    assert first.status == 504
    assert "time budget of 0.5 s" in first.message
    assert isinstance(second, DeadlineExceededError)
    assert started == ["first"]  # the queued ask ran out of time and never started


def test_over_the_budget_over_http_is_a_clear_504(tmp_path: Path, app_client: AppClient) -> None:
    class Slow(FakeEmbedder):
        def embed(self, texts, *, batch_size=64, progress=False):  # type: ignore[no-untyped-def]
            time.sleep(0.5)
            return super().embed(texts)

    settings = settings_for(tmp_path, request_timeout=0.1, rate_limit_per_minute=0)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings, embedder=Slow())
    response = client.post("/ask", json={"question": "food"})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "deadline_exceeded"
