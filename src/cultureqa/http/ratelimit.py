"""Per-client rate limiting: an in-memory token bucket per client, and who the client is.

Each client has a bucket of `burst` tokens per purpose that refills at `per_minute / 60` tokens
a second; a request takes one token, and a request that finds the bucket empty is refused with
the seconds until a token is back. Buckets live in the server process (with `serve --workers N`,
each worker keeps its own, so a client may get up to N times the rate); idle ones are dropped.
With CULTUREQA_REDIS_URL they live in Redis instead, shared by every process
(shared_limits.py), and these are the fallback while Redis cannot be reached.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cultureqa.errors import RateLimitedError

Clock = Callable[[], float]

# What a token is spent on: /ask, /feedback, erasing a conversation and a wrong key all take
# from the client's one request budget (a wrong key from its address's), as documented.
REQUESTS = "requests"

# Buckets idle this long are full again and can be forgotten; checked at most this often.
_SWEEP_SECONDS = 60.0


class Limiter(Protocol):
    """What the routes call: RateLimiter here, or shared_limits.SharedRateLimiter."""

    @property
    def enabled(self) -> bool: ...

    def check(self, client: str, purpose: str = REQUESTS) -> None: ...


def refusal(per_second: float, burst: float, wait: float) -> RateLimitedError:
    """The 429 for a client whose bucket is empty, `wait` seconds before a token is back."""
    return RateLimitedError(
        f"too many requests: the limit is {per_second * 60:g} a minute with bursts of "
        f"{burst:g}; try again in {math.ceil(wait)} s",
        retry_after=wait,
    )


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by client. Thread-safe; `per_minute == 0` allows everything."""

    def __init__(self, per_minute: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        self._rate = per_minute / 60.0  # tokens per second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def check(self, client: str, purpose: str = REQUESTS) -> None:
        """Take a token from `client`'s bucket for `purpose`, or raise RateLimitedError saying
        when to try again."""
        if not self.enabled:
            return
        key = f"{purpose}:{client}"
        with self._lock:
            now = self._clock()
            self._sweep(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self._burst, now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self._rate
        raise refusal(self._rate, self._burst, wait)

    def _sweep(self, now: float) -> None:
        if now - self._swept < _SWEEP_SECONDS:
            return
        self._swept = now
        full_after = self._burst / self._rate
        self._buckets = {
            client: bucket
            for client, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }

    def __len__(self) -> int:
        return len(self._buckets)


def parse_networks(values: Sequence[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(value, strict=False) for value in values]


def is_trusted(
    address: str, proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    """Whether `address` is in one of the trusted proxies' networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None,
    forwarded_for: str | None,
    proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> str:
    """The address a request came from.

    The TCP peer, unless the peer is a trusted proxy: then X-Forwarded-For is read from the
    right, skipping trusted proxies, and the first address that is not one is the client (the
    left part of the header is whatever the client chose to send, so it is never believed).
    """
    address = peer or "unknown"
    if not proxies or not forwarded_for or not is_trusted(address, proxies):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed hop: stop at the last address we can vouch for
        address = hop
        if not is_trusted(hop, proxies):
            return hop
    return address
