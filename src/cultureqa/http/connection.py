"""What uvicorn reads from a connection before the app sees a request, bounded.

uvicorn's own HTTP protocol waits for a request's headers as long as the client keeps
sending, however slowly, and (with httptools) buffers headers of any size: four slow
connections stay open forever, and 4 x 50 MB of unfinished headers are held in memory.
`GuardedHttpToolsProtocol` closes a connection whose request head is not complete within
`header_timeout` seconds of its opening (or of the previous response), and answers 431 to a head
over `max_header_bytes`. Body reads are bounded in the app (middleware/body_limit.py).
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cultureqa.settings import Settings


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float  # seconds from opening (or the last response) to a whole request head
    max_header_bytes: int  # request line and headers


def protocol_for(settings: Settings) -> functools.partial[GuardedHttpToolsProtocol]:
    """The HTTP protocol factory uvicorn is given (`http=`): picklable, for worker processes."""
    limits = ConnectionLimits(settings.header_timeout, settings.max_header_bytes)
    return functools.partial(GuardedHttpToolsProtocol, limits=limits)


def _error_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap on each request head."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.head_bytes = 0
        self.in_head = True  # waiting for (the rest of) a request head
        self.refused = False  # a head over the cap was answered 431; nothing more is read
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_head_deadline()
        super().connection_lost(exc)

    def await_head(self) -> None:
        self.in_head = True
        self.head_bytes = 0
        self.cancel_head_deadline()
        self.head_deadline = self.loop.call_later(self.limits.header_timeout, self.head_too_slow)

    def cancel_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def head_too_slow(self) -> None:
        if self.in_head and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.in_head:
            self.head_bytes += len(data)
        super().data_received(data)
        # Still no whole head after this chunk: what has come so far is all head, and it is
        # not kept growing past the cap.
        if self.in_head and self.head_bytes > self.limits.max_header_bytes:
            self.refuse_head()

    def on_message_begin(self) -> None:
        # A request head starts, maybe pipelined while the one before is still being answered:
        # it is counted and timed from here too.
        super().on_message_begin()
        self.in_head = True
        self.head_bytes = 0
        if self.head_deadline is None:
            self.head_deadline = self.loop.call_later(
                self.limits.header_timeout, self.head_too_slow
            )

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.cancel_head_deadline()
        # A head that came whole in one read: its size as parsed.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self.refuse_head()
            return
        super().on_headers_complete()

    def refuse_head(self) -> None:
        """431 and close; the parser's further callbacks for this connection are ignored."""
        self.refused = True
        self.cancel_head_deadline()
        if not self.transport.is_closing():
            message = (
                "the request line and headers are larger than the limit of "
                f"{self.limits.max_header_bytes} bytes"
            )
            self.transport.write(
                _error_response(
                    431, "Request Header Fields Too Large", "headers_too_large", message
                )
            )
            self.transport.close()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # a next request whose head has already come
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self.await_head()  # the next request on this connection gets its own deadline
