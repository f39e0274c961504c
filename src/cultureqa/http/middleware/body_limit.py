"""413 for a request body over its cap, before any of it reaches a handler."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cultureqa.errors import CultureQAError, PayloadTooLargeError
from cultureqa.http.errors import domain_error_json

ADMIN_PREFIX = "/admin/"


class BodyLimitMiddleware:
    """Refuse request bodies over a cap with 413: at once when Content-Length says so, else
    while reading, before the handler sees any of it. Admin uploads have their own, larger cap
    (max_upload_bytes), and are not read here at all: the admin routes check the key before
    they read a byte, so a client without one is answered 401 at once, not after sending
    megabytes; the body is counted as the handler streams it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_admin_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_admin_bytes = max_admin_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.max_admin_bytes if path.startswith(ADMIN_PREFIX) else self.max_bytes
        too_large = PayloadTooLargeError(
            f"the request body is larger than the limit of {limit} bytes"
        )
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    await domain_error_json(too_large)(scope, receive, send)
                    return
            except ValueError:
                pass  # the HTTP server refuses a malformed length before we are called
        if path.startswith(ADMIN_PREFIX):
            await self.app(scope, counted(receive, limit, too_large), send)
            return
        # No (or a small) declared length: read the body here, up to the cap, then hand it on.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await domain_error_json(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
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


def counted(receive: Receive, limit: int, too_large: CultureQAError) -> Receive:
    """`receive`, raising `too_large` (the handler's error answer: a 413) once the body read so
    far is over `limit`."""
    size = 0

    async def receive_counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise too_large
        return message

    return receive_counted
