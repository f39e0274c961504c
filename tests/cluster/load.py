"""Clients for the cluster tests: N students asking in a loop for S seconds, each from an address
of its own (X-Forwarded-For, which nginx passes on and the replicas believe from it), while
events (a replica killed, a service stopped) happen at set times. Every request's outcome is
kept: status, the replica that answered, the ask id."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from tests.cluster.processes import UPSTREAM_HEADER

QUESTIONS = [
    "What is Hamhung known for?",
    "What do people eat in Kyoto?",
    "When is the lantern festival?",
    "What music is played in Hamhung?",
    "Which temples are in Kyoto?",
    "How are the lanterns made?",
    "What is the capital of Peru?",  # no article answers it
]
# A request's bound: far above any answer's time on a loaded machine, so that a stuck
# request fails the test instead of hanging it.
CLIENT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Outcome:
    client: int
    sent: float  # seconds since the load began
    took: float
    status: int | None  # None: no HTTP answer (the error says why)
    error: str | None
    upstream: str  # the X-Upstream header: which replica(s) nginx tried
    ask_id: str | None

    @property
    def answered_by(self) -> str:
        """The replica whose answer the client got (the last one nginx tried)."""
        return self.upstream.rsplit(",", 1)[-1].strip()


@dataclass(frozen=True)
class Event:
    at: float  # seconds after the load began
    name: str
    action: Callable[[], None]  # blocking; run on a thread


@dataclass
class Load:
    """What a run of run_load saw: every request's outcome, and when each event happened (its
    action's start and end, in seconds since the load began)."""

    outcomes: list[Outcome] = field(default_factory=list)
    events: dict[str, tuple[float, float]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: requests, statuses, answers per replica, requests nginx passed on."""
        outcomes = self.outcomes
        statuses = Counter(str(o.status) if o.status else "no answer" for o in outcomes)
        by_replica = Counter(o.answered_by for o in outcomes if o.status == 200)
        passed_on = sum("," in o.upstream for o in outcomes)
        slowest = max((o.took for o in outcomes), default=0.0)
        events = ", ".join(f"{name} at {at:.1f} s" for name, (at, _) in self.events.items())
        return (
            f"{len(outcomes)} requests, statuses {dict(statuses)}, answers per replica "
            f"{dict(by_replica)}, passed on to another replica {passed_on}, slowest "
            f"{slowest:.2f} s; {events or 'no events'}"
        )


def client_address(client: int) -> str:
    """TEST-NET-2 addresses, one per client (a student's own budget)."""
    return f"198.51.100.{client % 250 + 1}"


async def ask_in_a_loop(
    url: str,
    client: int,
    began: float,
    deadline: float,
    outcomes: list[Outcome],
    max_requests: int,
    address: str,
    interval: float = 0.0,
) -> None:
    """Ask one question after another until `deadline` (and at most `max_requests`), on one
    keep-alive connection, as a browser would; each ask starts at least `interval` seconds
    after the previous one began (0: at once)."""
    headers = {"X-Forwarded-For": address}
    limits = httpx.Limits(max_connections=1)
    questions = itertools.cycle(QUESTIONS[client % len(QUESTIONS) :] + QUESTIONS)
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S, limits=limits) as http:
        for _ in range(max_requests):
            now = time.monotonic()
            if now >= deadline:
                return
            body = {"question": next(questions), "top_k": 3}
            status: int | None = None
            error = upstream = None
            ask_id = None
            try:
                response = await http.post(f"{url}/ask", json=body, headers=headers)
                status = response.status_code
                upstream = response.headers.get(UPSTREAM_HEADER)
                if status == 200:
                    ask_id = response.json()["ask_id"]
                else:
                    error = response.text[:300]
            except httpx.HTTPError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            took = time.monotonic() - now
            outcomes.append(
                Outcome(client, now - began, took, status, error, upstream or "", ask_id)
            )
            await asyncio.sleep(max(0.0, now + interval - time.monotonic()))


async def _run(
    url: str,
    clients: int,
    seconds: float,
    events: Sequence[Event],
    max_requests: int,
    addresses: Callable[[int], str],
    interval: float,
) -> Load:
    load = Load()
    outcomes = load.outcomes
    began = time.monotonic()
    deadline = began + seconds

    async def happen(event: Event) -> None:
        await asyncio.sleep(max(0.0, began + event.at - time.monotonic()))
        started = time.monotonic() - began
        await asyncio.to_thread(event.action)
        load.events[event.name] = (started, time.monotonic() - began)

    tasks = [
        ask_in_a_loop(url, n, began, deadline, outcomes, max_requests, addresses(n), interval)
        for n in range(clients)
    ]
    await asyncio.gather(*tasks, *(happen(event) for event in events))
    return load


def run_load(
    url: str,
    clients: int,
    seconds: float,
    events: Sequence[Event] = (),
    *,
    max_requests: int = 10_000,
    addresses: Callable[[int], str] = client_address,
    interval: float = 0.0,
) -> Load:
    """`clients` clients asking through `url` for `seconds` seconds, the events at their
    times, each client's asks at least `interval` seconds apart; returns once every client and
    every event is done."""
    return asyncio.run(_run(url, clients, seconds, events, max_requests, addresses, interval))
