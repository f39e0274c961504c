"""`cultureqa serve --workers 2`: the index built once in the parent, two worker processes
answering with the real model over real HTTP, one JSON log line per request with its id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from .conftest import REPO
from .test_e2e import Server, free_port, wait_ready

pytestmark = pytest.mark.slow


def test_serve_with_two_workers(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    script = Path(sys.executable).parent / "cultureqa"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CULTUREQA_RATE_LIMIT_PER_MINUTE": "0"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(script), "serve", "--workers", "2", "--port", str(port),
             "--index-dir", str(tmp_path / "index")],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, log)
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
        process.terminate()
        process.wait(timeout=60)
    text = log.read_text()
    assert text.count("Rebuilding the index in") == 1  # once, in the parent
    lines = [json.loads(line) for line in text.splitlines() if line.startswith('{"event"')]
    asked = [line for line in lines if line["request_id"] == "e2e-workers-1"]
    assert len(asked) == 1
    assert (asked[0]["route"], asked[0]["status"]) == ("/ask", 200)
