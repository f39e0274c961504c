"""Every HTTP request: a request id (X-Request-ID), one JSON log line, metrics, and the
security headers.

- X-Request-ID: a sane incoming one (letters, digits, `.`, `_`, `-`, `:`, up to 128) is kept,
  anything else is replaced by a fresh one; it is returned on every response and logged.
- Security headers: `X-Content-Type-Options: nosniff` and `Referrer-Policy` on every response;
  on HTML a Content-Security-Policy with no inline script, unless the page set its own (pages
  that may be framed elsewhere choose their own frame-ancestors).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cultureqa.http.metrics import ServiceMetrics

access_log = logging.getLogger("cultureqa.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REFERRER_POLICY = "strict-origin-when-cross-origin"


def request_id_from(headers: dict[bytes, bytes]) -> str:
    given = headers.get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


def add_security_headers(headers: MutableHeaders) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    is_html = headers.get("content-type", "").startswith("text/html")
    if is_html and "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = DEFAULT_CSP


class RequestMiddleware:
    """Pure ASGI (no buffering of bodies): request id, security headers, log line, metrics."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics | None) -> None:
        self.app = app
        self.metrics = metrics

    def route_of(self, scope: Scope) -> str:
        """The route template (`/admin/jobs/{job_id}`), so labels stay few; 'unmatched' else."""
        route = scope.get("route")
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
        # Answered before routing (a 413, say): find the route it was meant for. Starlette puts
        # the app itself in the scope before any middleware runs.
        app = scope.get("app")
        routes: Sequence[BaseRoute] = app.router.routes if app is not None else ()
        for candidate in routes:
            match, _ = candidate.matches(scope)
            if match == Match.FULL:
                return str(getattr(candidate, "path", "unmatched"))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(dict(scope.get("headers") or ()))
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client sees if the app fails before answering

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                add_security_headers(headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = self.route_of(scope)
            method = scope.get("method", "")
            if self.metrics is not None:
                self.metrics.observe_request(route, method, status, seconds)
            client = scope.get("client")
            access_log.info(
                json.dumps(
                    {
                        "event": "request",
                        "time": round(time.time(), 3),
                        "request_id": request_id,
                        "method": method,
                        "path": scope.get("path", ""),
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client": client[0] if client else None,
                    },
                    ensure_ascii=False,
                )
            )
