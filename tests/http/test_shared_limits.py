"""Rate limits shared in Redis (CULTUREQA_REDIS_URL), against a real Redis: two apps give one
client one budget, wrong keys are counted across both, and while Redis is unreachable (a closed
port, a server shut down) fail-open answers and fail-closed refuses, each failure counted in
/metrics, until Redis is back and the budget is shared again."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cultureqa.errors import LimitsUnavailableError, RateLimitedError
from cultureqa.http.shared_limits import (
    MAX_BACKOFF,
    SOCKET_TIMEOUT,
    RedisBuckets,
    SharedRateLimiter,
    make_limiter,
)
from cultureqa.settings import Settings
from cultureqa.testing import free_port
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for
from tests.redis_server import (
    RedisServer,
    delete_prefix,
    redis_for_tests,
    spare_redis,
    unique_prefix,
)

QUESTION = {"question": "What is City 1 known for?"}
API_KEY = "a" * 32
ADMIN_KEY = "c" * 32
PROXY = ("10.0.0.1", 5000)  # the TestClient's peer, trusted: X-Forwarded-For names the client


@pytest.fixture
def redis_url() -> str:
    return redis_for_tests()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, its keys deleted after it."""
    name = unique_prefix()
    yield name
    delete_prefix(redis_url, name)


def two_apps(app_client: AppClient, tmp_path: Path, **overrides: object) -> list[TestClient]:
    """Two apps over one index with the same settings: two replicas, each with its own
    question log."""
    settings = settings_for(tmp_path, trusted_proxies=["10.0.0.1"], **overrides)
    publish(settings, FakeEmbedder(), "one")
    apps = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        copy = settings.model_copy(update={"feedback_path": tmp_path / name / "feedback.jsonl"})
        app = app_client(copy, client=PROXY)
        # One at a time: Alembic's migration context is process-wide, and two apps in one
        # process migrating at once trip over it (two replicas are two processes).
        app.app.state.cultureqa.question_log.wait_until_ready()  # type: ignore[attr-defined]
        apps.append(app)
    return apps


def ask(app: TestClient, client: str) -> int:
    return app.post("/ask", json=QUESTION, headers={"X-Forwarded-For": client}).status_code


