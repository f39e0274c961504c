"""Rate limiting per client (429 + Retry-After; other clients unaffected), client identity
behind trusted proxies, and API keys for /ask (key mode), separate from admin keys."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cultureqa.errors import RateLimitedError
from cultureqa.http.ratelimit import RateLimiter, client_address, parse_networks
from cultureqa.settings import Settings
from tests.conftest import AppClient
from tests.helpers import FakeClock, FakeEmbedder, publish, settings_for

API_KEY = "a" * 32
OTHER_KEY = "b" * 32
ADMIN_KEY = "c" * 32
QUESTION = {"question": "What is City 1 known for?"}


def test_bucket_allows_the_burst_then_refuses_saying_when() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("a")
    assert refused.value.status == 429
    assert refused.value.headers() == {"Retry-After": "1"}
    limiter.check("b")  # another client has its own bucket
    clock.now += 1.0  # one token back after a second at 60 a minute
    limiter.check("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")


def test_retry_after_is_whole_seconds_until_a_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=1, clock=clock)  # a token every 10 s
    limiter.check("a")
    clock.now += 2.5
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("a")
    assert refused.value.headers() == {"Retry-After": "8"}  # 7.5 s, rounded up


def test_zero_rate_turns_limiting_off_and_idle_buckets_are_forgotten() -> None:
    off = RateLimiter(per_minute=0, burst=1)
    for _ in range(100):
        off.check("a")
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    limiter.check("a")
    assert len(limiter) == 1
    clock.now += 120
    limiter.check("b")
    assert len(limiter) == 1  # "a" was full again, so dropped


PROXIES = parse_networks(["10.0.0.1", "172.16.0.0/12"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("203.0.113.5", None, PROXIES, "203.0.113.5"),
        # Not from a trusted proxy: the header is whatever the client wrote, ignored.
        ("203.0.113.5", "198.51.100.7", PROXIES, "203.0.113.5"),
        # Off by default: no proxies configured, no header believed.
        ("10.0.0.1", "198.51.100.7", [], "10.0.0.1"),
        ("10.0.0.1", "198.51.100.7", PROXIES, "198.51.100.7"),
        # A client's forged left part is skipped: the right-most untrusted hop is the client.
        ("10.0.0.1", "1.2.3.4, 198.51.100.7, 172.16.3.3", PROXIES, "198.51.100.7"),
        ("10.0.0.1", "not-an-ip", PROXIES, "10.0.0.1"),
        ("10.0.0.1", "172.16.0.9", PROXIES, "172.16.0.9"),
        (None, None, PROXIES, "unknown"),
    ],
)
def test_client_address_behind_trusted_proxies(
    peer: str | None,
    forwarded: str | None,
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    client: str,
) -> None:
    assert client_address(peer, forwarded, proxies) == client


def _client(app_client: AppClient, settings: Settings, **options: object) -> TestClient:
    publish(settings, FakeEmbedder(), "one")
    return app_client(settings, **options)


@pytest.fixture
def limited(tmp_path: Path, app_client: AppClient) -> TestClient:
    settings = settings_for(tmp_path, rate_limit_per_minute=1, rate_limit_burst=3)
    return _client(app_client, settings)


def test_the_request_past_the_limit_gets_429_with_retry_after(limited: TestClient) -> None:
    for _ in range(3):
        assert limited.post("/ask", json=QUESTION).status_code == 200
    refused = limited.post("/ask", json=QUESTION)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert "1 a minute" in error["message"]
    # Only /ask is limited: the rest of the service still answers this client.
    assert limited.get("/health").status_code == 200
    assert limited.get("/ready").status_code == 200


def test_other_clients_are_unaffected(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(
        tmp_path, rate_limit_per_minute=1, rate_limit_burst=2, trusted_proxies=["10.0.0.1"]
    )
    # The TestClient's peer is made a trusted proxy, so X-Forwarded-For names the client.
    client = _client(app_client, settings, client=("10.0.0.1", 5000))
    greedy = {"X-Forwarded-For": "198.51.100.1"}
    honest = {"X-Forwarded-For": "198.51.100.2"}
    assert [client.post("/ask", json=QUESTION, headers=greedy).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert client.post("/ask", json=QUESTION, headers=honest).status_code == 200
    assert client.post("/ask", json=QUESTION, headers=honest).status_code == 200
    assert client.post("/ask", json=QUESTION, headers=greedy).status_code == 429


@pytest.fixture
def key_mode(tmp_path: Path, app_client: AppClient) -> TestClient:
    settings = settings_for(
        tmp_path,
        api_keys=[API_KEY, OTHER_KEY],
        admin_keys=[ADMIN_KEY],
        rate_limit_per_minute=1,
        rate_limit_burst=2,
    )
    return _client(app_client, settings)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer " + "z" * 32}, 403),
        ({"Authorization": f"Bearer {ADMIN_KEY}"}, 403),  # admin keys do not open /ask
        ({"Authorization": f"Bearer {API_KEY}"}, 200),
    ],
)
def test_key_mode_needs_an_api_key(
    key_mode: TestClient, headers: dict[str, str], status: int
) -> None:
    response = key_mode.post("/ask", json=QUESTION, headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_in_key_mode_each_key_has_its_own_rate(key_mode: TestClient) -> None:
    one = {"Authorization": f"Bearer {API_KEY}"}
    two = {"Authorization": f"Bearer {OTHER_KEY}"}
    assert [key_mode.post("/ask", json=QUESTION, headers=one).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert key_mode.post("/ask", json=QUESTION, headers=two).status_code == 200


def test_public_mode_answers_without_a_key(tmp_path: Path, app_client: AppClient) -> None:
    client = _client(app_client, settings_for(tmp_path))
    assert client.post("/ask", json=QUESTION).status_code == 200
    # A key that is not configured changes nothing in public mode: still the address.
    fake = {"Authorization": "Bearer " + "f" * 32}
    assert client.post("/ask", json=QUESTION, headers=fake).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"api_keys": ["short"]},
        {"trusted_proxies": ["not-a-network"]},
        {"rate_limit_per_minute": -1},
        {"rate_limit_burst": 0},
        {"max_request_bytes": 10},
        {"request_timeout": 0},
        {"max_concurrent_asks": 0},
        {"workers": 0},
    ],
)
def test_unsafe_limit_settings_are_refused(overrides: dict[str, object]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(**overrides)  # type: ignore[arg-type]


def test_every_forwarded_for_header_is_read_not_only_the_first(
    tmp_path: Path, app_client: AppClient
) -> None:
    # The client writes a header of its own; the trusted proxy adds another with the real
    # address. Reading only the first would give each made-up address its own bucket.
    settings = settings_for(
        tmp_path, rate_limit_per_minute=1, rate_limit_burst=2, trusted_proxies=["10.0.0.1"]
    )
    client = _client(app_client, settings, client=("10.0.0.1", 5000))
    statuses = [
        client.post(
            "/ask",
            json=QUESTION,
            headers=[("X-Forwarded-For", f"192.0.2.{n}"), ("X-Forwarded-For", "198.51.100.7")],
        ).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_wrong_keys_are_guessed_no_faster_than_the_rate(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(
        tmp_path,
        api_keys=[API_KEY],
        admin_keys=[ADMIN_KEY],
        rate_limit_per_minute=1,
        rate_limit_burst=2,
    )
    client = _client(app_client, settings)
    wrong = {"Authorization": "Bearer " + "g" * 32}
    assert client.post("/ask", json=QUESTION, headers=wrong).status_code == 403
    assert client.get("/admin/collections", headers=wrong).status_code == 403
    # The address's bucket is empty now: guessing, on either door, is refused for a while.
    assert client.post("/ask", json=QUESTION, headers=wrong).status_code == 429
    assert client.get("/admin/collections", headers=wrong).status_code == 429
    # A valid key has its own bucket, untouched.
    good = {"Authorization": f"Bearer {API_KEY}"}
    assert client.post("/ask", json=QUESTION, headers=good).status_code == 200


def test_key_mode_keeps_articles_and_collection_names_for_key_holders(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path, api_keys=[API_KEY], admin_keys=[ADMIN_KEY])
    client = _client(app_client, settings)
    key = {"Authorization": f"Bearer {API_KEY}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    # Whole articles: no more public than the answers that quote them.
    assert client.get("/articles/city0").status_code == 401
    assert client.get("/articles/city0", headers=key).status_code == 200
    # No collection names for whoever asks: not in errors, not on /ready.
    unknown = client.post("/ask", json={**QUESTION, "collection": "secret"}, headers=key)
    assert unknown.status_code == 404
    assert "known collections" not in unknown.json()["error"]["message"]
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["collections"] == []
    # The metrics name every collection: an admin key is needed for them.
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=key).status_code == 403
    assert client.get("/metrics", headers=admin).status_code == 200


def test_public_mode_still_names_the_collections(tmp_path: Path, app_client: AppClient) -> None:
    client = _client(app_client, settings_for(tmp_path))
    unknown = client.post("/ask", json={**QUESTION, "collection": "secret"})
    assert "known collections: default" in unknown.json()["error"]["message"]
    assert [c["name"] for c in client.get("/ready").json()["collections"]] == ["default"]
    assert client.get("/metrics").status_code == 200
    assert client.get("/articles/city0").status_code == 200


def test_article_pages_do_not_spend_the_ask_budget(tmp_path: Path, app_client: AppClient) -> None:
    client = _client(
        app_client, settings_for(tmp_path, rate_limit_per_minute=1, rate_limit_burst=1)
    )
    assert [client.get("/articles/city0").status_code for _ in range(3)] == [200, 200, 200]
    assert client.post("/ask", json=QUESTION).status_code == 200
