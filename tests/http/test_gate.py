"""The ask gate's threads: work in arrival order, the most recently idle thread woken first,
errors handed to the waiter, queued work cancelled at shutdown."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from cultureqa.http.gate import WarmPool


def test_one_client_at_a_time_is_served_by_one_warm_thread() -> None:
    pool = WarmPool(8, "test")
    try:
        # Eight threads exist after a burst of eight blocked tasks...
        release = threading.Event()
        burst = [pool.submit(release.wait) for _ in range(8)]
        release.set()
        assert all(future.result() for future in burst)
        while pool.idle < 8:  # each goes back to waiting just after handing its result over
            time.sleep(0.001)
        # ...and requests one after another are then served by one of them, not each in turn
        # (two at most: a thread preempted between its result and its going idle, on a busy
        # machine, lets the next request wake another).
        served = {pool.submit(threading.get_ident).result() for _ in range(50)}
        assert len(served) <= 2
    finally:
        pool.shutdown()


def test_work_runs_in_order_on_at_most_size_threads() -> None:
    pool = WarmPool(2, "test")
    release = threading.Event()
    order: list[int] = []
    try:
        blockers = [pool.submit(release.wait) for _ in range(2)]
        queued = [pool.submit(functools.partial(order.append, n)) for n in range(5)]
        assert order == []  # both threads are busy
        release.set()
        for future in blockers + queued:
            future.result()
        assert sorted(order) == list(range(5))
    finally:
        pool.shutdown()
    assert threading.active_count() < 50


def test_an_error_reaches_the_waiter_and_the_thread_lives_on() -> None:
    pool = WarmPool(1, "test")

    def fail() -> None:
        raise ValueError("broken")

    try:
        with pytest.raises(ValueError, match="broken"):
            pool.submit(fail).result()
        assert pool.submit(lambda: 42).result() == 42
    finally:
        pool.shutdown()


def test_shutdown_cancels_what_waits_and_ends_the_threads() -> None:
    started = threading.Event()
    release = threading.Event()
    initialized: list[str] = []
    pool = WarmPool(1, "test", initializer=lambda: initialized.append("yes"))

    def running() -> str:
        started.set()
        release.wait()
        return "done"

    first = pool.submit(running)
    started.wait()
    waiting = pool.submit(lambda: "never")
    assert waiting.cancel()  # still queued: it will not run
    later = pool.submit(lambda: "never either")
    release.set()
    pool.shutdown()
    assert first.result() == "done"
    assert later.cancelled() or later.result() == "never either"
    assert initialized == ["yes"]
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
