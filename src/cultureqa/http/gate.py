"""A time budget for each /ask, with a bounded number of asks computed at once: at most N asks
computing (N threads), a bounded queue behind them (503 + Retry-After when full), and a deadline
(504) per ask.

The threads are taken most recently idle first: with micro-batching there are many (a batch's
worth), and a lone client served by each in turn would find a cold one every time (its caches,
its memory arena, the model's buffers for it), which costs it a millisecond and more an ask on
these cores; taken last-in first-out, the same warm thread serves it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

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
        self._pool = WarmPool(slots, "cultureqa-ask", initializer)
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
            async with asyncio.timeout(self.timeout):
                return await asyncio.wrap_future(future)
        except TimeoutError as exc:
            future.cancel()  # still queued: never runs
            raise DeadlineExceededError(
                f"the question was not answered within the time budget of {self.timeout:g} s",
                hint="try again; the server is busy",
            ) from exc

    def shutdown(self) -> None:
        self._pool.shutdown()


class WarmPool:
    """Up to `size` threads, started as needed, running submitted work in the order it came;
    an idle thread is woken most recently idle first (see the module's docstring)."""

    def __init__(self, size: int, name: str, initializer: Callable[[], None] | None = None) -> None:
        self._size = size
        self._name = name
        self._initializer = initializer
        self._lock = threading.Lock()
        self._work: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._idle: list[threading.Event] = []  # a stack: the last one idle is woken first
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def idle(self) -> int:
        """Threads waiting for work."""
        with self._lock:
            return len(self._idle)

    def submit(self, work: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            self._work.append((future, work))
            if self._idle:
                self._idle.pop().set()
            elif len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._serve, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _serve(self) -> None:
        if self._initializer is not None:
            self._initializer()
        wake = threading.Event()
        while True:
            with self._lock:
                if self._work:
                    future, work = self._work.popleft()
                elif self._closed:
                    return
                else:
                    wake.clear()
                    self._idle.append(wake)
                    future = None
            if future is None:
                wake.wait()
            elif future.set_running_or_notify_cancel():  # False: cancelled while queued
                try:
                    result = work()
                except BaseException as exc:  # handed to the waiter, as an executor does
                    future.set_exception(exc)
                else:
                    future.set_result(result)

    def shutdown(self) -> None:
        """Cancel the work not started, let the running finish, and end the threads."""
        with self._lock:
            self._closed = True
            for future, _ in self._work:
                future.cancel()
            self._work.clear()
            for wake in self._idle:
                wake.set()
            self._idle.clear()
            threads = list(self._threads)
        for thread in threads:
            thread.join()
