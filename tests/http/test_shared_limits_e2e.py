"""Two real `cultureqa serve` processes on loopback ports with one CULTUREQA_REDIS_URL: a client
gets one budget across both, over HTTP, as two replicas would give it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from cultureqa.testing import ServerProcess, running_server
from tests.helpers import REPO
from tests.redis_server import delete_prefix, redis_for_tests, unique_prefix

pytestmark = pytest.mark.slow

BURST = 4


@pytest.fixture
def replicas(tmp_path: Path, seed_index: Path) -> Iterator[list[ServerProcess]]:
    url = redis_for_tests()
    prefix = unique_prefix()
    env = {
        "CULTUREQA_REDIS_URL": url,
        "CULTUREQA_REDIS_KEY_PREFIX": prefix,
        "CULTUREQA_RATE_LIMIT_PER_MINUTE": "1",
        "CULTUREQA_RATE_LIMIT_BURST": str(BURST),
    }
    with ExitStack() as stack:
        servers = []
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            args = ["--index-dir", str(seed_index)]
            log = tmp_path / name / "server.log"
            servers.append(stack.enter_context(running_server(args, log, cwd=REPO, env=env)))
        yield servers
    delete_prefix(url, prefix)


def test_two_serve_processes_share_one_client_budget(replicas: list[ServerProcess]) -> None:
    question = {"question": "What is Hamhung known for?", "top_k": 1}
    with httpx.Client(timeout=30) as client:
        statuses = [
            client.post(f"{replicas[n % 2].url}/ask", json=question).status_code
            for n in range(3 * BURST)
        ]
        assert statuses[:BURST] == [200] * BURST
        assert set(statuses[BURST:]) == {429}  # from both replicas
        for server in replicas:
            metrics = client.get(f"{server.url}/metrics").text
            assert "cultureqa_rate_limit_redis_up 1.0" in metrics
            assert "cultureqa_rate_limit_redis_failures_total 0.0" in metrics
