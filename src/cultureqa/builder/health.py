"""The worker's health check for Kubernetes' probes and compose's healthcheck: GET /health on a
port of its own (standard library; the worker has no web framework), 200 while the worker's
loop or its current job's lease keeper has shown signs of life recently, else 503."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("cultureqa")

Alive = Callable[[], tuple[bool, dict[str, object]]]  # (healthy, what to show)


def start_health_server(host: str, port: int, alive: Alive) -> ThreadingHTTPServer:
    """Serve /health on (host, port) in a daemon thread; shutdown() the server to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/health":
                self.send_error(404)
                return
            healthy, body = alive()
            data = json.dumps({"status": "ok" if healthy else "stuck", **body}).encode()
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds: no line each

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="cultureqa-health", daemon=True).start()
    log.info("Worker health check on http://%s:%d/health", host, server.server_address[1])
    return server


def ticking(last_tick: Callable[[], float], patience: float) -> Alive:
    """Healthy while `last_tick()` (a time.monotonic() value) is less than `patience` old."""

    def alive() -> tuple[bool, dict[str, object]]:
        quiet = time.monotonic() - last_tick()
        return quiet < patience, {"seconds_since_tick": round(quiet, 1)}

    return alive
