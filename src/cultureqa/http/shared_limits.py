"""Rate limits shared by every process and replica: token buckets in Redis, one atomic Lua script
per token, and what happens while Redis cannot be reached (CULTUREQA_REDIS_URL).

Why a script: reading a bucket, refilling it and taking a token must be one step, or two
replicas reading a bucket at once would both spend its last token. Redis runs a script alone,
and the script reads Redis's clock (TIME), so the replicas' clocks need not agree. A bucket is a
hash, `<prefix>ratelimit:<purpose>:<client>`, that expires when it would be full again: an idle
client leaves nothing behind.

The calls are synchronous, on the event loop: a token costs one round trip (a fraction of a
millisecond on a LAN), and the code that takes tokens (the key check, several routes) is
synchronous. What bounds a dead Redis's cost is short socket timeouts (SOCKET_TIMEOUT; a
`?socket_timeout=0.5` in the URL overrides it) and a backoff: after
a failure Redis is left alone for FIRST_BACKOFF seconds, doubling up to MAX_BACKOFF, and the
checks meanwhile go straight to the failure policy. So an ask waits on a dead Redis at most
once per backoff, by at most the timeout.

While Redis cannot be reached (CULTUREQA_REDIS_FAILURE):
- fail-open: each process limits with its own in-process buckets, as without Redis: a client
  may get up to the number of processes times its budget, never an unlimited one; wrong keys
  still cost tokens, so an outage does not open the door to guessing keys.
- fail-closed: 503 `limits_unavailable` (with Retry-After) wherever a token would be taken.
Every check that could not use Redis is counted in /metrics; an outage is logged once when it
begins and once when Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cultureqa.errors import LimitsUnavailableError
from cultureqa.http.ratelimit import REQUESTS, Clock, Limiter, RateLimiter, refusal
from cultureqa.settings import Settings

log = logging.getLogger("cultureqa.limits")

# Seconds. Loopback and LAN round trips are well under a millisecond, but a loaded replica's
# thread can wait tens of milliseconds for a core: at 50 ms the cluster tests counted outages
# of a Redis that was up (each one limiting per process meanwhile). 0.25 s is a Redis that is
# not answering; an ask waits that long at most once per backoff.
SOCKET_TIMEOUT = 0.25
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 2.0

# KEYS[1]: the bucket; ARGV: tokens a second, burst. Returns the seconds to wait for a token,
# "0" when one was taken. Numbers go back as text: Redis would truncate a Lua number.
BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', string.format('%.6f', now))
-- Full again after (burst - tokens) / rate seconds: a missing bucket is a full one.
local ttl = math.ceil((burst - tokens) / rate * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
return tostring(wait)
"""


class BucketStore(Protocol):
    """Where shared buckets live: RedisBuckets, or a stand-in in tests."""

    def take(self, purpose: str, client: str, per_second: float, burst: float) -> float:
        """Seconds until a token is back (0.0: one was taken). Raises when unreachable."""
        ...


