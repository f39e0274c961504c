"""The tool's own RSA keys: the newest signs what the tool issues (deep-linking responses,
course sessions); retired ones stay published and accepted for as long as a token they signed
may live, so a rotation (`cultureqa lti keys --rotate`) logs nobody out. The private keys are
in the database, so every replica signs and verifies with the same ones."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from cultureqa.errors import StoreUnavailableError
from cultureqa.store.database import for_writing
from cultureqa.store.schema import lti_keys

KEY_BITS = 2048
# A retired key is published this long after it stopped signing: longer than any token the
# tool signs lives (sessions, deep-linking responses).
RETIRED_KEY_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class ToolKey:
    kid: str
    private_pem: str
    created_at: datetime
    retired_at: datetime | None

    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)  # noqa: S101 - only RSA keys are made
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


def new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _store_error(exc: SQLAlchemyError) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the tool's LTI keys cannot be read or written: {exc.__class__.__name__}: "
        f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0][:200]}",
        hint="check CULTUREQA_DATABASE_URL, and run `cultureqa db upgrade`",
    )


def rotate_keys(engine: Engine, now: datetime | None = None) -> ToolKey:
    """Make a new signing key and retire the current one (still published for
    RETIRED_KEY_GRACE); keys retired longer ago are deleted. Returns the new key."""
    now = now or datetime.now(UTC)
    key = ToolKey(f"cqa-{secrets.token_hex(8)}", new_private_pem(), now, None)
    try:
        with for_writing(engine).begin() as connection:
            connection.execute(
                update(lti_keys).where(lti_keys.c.retired_at.is_(None)).values(retired_at=now)
            )
            connection.execute(
                delete(lti_keys).where(lti_keys.c.retired_at < now - RETIRED_KEY_GRACE)
            )
            connection.execute(
                insert(lti_keys).values(
                    kid=key.kid, private_pem=key.private_pem, created_at=now, retired_at=None
                )
            )
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    return key


def published_keys(engine: Engine, now: datetime | None = None) -> list[ToolKey]:
    """The keys in the JWKS and accepted: the signing key first, then the retired ones still
    within their grace."""
    now = now or datetime.now(UTC)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(lti_keys).order_by(lti_keys.c.created_at.desc())).all()
    except SQLAlchemyError as exc:
        raise _store_error(exc) from exc
    keys = [ToolKey(r.kid, r.private_pem, r.created_at, r.retired_at) for r in rows]
    return [k for k in keys if k.retired_at is None or k.retired_at > now - RETIRED_KEY_GRACE]


def signing_key(engine: Engine) -> ToolKey:
    """The newest key that is not retired; the first is made here when there is none."""
    current = [key for key in published_keys(engine) if key.retired_at is None]
    return current[0] if current else rotate_keys(engine)


def jwks(keys: list[ToolKey]) -> dict[str, Any]:
    """The public half of the keys, as a JWK Set (RFC 7517)."""
    return {"keys": [key.public_jwk() for key in keys]}
