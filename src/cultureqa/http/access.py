"""Who may ask, and how often: the /ask guard (API keys in key mode, per-client rate limits).

Public mode (no CULTUREQA_API_KEYS nor CULTUREQA_COLLECTION_KEYS): anyone may ask; each client
address has its own rate. Key mode: /ask needs `Authorization: Bearer <key>` with one of the
keys (401 without, 403 with a wrong one), and each key has its own rate. A key of
CULTUREQA_COLLECTION_KEYS opens only the collections it is listed under (403 elsewhere, before
the collection is looked up, so the answer says nothing of which collections exist). Admin
keys are separate and do not open /ask. The buckets are this process's, or shared by every
process in Redis (shared_limits.py, CULTUREQA_REDIS_URL).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import NoReturn

from fastapi import Request

from cultureqa.errors import ForbiddenError, UnauthorizedError
from cultureqa.http.grants import GRANT_PARAMETER, ArticleGrants
from cultureqa.http.ratelimit import Limiter, client_address, is_trusted, parse_networks
from cultureqa.http.shared_limits import make_limiter
from cultureqa.lti.sessions import looks_like_session
from cultureqa.settings import Settings


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def matching_key(token: str | None, keys: Sequence[bytes]) -> bytes | None:
    """The key equal to `token`, or None. Compared with every key, in constant time, so timing
    says nothing about which matched or how much of one."""
    if token is None:
        return None
    given = token.encode()
    matches = [key for key in keys if hmac.compare_digest(given, key)]
    return matches[0] if matches else None


class AskGuard:
    """A FastAPI dependency for /ask: checks the API key (key mode) and takes a token from the
    client's bucket. The client is the key when a valid one is sent, else the address."""

    def __init__(self, settings: Settings) -> None:
        self._open = [key.get_secret_value().encode() for key in settings.api_keys]
        self._scopes: dict[bytes, set[str]] = {}  # a limited key: the collections it opens
        for collection, keys in settings.collection_keys.items():
            for key in keys:
                self._scopes.setdefault(key.get_secret_value().encode(), set()).add(collection)
        self._keys = self._open + [key for key in self._scopes if key not in self._open]
        self._proxies = parse_networks(settings.trusted_proxies)
        self.limiter: Limiter = make_limiter(settings)
        # Key mode: an answer's citations carry grants that open their article pages.
        self.grants = ArticleGrants.from_keys(self._keys)
        # LTI course sessions (lti/sessions.py), set when the app starts: a session token as
        # Bearer opens its course's collection only, in key mode and in public mode alike.
        self.sessions: Callable[[str], str] | None = None

    @property
    def key_mode(self) -> bool:
        return bool(self._keys)

    def client(self, request: Request) -> str:
        """The rate-limit identity: a digest of a valid key (never the key itself), else the
        client's address (X-Forwarded-For only from trusted proxies)."""
        key = matching_key(bearer_token(request.headers.get("authorization")), self._keys)
        if key is not None:
            return "key:" + hashlib.sha256(key).hexdigest()[:16]
        return self.address(request)

    def address(self, request: Request) -> str:
        """The client's address as a rate-limit identity."""
        peer = request.client.host if request.client else None
        # Every X-Forwarded-For header, in order: a proxy appends to the last one, so reading
        # only the first would believe what the client wrote.
        forwarded = ", ".join(request.headers.getlist("x-forwarded-for")) or None
        return "ip:" + client_address(peer, forwarded, self._proxies)

    def over_https(self, request: Request) -> bool:
        """Whether the browser reached us over HTTPS: the connection's own scheme, or, from a
        trusted proxy that ended TLS, the last X-Forwarded-Proto (the one that proxy set)."""
        if request.url.scheme == "https":
            return True
        forwarded = request.headers.getlist("x-forwarded-proto")
        last = forwarded[-1].split(",")[-1].strip().lower() if forwarded else ""
        return last == "https" and self.from_trusted_proxy(request)

    def from_trusted_proxy(self, request: Request) -> bool:
        """Whether the request's TCP peer is a trusted proxy (CULTUREQA_TRUSTED_PROXIES)."""
        peer = request.client.host if request.client else None
        return peer is not None and is_trusted(peer, self._proxies)

    async def __call__(self, request: Request) -> None:
        self.check_key(request)
        self.limiter.check(self.client(request))

    def session_collection(self, request: Request) -> str | None:
        """The collection the request's LTI course session opens; None without one. A session
        that does not verify (expired, forged) is a 401."""
        token = bearer_token(request.headers.get("authorization"))
        if token is None or self.sessions is None or not looks_like_session(token):
            return None
        return self.sessions(token)

    def check_key(self, request: Request) -> None:
        """Key mode: 401 without an API key, 403 (refuse_key) with a wrong one. An LTI course
        session passes (its collection is checked by check_collection)."""
        if self.session_collection(request) is not None or not self.key_mode:
            return
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            raise UnauthorizedError(
                "this server needs an API key: send 'Authorization: Bearer <key>'"
            )
        if matching_key(token, self._keys) is None:
            self.refuse_key(request, "wrong API key")

    def check_article_page(self, request: Request, collection: str, article_id: str) -> None:
        """check_key for an article page: a valid reading grant for this article of this
        collection (a citation's link, grants.py) stands for the key."""
        grant = request.query_params.get(GRANT_PARAMETER)
        if self.key_mode and self.grants.valid(grant, collection, article_id):
            return
        self.check_key(request)

    def check_collection(self, request: Request, collection: str) -> None:
        """Key mode: 403 when the request's key is limited to collections other than this one.
        Call it after check_key (the key is then a valid one). An LTI course session opens
        its course's collection and no other, whatever the mode."""
        scoped = self.session_collection(request)
        if scoped is not None:
            if collection != scoped:
                raise ForbiddenError("this course's session opens its own collection only")
            return
        if not self.key_mode:
            return
        key = matching_key(bearer_token(request.headers.get("authorization")), self._keys)
        if key is None or key in self._open:
            return
        if collection not in self._scopes.get(key, set()):
            # Not named: asked without a collection, the name would be the default's.
            raise ForbiddenError("this key does not open the collection asked for")

    def refuse_key(self, request: Request, message: str) -> NoReturn:
        """A wrong key costs its sender's address a token, so keys are guessed no faster than
        the rate allows: 429 once that bucket is empty, else 403."""
        self.limiter.check(self.address(request))
        raise ForbiddenError(message)
