"""Micro-batching through the app and the real model: concurrent asks answer as they do one at
a time, and share passes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from cultureqa.embedding.base import Embedder
from cultureqa.settings import Settings
from tests.conftest import AppClient

QUESTIONS = [
    "What is Hamhung known for?",
    "What cold noodle dish is Hamhung known for?",
    "Which fertilizer complex is in Hamhung?",
    "How have sanctions hurt Hamhung's chemical industry?",
    "How do people in Hamhung help each other survive?",
    "Where in North Korea is Hamhung?",
    "What do people eat in Hamhung in winter?",
    "Is there a university in Hamhung?",
]


def answers(client: TestClient, concurrent: bool) -> list[Any]:
    def ask(question: str) -> Any:
        response = client.post("/ask", json={"question": question})
        assert response.status_code == 200
        body = response.json()
        passages = body["passages"]
        return body["answer"], [p["id"] for p in passages], [p["score"] for p in passages]

    if not concurrent:
        return [ask(question) for question in QUESTIONS]
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        return list(pool.map(ask, QUESTIONS * 4))[-len(QUESTIONS) :]


def test_concurrent_batched_asks_answer_as_single_ones(
    seed_settings: Settings, real_embedder: Embedder, app_client: AppClient
) -> None:
    single = app_client(seed_settings, embedder=real_embedder, micro_batching=False)
    batched = app_client(
        seed_settings, embedder=real_embedder, micro_batching=True, rate_limit_per_minute=0
    )
    together, alone = answers(batched, concurrent=True), answers(single, concurrent=False)
    assert [a[:2] for a in together] == [a[:2] for a in alone]  # the answers, the passages
    for (_, _, scores), (_, _, own) in zip(together, alone, strict=True):
        assert np.allclose(scores, own, atol=1e-4)  # a batch's padding moves floats a little
    metrics = batched.get("/metrics").text
    assert "cultureqa_embed_calls_total 32.0" in metrics
