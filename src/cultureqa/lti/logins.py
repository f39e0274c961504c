"""OIDC login initiation's memory: each login gets a random state (bound to the browser by a
cookie) and a nonce the platform puts in the id_token. A launch uses its login once: the
UPDATE that marks it used succeeds once, across every process and replica."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from cultureqa.errors import StoreUnavailableError
from cultureqa.lti.errors import LaunchRefusedError
from cultureqa.store.database import for_writing
from cultureqa.store.schema import lti_logins

# From the login to the launch: a redirect and a form post, seconds apart in practice.
LOGIN_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Login:
    state: str
    nonce: str


def _store_error(exc: SQLAlchemyError) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the LTI logins cannot be read or written: {exc.__class__.__name__}: "
        f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0][:200]}",
        hint="check CULTUREQA_DATABASE_URL",
    )


def begin_login(engine: Engine, platform_id: int, now: datetime | None = None) -> Login:
    """A new state and nonce for a login to this platform; logins older than LOGIN_LIFETIME
    are forgotten (a launch could no longer use them)."""
    now = now or datetime.now(UTC)
    login = Login(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
    try:
        with for_writing(engine).begin() as connection:
            connection.execute(
                delete(lti_logins).where(lti_logins.c.created_at < now - LOGIN_LIFETIME)
            )
            connection.execute(
                insert(lti_logins).values(
                    state=login.state, nonce=login.nonce, platform_id=platform_id, created_at=now
                )
            )
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return login


def use_login(
    engine: Engine, state: str, nonce: str, platform_id: int, now: datetime | None = None
) -> None:
    """Mark the login used, once. Raises LaunchRefusedError when there is no such login for
    this platform and nonce, when it was used already (a replay) or when it is too old."""
    now = now or datetime.now(UTC)
    try:
        with for_writing(engine).begin() as connection:
            done = connection.execute(
                update(lti_logins)
                .where(
                    lti_logins.c.state == state,
                    lti_logins.c.nonce == nonce,
                    lti_logins.c.platform_id == platform_id,
                    lti_logins.c.used_at.is_(None),
                    lti_logins.c.created_at >= now - LOGIN_LIFETIME,
                )
                .values(used_at=now)
            )
            if done.rowcount == 1:
                return
            used = connection.execute(
                select(lti_logins.c.used_at).where(lti_logins.c.nonce == nonce)
            ).first()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    if used is not None and used.used_at is not None:
        raise LaunchRefusedError(
            "this launch was used already (a replayed nonce)",
            hint="launch the tool again from the course",
        )
    raise LaunchRefusedError(
        "the launch's nonce matches no login of this browser (unknown, expired or for "
        "another login)",
        hint="launch the tool again from the course",
    )
