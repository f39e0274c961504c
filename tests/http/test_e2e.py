"""End to end: `cultureqa serve` in its own process on a free loopback port, asked over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path


def wait_ready(server: Server, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited early:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"server not ready after {timeout} s:\n{server.log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    log = tmp / "server.log"
    script = Path(sys.executable).parent / "cultureqa"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(script), "serve", "--port", str(port), "--index-dir", str(tmp / "index")],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    running = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_ready(running)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_builds_the_missing_index_and_says_so(server: Server) -> None:
    log = server.log.read_text()
    assert "Rebuilding the index in" in log
    assert "no index in" in log
    assert "Indexed 1 articles as 6 passages (6 embedded, 0 reused)" in log


def test_ask_over_http(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/ask",
        json={"question": "What cold noodle dish is Hamhung known for?", "top_k": 2},
        timeout=30,
    )
    assert response.status_code == 200
    first = response.json()["passages"][0]
    assert "naengmyeon" in first["text"]
    assert first["citation"]["anchor"] == "the-contrast-of-modernity-and-tradition"


def test_errors_over_http(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/ask", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


def test_serve_shuts_down_gracefully_on_sigterm(server: Server) -> None:
    # Runs last in this module. uvicorn re-raises the signal after its shutdown, so the exit
    # status is -SIGTERM; the log shows whether the lifespan finished.
    server.process.terminate()
    server.process.wait(timeout=30)
    log = server.log.read_text()
    assert "Application shutdown complete." in log
    assert "Finished server process" in log
