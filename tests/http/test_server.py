"""`cultureqa serve --workers 2`: the index built once in the parent, two worker processes
answering with the real model over real HTTP, one JSON log line per request with its id."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psutil
import pytest

from cultureqa.testing import start_serve, wait_ready
from tests.helpers import REPO

pytestmark = pytest.mark.slow


def test_serve_with_two_workers(tmp_path: Path) -> None:
    env = {"CULTUREQA_RATE_LIMIT_PER_MINUTE": "0"}
    args = ["--workers", "2", "--index-dir", str(tmp_path / "index")]
    server = start_serve(args, tmp_path / "server.log", cwd=REPO, env=env)
    process = server.process
    try:
        wait_ready(server)
        workers = psutil.Process(process.pid).children(recursive=True)
        assert len([w for w in workers if "spawn_main" in " ".join(w.cmdline())]) == 2
        response = httpx.post(
            f"{server.url}/ask",
            json={"question": "What cold noodle dish is Hamhung known for?", "top_k": 1},
            headers={"X-Request-ID": "e2e-workers-1"},
            timeout=60,
        )
        assert response.status_code == 200
        assert "naengmyeon" in response.json()["passages"][0]["text"]
        assert response.headers["X-Request-ID"] == "e2e-workers-1"
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert "cultureqa_index_passages" in metrics
    finally:
        server.stop(timeout=60)
    text = server.log()
    assert text.count("Rebuilding the index in") == 1  # once, in the parent
    lines = [json.loads(line) for line in text.splitlines() if line.startswith('{"event"')]
    asked = [line for line in lines if line["request_id"] == "e2e-workers-1"]
    assert len(asked) == 1
    assert (asked[0]["route"], asked[0]["status"]) == ("/ask", 200)
