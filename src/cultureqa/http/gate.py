"""A time budget for each /ask, with a bounded number of asks computed at once: at most N asks
computing (N threads), a bounded queue behind them (503 + Retry-After when full), and a deadline
(504) per ask."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

from cultureqa.errors import DeadlineExceededError, OverloadedError

T = TypeVar("T")


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
