"""The worker's /health: 200 while its loop ticks, 503 once it has been quiet too long."""

from __future__ import annotations

import time

import httpx

from cultureqa.builder.health import start_health_server, ticking


def test_health_follows_the_worker_s_ticks() -> None:
    last = [time.monotonic()]
    server = start_health_server("127.0.0.1", 0, ticking(lambda: last[0], patience=0.5))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        fresh = httpx.get(f"{url}/health")
        assert fresh.status_code == 200 and fresh.json()["status"] == "ok"
        last[0] -= 10  # the loop stopped ticking ten seconds ago
        stuck = httpx.get(f"{url}/health")
        assert stuck.status_code == 503
        assert stuck.json()["status"] == "stuck" and stuck.json()["seconds_since_tick"] >= 10
        assert httpx.get(f"{url}/ready").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
