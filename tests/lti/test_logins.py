"""The login's nonce is used once, whoever races for it: two launches with the same id_token
at the same moment (two replicas, say) sign in one, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from cultureqa.lti.errors import LaunchRefusedError
from cultureqa.lti.logins import LOGIN_LIFETIME, begin_login, use_login
from cultureqa.lti.platforms import add_platform

RACERS = 8


def a_platform(engine: Engine) -> int:
    return add_platform(
        engine,
        issuer="https://lms.example.edu",
        client_id="tool",
        auth_url="https://lms.example.edu/auth",
        token_url="https://lms.example.edu/token",  # noqa: S106 - a URL, not a password
        jwks_url="https://lms.example.edu/jwks",
        deployment_ids=["1"],
    ).id


def test_racing_launches_use_a_login_once(engine: Engine) -> None:
    platform = a_platform(engine)
    login = begin_login(engine, platform)
    start = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def launch() -> None:
        start.wait()
        try:
            use_login(engine, login.state, login.nonce, platform)
            outcomes.append("signed in")
        except LaunchRefusedError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=launch) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert outcomes.count("signed in") == 1
    assert len(outcomes) == RACERS
    assert all("replayed" in o for o in outcomes if o != "signed in")


@pytest.mark.parametrize("what", ["another nonce", "another platform", "too old"])
def test_a_login_is_used_only_by_its_own_launch_in_time(engine: Engine, what: str) -> None:
    platform = a_platform(engine)
    login = begin_login(engine, platform)
    nonce, platform_id, now = login.nonce, platform, datetime.now(UTC)
    if what == "another nonce":
        nonce = begin_login(engine, platform).nonce
    elif what == "another platform":
        platform_id = platform + 1
    else:
        now += LOGIN_LIFETIME + timedelta(seconds=1)

    with pytest.raises(LaunchRefusedError, match="matches no login"):
        use_login(engine, login.state, nonce, platform_id, now=now)
    use_login(engine, login.state, login.nonce, platform)  # still there for its own launch