def metric(app: TestClient, name: str) -> float:
    text = app.get("/metrics").text
    found = re.search(rf"^{name} (\S+)$", text, flags=re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def test_two_apps_share_one_budget(
    app_client: AppClient, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    apps = two_apps(
        app_client,
        tmp_path,
        redis_url=redis_url,
        redis_key_prefix=prefix,
        rate_limit_per_minute=1,
        rate_limit_burst=5,
    )
    statuses = [ask(apps[n % 2], "198.51.100.1") for n in range(12)]
    # One budget across both: the burst, then 429 from either (alone each would give 5).
    assert statuses.count(200) == 5
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    refused = apps[1].post("/ask", json=QUESTION, headers={"X-Forwarded-For": "198.51.100.1"})
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    # Another client has its own bucket, on both.
    assert [ask(app, "198.51.100.2") for app in apps] == [200, 200]
    assert metric(apps[0], "cultureqa_rate_limit_redis_up") == 1.0
    assert metric(apps[0], "cultureqa_rate_limit_redis_failures_total") == 0.0


def test_across_two_apps_a_client_gets_burst_plus_rate_in_a_window(
    app_client: AppClient, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    apps = two_apps(
        app_client,
        tmp_path,
        redis_url=redis_url,
        redis_key_prefix=prefix,
        rate_limit_per_minute=600,  # 10 a second
        rate_limit_burst=4,
    )
    allowed, n = 0, 0
    start = time.monotonic()
    while time.monotonic() - start < 1.5:
        allowed += ask(apps[n % 2], "198.51.100.3") == 200
        n += 1
    window = time.monotonic() - start
    budget = 4 + 10 * window
    assert n > 1.5 * budget  # the client asked for more than its budget
    assert budget - 1.5 <= allowed <= budget + 1


def test_wrong_keys_are_counted_across_apps(
    app_client: AppClient, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    apps = two_apps(
        app_client,
        tmp_path,
        redis_url=redis_url,
        redis_key_prefix=prefix,
        api_keys=[API_KEY],
        admin_keys=[ADMIN_KEY],
        rate_limit_per_minute=1,
        rate_limit_burst=2,
    )
    wrong = {"Authorization": "Bearer " + "g" * 32, "X-Forwarded-For": "203.0.113.9"}
    assert apps[0].post("/ask", json=QUESTION, headers=wrong).status_code == 403
    assert apps[1].get("/admin/collections", headers=wrong).status_code == 403
    # Two guesses, one on each replica, emptied the address's one bucket.
    assert apps[0].get("/admin/collections", headers=wrong).status_code == 429
    assert apps[1].post("/ask", json=QUESTION, headers=wrong).status_code == 429
    good = {"Authorization": f"Bearer {API_KEY}", "X-Forwarded-For": "203.0.113.9"}
    assert apps[1].post("/ask", json=QUESTION, headers=good).status_code == 200


def test_a_bucket_expires_once_full_and_purposes_are_separate(redis_url: str, prefix: str) -> None:
    store = RedisBuckets(redis_url, prefix)
    limiter = SharedRateLimiter(store, per_minute=60, burst=3, fail_closed=False)
    limiter.check("ip:192.0.2.1")
    limiter.check("ip:192.0.2.1", purpose="uploads")
    with redis.Redis.from_url(redis_url) as client:
        ttl = client.pttl(store.key("requests", "ip:192.0.2.1"))
        # One token spent at one a second: full again in 1 s (plus a second of slack).
        assert 1000 < ttl <= 2000
        assert client.exists(store.key("uploads", "ip:192.0.2.1"))
    for _ in range(2):
        limiter.check("ip:192.0.2.1")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("ip:192.0.2.1")
    assert refused.value.headers() == {"Retry-After": "1"}
    limiter.check("ip:192.0.2.1", purpose="uploads")  # its own bucket
    store.close()


@pytest.mark.parametrize(
    "overrides",
    [
        {"redis_url": "http://127.0.0.1:6379"},
        {"redis_failure": "fail-sometimes"},
        {"redis_key_prefix": "has space"},
        {"redis_key_prefix": ""},
    ],
)
def test_bad_redis_settings_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**overrides)  # type: ignore[arg-type]


def test_without_redis_or_without_a_rate_the_limits_stay_in_process() -> None:
    assert not isinstance(make_limiter(Settings()), SharedRateLimiter)
    unused = Settings(redis_url="redis://127.0.0.1:1/0", rate_limit_per_minute=0)
    assert not isinstance(make_limiter(unused), SharedRateLimiter)
    assert isinstance(make_limiter(Settings(redis_url="redis://h/0")), SharedRateLimiter)


def test_closed_port_fail_open_limits_in_process_and_counts(
    app_client: AppClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cultureqa.limits")
    closed = f"redis://127.0.0.1:{free_port()}/0"
    apps = two_apps(
        app_client, tmp_path, redis_url=closed, rate_limit_per_minute=1, rate_limit_burst=3
    )
    # Each app falls back to its own buckets: answered up to the burst there, then 429.
    assert [ask(apps[0], "198.51.100.4") for _ in range(4)] == [200, 200, 200, 429]
    assert ask(apps[1], "198.51.100.4") == 200
    assert metric(apps[0], "cultureqa_rate_limit_redis_failures_total") == 4.0
    assert metric(apps[0], "cultureqa_rate_limit_redis_outages_total") == 1.0
    assert metric(apps[0], "cultureqa_rate_limit_redis_up") == 0.0
    warnings = [r for r in caplog.records if r.name == "cultureqa.limits"]
    assert len(warnings) == 2  # once per app, not once per ask
    assert "unreachable" in warnings[0].getMessage()


def test_closed_port_fail_closed_refuses_with_503(app_client: AppClient, tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_failure="fail-closed"
    )
    publish(settings, FakeEmbedder(), "one")  # an index: only the limit decides
    app = app_client(settings)
    refused = app.post("/ask", json=QUESTION)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "limits_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
    assert app.get("/health").status_code == 200  # what takes no token is answered
    assert metric(app, "cultureqa_rate_limit_redis_failures_total") == 1.0


def test_a_redis_that_never_answers_stalls_a_check_for_one_timeout_only() -> None:
    # A socket that listens but never answers: the connection opens, the reply never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        limiter = make_limiter(Settings(redis_url=url))
        start = time.perf_counter()
        limiter.check("ip:192.0.2.7")  # fail-open: answered from the process's bucket
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(10):
            limiter.check("ip:192.0.2.7")  # backing off: Redis is not waited for
        rest = time.perf_counter() - start
    assert SOCKET_TIMEOUT <= first < SOCKET_TIMEOUT + 0.15
    assert rest < 0.02
    with pytest.raises(RateLimitedError):
        for _ in range(20):
            limiter.check("ip:192.0.2.7")  # the fallback bucket still limits


def wait_until_shared_again(apps: list[TestClient], timeout: float = MAX_BACKOFF * 5) -> None:
    """Ask with throwaway clients until every app reaches Redis again (a check is what tries
    it, once the backoff has passed)."""
    deadline = time.monotonic() + timeout
    probe = 0
    while time.monotonic() < deadline:
        probe += 1
        for app in apps:
            ask(app, f"192.0.2.{probe % 250}")
        if all(metric(app, "cultureqa_rate_limit_redis_up") == 1.0 for app in apps):
            return
        time.sleep(0.1)
    raise AssertionError(f"the apps did not reach Redis again within {timeout} s")


def outage_apps(
    app_client: AppClient, tmp_path: Path, server: RedisServer, policy: str
) -> list[TestClient]:
    return two_apps(
        app_client,
        tmp_path,
        redis_url=server.url,
        redis_failure=policy,
        rate_limit_per_minute=1,
        rate_limit_burst=3,
    )


def test_a_real_outage_fail_open_keeps_answering_then_shares_again(
    app_client: AppClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cultureqa.limits")
    (tmp_path / "redis").mkdir()
    with spare_redis(tmp_path / "redis") as server:
        apps = outage_apps(app_client, tmp_path, server, "fail-open")
        assert [ask(apps[n % 2], "198.51.100.5") for n in range(4)] == [200, 200, 200, 429]
        server.stop()
        # Redis down: each app limits on its own and keeps answering.
        assert [ask(apps[n % 2], "198.51.100.6") for n in range(4)] == [200] * 4
        for app in apps:
            assert metric(app, "cultureqa_rate_limit_redis_failures_total") >= 2
            assert metric(app, "cultureqa_rate_limit_redis_up") == 0.0
        server.start()
        wait_until_shared_again(apps)
        assert [ask(apps[n % 2], "198.51.100.7") for n in range(4)] == [200, 200, 200, 429]
        with redis.Redis.from_url(server.url) as client:
            assert client.exists("cultureqa:ratelimit:requests:ip:198.51.100.7")
    messages = [r.getMessage() for r in caplog.records if r.name == "cultureqa.limits"]
    assert sum("unreachable" in m for m in messages) == 2  # once per app for the outage
    assert sum("answers again" in m for m in messages) == 2


def test_a_real_outage_fail_closed_refuses_then_recovers(
    app_client: AppClient, tmp_path: Path
) -> None:
    (tmp_path / "redis").mkdir()
    with spare_redis(tmp_path / "redis") as server:
        apps = outage_apps(app_client, tmp_path, server, "fail-closed")
        assert ask(apps[0], "198.51.100.8") == 200
        server.stop()
        refused = apps[1].post("/ask", json=QUESTION, headers={"X-Forwarded-For": "198.51.1.1"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "limits_unavailable"
        assert metric(apps[1], "cultureqa_rate_limit_redis_failures_total") >= 1
        server.start()
        wait_until_shared_again(apps)
        assert [ask(apps[n % 2], "198.51.100.9") for n in range(4)] == [200, 200, 200, 429]


def test_fail_closed_error_is_a_503_with_retry_after() -> None:
    error = LimitsUnavailableError("down", retry_after=0.2)
    assert (error.status, error.code, error.headers()) == (
        503,
        "limits_unavailable",
        {"Retry-After": "1"},
    )
