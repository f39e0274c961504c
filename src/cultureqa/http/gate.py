"""Limits on what one request may cost: body size, history length, and a time budget for each
/ask with a bounded number of asks computed at once.

    BodyLimitMiddleware   413 for a body over its cap, before any of it reaches a handler
    check_history         422 for a `history` longer than max_history_turns
    AskGate               at most N asks computing at once (N threads), a bounded queue behind
                          them (503 + Retry-After when full), and a deadline (504) per ask
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import (
    DeadlineExceededError,
    InvalidRequestError,
    OverloadedError,
    PayloadTooLargeError,
)
from .responses import error_json

T = TypeVar("T")

ADMIN_PREFIX = "/admin/"


def check_history(
    request: object, max_turns: int, max_question_chars: int, max_id_chars: int = 200
) -> None:
    """Refuse a request whose `history` (when the request model has one) is too long: too many
    turns, or a turn whose question or article id is longer than a question or id may be."""
    history = getattr(request, "history", None)
    if history is None:
        return
    if len(history) > max_turns:
        raise InvalidRequestError(
            f"history has {len(history)} turns; the limit is {max_turns}",
            hint="send only the most recent turns",
        )
    for number, turn in enumerate(history, start=1):
        if len(turn.question) > max_question_chars:
            raise InvalidRequestError(
                f"history turn {number}: the question is {len(turn.question)} characters long; "
                f"the limit is {max_question_chars}"
            )
        if turn.article_id is not None and len(turn.article_id) > max_id_chars:
            raise InvalidRequestError(
                f"history turn {number}: article_id is longer than {max_id_chars} characters"
            )


class BodyLimitMiddleware:
    """Refuse request bodies over a cap with 413: at once when Content-Length says so, else
    while reading, before the handler sees any of it. Admin uploads have their own, larger cap
    (max_upload_bytes)."""

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
                    await error_json(too_large)(scope, receive, send)
                    return
            except ValueError:
                pass  # the HTTP server refuses a malformed length before we are called
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
                await error_json(too_large)(scope, receive, send)
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


class AskGate:
    """Runs asks on a pool of `slots` threads, with at most `queue` more waiting, each within
    `timeout` seconds from arrival (waiting included).

    A queued ask that runs out of time is dropped before it starts, so it costs no CPU; one
    already computing finishes in its thread (threads cannot be interrupted) but still holds
    its slot, so the number computing never exceeds `slots`.
    """

    def __init__(
        self,
        slots: int,
        queue: int,
        timeout: float,
        *,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        self.slots = slots
        self.queue = queue
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="cultureqa-ask", initializer=initializer
        )
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished: computing + queued

    @property
    def pending(self) -> int:
        return self._pending

    def _done(self, _: object) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, work: Callable[[], T]) -> T:
        """The result of `work()`, computed in the pool; raises OverloadedError (503) when the
        queue is full and DeadlineExceededError (504) past the time budget."""
        with self._lock:
            if self._pending >= self.slots + self.queue:
                raise OverloadedError(
                    f"the server is busy: {self.slots} questions are being answered and "
                    f"{self.queue} are waiting",
                    retry_after=1,
                )
            self._pending += 1
        try:
            future = self._pool.submit(work)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        try:
            with anyio.fail_after(self.timeout):
                return await asyncio.wrap_future(future)
        except TimeoutError as exc:
            future.cancel()  # still queued: never runs
            raise DeadlineExceededError(
                f"the question was not answered within the time budget of {self.timeout:g} s",
                hint="try again; the server is busy",
            ) from exc

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
