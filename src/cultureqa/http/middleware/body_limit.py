"""413 for a request body over its cap, 408 for one that takes too long to arrive, before any
of it reaches a handler."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cultureqa.errors import BodyTimeoutError, CultureQAError, PayloadTooLargeError
from cultureqa.http.errors import domain_error_json

ADMIN_PREFIX = "/admin/"


class BodyLimitMiddleware:
    """Refuse request bodies over a cap with 413: at once when Content-Length says so, else
    while reading, before the handler sees any of it; and bodies not received within
    `timeout` seconds with 408 (a client trickling a body holds a connection and a buffer).
    Admin uploads have their own, larger cap (max_upload_bytes), and are not read here at
    all: the admin routes check the key before they read a byte, so a client without one is
    answered 401 at once, not after sending megabytes; the body is bounded as the handler
    streams it."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, max_admin_bytes: int, timeout: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_admin_bytes = max_admin_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.max_admin_bytes if path.startswith(ADMIN_PREFIX) else self.max_bytes
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    await domain_error_json(too_large(limit))(scope, receive, send)
                    return
            except ValueError:
                pass  # the HTTP server refuses a malformed length before we are called
        receive_body = bounded(receive, limit, self.timeout)
        if path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive_body, send)
            return
        # No (or a small) declared length: read the body here, up to the cap, then hand it on.
        chunks: list[bytes] = []
        while True:
            try:
                message = await receive_body()
            except CultureQAError as exc:
                await domain_error_json(exc)(scope, receive, send)
                return
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replayed = False
        body = b"".join(chunks)

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the request body is larger than the limit of {limit} bytes")


def bounded(receive: Receive, limit: int, timeout: float) -> Receive:
    """`receive`, raising PayloadTooLargeError once the body read so far is over `limit` bytes
    and BodyTimeoutError when the whole body has not come within `timeout` seconds of the first
    read. Once the body is complete, later reads (waiting for a disconnect) are not timed."""
    size = 0
    deadline: float | None = None
    complete = False

    async def receive_bounded() -> Message:
        nonlocal size, deadline, complete
        if complete:
            return await receive()
        loop = asyncio.get_running_loop()
        deadline = deadline or loop.time() + timeout
        try:
            if loop.time() >= deadline:  # past it: refused even if more of the body is here
                raise TimeoutError
            # Read in this task: wait_for would make a task of each read (two more turns of
            # the event loop for every body).
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise BodyTimeoutError(
                f"the request body did not arrive within {timeout:g} seconds"
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise too_large(limit)
        return message

    return receive_bounded
