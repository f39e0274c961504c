"""End to end: `cultureqa serve` in its own process on a free loopback port, asked over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cultureqa.testing import ServerProcess, running_server
from tests.helpers import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("e2e")
    with running_server(["--index-dir", str(tmp / "index")], tmp / "server.log", cwd=REPO) as up:
        yield up


def test_serve_builds_the_missing_index_and_says_so(server: ServerProcess) -> None:
    log = server.log()
    assert "Rebuilding the index in" in log
    assert "no index in" in log
    assert "Indexed 1 articles as 6 passages (6 embedded, 0 reused)" in log


def test_ask_over_http(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/ask",
        json={"question": "What cold noodle dish is Hamhung known for?", "top_k": 2},
        timeout=30,
    )
    assert response.status_code == 200
    first = response.json()["passages"][0]
    assert "naengmyeon" in first["text"]
    assert first["citation"]["anchor"] == "the-contrast-of-modernity-and-tradition"


def test_errors_over_http(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/ask", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


def test_serve_shuts_down_gracefully_on_sigterm(server: ServerProcess) -> None:
    # Runs last in this module. uvicorn re-raises the signal after its shutdown, so the exit
    # status is -SIGTERM; the log shows whether the lifespan finished.
    server.process.terminate()
    server.process.wait(timeout=30)
    log = server.log()
    assert "Application shutdown complete." in log
    assert "Finished server process" in log


def test_forwarded_for_from_a_local_client_does_not_open_new_buckets(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told not to; with no trusted
    # proxies configured, each made-up address would otherwise get a fresh bucket.
    tmp = tmp_path_factory.mktemp("e2e-forwarded")
    env = {"CULTUREQA_RATE_LIMIT_PER_MINUTE": "1", "CULTUREQA_RATE_LIMIT_BURST": "2"}
    args = ["--index-dir", str(tmp / "index")]
    with running_server(args, tmp / "server.log", cwd=REPO, env=env) as up:
        statuses = [
            httpx.post(
                f"{up.url}/ask",
                json={"question": "What is Hamhung known for?", "top_k": 1},
                headers={"X-Forwarded-For": f"10.9.0.{n}"},
                timeout=60,
            ).status_code
            for n in range(4)
        ]
    assert statuses == [200, 200, 429, 429]