class RedisBuckets:
    """Token buckets in one Redis (or a proxy in front of several), taken by BUCKET_SCRIPT."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis  # here, not at import: only servers with a Redis URL load it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        # No retries inside redis-py: the backoff below decides when to try again.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
        self._script = self._client.register_script(BUCKET_SCRIPT)
        self.prefix = prefix

    def key(self, purpose: str, client: str) -> str:
        return f"{self.prefix}ratelimit:{purpose}:{client}"

    def take(self, purpose: str, client: str, per_second: float, burst: float) -> float:
        # EVALSHA, loading the script again when Redis has forgotten it (after a restart).
        wait = self._script(keys=[self.key(purpose, client)], args=[per_second, burst])
        return float(wait)

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class SharedLimitsStats:
    failures: int  # checks that could not use Redis
    outages: int  # times Redis stopped answering
    up: bool  # the last attempt reached Redis


class SharedRateLimiter:
    """Limiter over a BucketStore, with the failure policy; thread-safe. Same budget for a
    client on every process that shares the store."""

    def __init__(
        self,
        store: BucketStore,
        per_minute: float,
        burst: int,
        *,
        fail_closed: bool,
        errors: tuple[type[Exception], ...] = (OSError,),
        clock: Clock = time.monotonic,
    ) -> None:
        self._store = store
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._fail_closed = fail_closed
        self._errors = errors
        self._clock = clock
        self.fallback = RateLimiter(per_minute, burst, clock=clock)  # fail-open's buckets
        self._lock = threading.Lock()
        self._up = True
        self._failures = 0
        self._outages = 0
        self._backoff = 0.0
        self._retry_at = 0.0

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def check(self, client: str, purpose: str = REQUESTS) -> None:
        """Take a token from `client`'s shared bucket for `purpose`: RateLimitedError when it is
        empty; while Redis cannot be reached, the fallback bucket (fail-open) or
        LimitsUnavailableError (fail-closed)."""
        if not self.enabled:
            return
        wait = self._take(client, purpose)
        if wait is None:
            if self._fail_closed:
                raise LimitsUnavailableError(
                    "the shared rate limits cannot be checked (Redis is unreachable); "
                    "try again shortly",
                    retry_after=max(0.0, self._retry_at - self._clock()),
                )
            self.fallback.check(client, purpose)
        elif wait > 0:
            raise refusal(self._rate, self._burst, wait)

    def _take(self, client: str, purpose: str) -> float | None:
        """Seconds to wait (0.0: a token was taken), or None when Redis could not be used."""
        with self._lock:
            if self._clock() < self._retry_at:
                self._failures += 1  # backing off: Redis is not asked
                return None
        try:
            wait = self._store.take(purpose, client, self._rate, self._burst)
        except self._errors as exc:
            self._failed(exc)
            return None
        if not self._up:
            self._recovered()
        return wait

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._failures += 1
            self._backoff = min(MAX_BACKOFF, self._backoff * 2 or FIRST_BACKOFF)
            self._retry_at = self._clock() + self._backoff
            if not self._up:
                return
            self._up = False
            self._outages += 1
        policy = "answering 503" if self._fail_closed else "each process limits on its own"
        log.warning("Redis of the rate limits unreachable (%s): %s until it answers", exc, policy)

    def _recovered(self) -> None:
        with self._lock:
            if self._up:
                return
            self._up = True
            self._backoff = 0.0
            failures = self._failures
        log.info("Redis of the rate limits answers again (%d checks failed so far)", failures)

    def stats(self) -> SharedLimitsStats:
        with self._lock:
            return SharedLimitsStats(self._failures, self._outages, self._up)


class SharedLimitsCollector(Collector):
    """cultureqa_rate_limit_redis_failures_total, _outages_total and _up, read at scrape time."""

    def __init__(self, stats: Callable[[], SharedLimitsStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        yield CounterMetricFamily(
            "cultureqa_rate_limit_redis_failures",
            "Rate-limit checks that could not use Redis (answered by CULTUREQA_REDIS_FAILURE)",
            value=float(stats.failures),
        )
        yield CounterMetricFamily(
            "cultureqa_rate_limit_redis_outages",
            "Times the rate limits' Redis stopped answering",
            value=float(stats.outages),
        )
        yield GaugeMetricFamily(
            "cultureqa_rate_limit_redis_up",
            "1 when this process last reached the rate limits' Redis, else 0",
            value=1.0 if stats.up else 0.0,
        )


def make_limiter(settings: Settings) -> Limiter:
    """The limiter the settings ask for: shared in Redis with CULTUREQA_REDIS_URL (and a rate),
    else in this process."""
    per_minute, burst = settings.rate_limit_per_minute, settings.rate_limit_burst
    if settings.redis_url is None or per_minute <= 0:
        return RateLimiter(per_minute, burst)
    store = RedisBuckets(settings.redis_url.get_secret_value(), settings.redis_key_prefix)
    return SharedRateLimiter(
        store,
        per_minute,
        burst,
        fail_closed=settings.redis_failure == "fail-closed",
        errors=store.errors,
    )
