"""Who may ask, and how often: the /ask guard (API keys in key mode, per-client rate limits).

Public mode (no CULTUREQA_API_KEYS): anyone may ask; each client address has its own rate.
Key mode: /ask needs `Authorization: Bearer <key>` with one of the keys (401 without, 403 with
a wrong one), and each key has its own rate. Admin keys are separate and do not open /ask.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from .errors import ForbiddenError, UnauthorizedError
from .ratelimit import RateLimiter, client_address, parse_networks
from .settings import Settings


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class AskGuard:
    """A FastAPI dependency for /ask: checks the API key (key mode) and takes a token from the
    client's bucket. The client is the key when a valid one is sent, else the address."""

    def __init__(self, settings: Settings) -> None:
        self._keys = [key.get_secret_value().encode() for key in settings.api_keys]
        self._proxies = parse_networks(settings.trusted_proxies)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)

    @property
    def key_mode(self) -> bool:
        return bool(self._keys)

    def _valid_key(self, token: str | None) -> bytes | None:
        if token is None:
            return None
        given = token.encode()
        # Compare with every key, in constant time, so timing says nothing about which matched.
        matches = [key for key in self._keys if hmac.compare_digest(given, key)]
        return matches[0] if matches else None

    def client(self, request: Request) -> str:
        """The rate-limit identity: a digest of a valid key (never the key itself), else the
        client's address (X-Forwarded-For only from trusted proxies)."""
        key = self._valid_key(_bearer(request))
        if key is not None:
            return "key:" + hashlib.sha256(key).hexdigest()[:16]
        peer = request.client.host if request.client else None
        return "ip:" + client_address(peer, request.headers.get("x-forwarded-for"), self._proxies)

    async def __call__(self, request: Request) -> None:
        if self.key_mode:
            token = _bearer(request)
            if token is None:
                raise UnauthorizedError(
                    "this server needs an API key for /ask: send 'Authorization: Bearer <key>'"
                )
            if self._valid_key(token) is None:
                raise ForbiddenError("wrong API key")
        self.limiter.check(self.client(request))
