"""Who may see /admin/insights: an admin key, as `Authorization: Bearer <key>` or through the
login form, which sets a session cookie (HttpOnly, SameSite=Strict, Secure over https).

Sessions are signed, not stored: the cookie is `expiry.nonce.signature`, an HMAC-SHA256 under a
key derived from the configured admin keys, so every worker process accepts it and changing
the admin keys ends every session. Forms carry a CSRF token: on the login form a random value
also set as a cookie (double submit), on forms behind a session an HMAC of the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from fastapi import Request

from cultureqa.errors import ForbiddenError, UnauthorizedError
from cultureqa.http.access import bearer_token, matching_key
from cultureqa.http.state import AppState

SESSION_COOKIE = "cultureqa_admin"
LOGIN_CSRF_COOKIE = "cultureqa_login_csrf"
SESSION_SECONDS = 8 * 3600


def _signing_key(state: AppState) -> bytes:
    keys = sorted(key.get_secret_value() for key in state.settings.admin_keys)
    return hashlib.sha256(("cultureqa-insights-session\0" + "\0".join(keys)).encode()).digest()


def _sign(state: AppState, payload: str) -> str:
    return hmac.new(_signing_key(state), payload.encode(), hashlib.sha256).hexdigest()


def new_session(state: AppState, now: float | None = None) -> str:
    expiry = int((now or time.time()) + SESSION_SECONDS)
    payload = f"{expiry}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_sign(state, payload)}"


def valid_session(state: AppState, cookie: str | None, now: float | None = None) -> bool:
    if not cookie or not state.settings.admin_keys:
        return False
    payload, _, signature = cookie.rpartition(".")
    expiry, _, _nonce = payload.partition(".")
    if not expiry.isdigit() or not hmac.compare_digest(_sign(state, payload), signature):
        return False
    return int(expiry) > (now or time.time())


def csrf_token(state: AppState, session: str) -> str:
    """The CSRF token of forms behind a session: bound to it, useless without it."""
    return _sign(state, "csrf:" + session)


def check_csrf(state: AppState, session: str | None, token: str | None) -> None:
    if not session or not token or not hmac.compare_digest(csrf_token(state, session), token):
        raise ForbiddenError("the form's CSRF token is missing or wrong; reload the page")


def check_login_csrf(request: Request, token: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not token or not hmac.compare_digest(cookie, token):
        raise ForbiddenError("the login form's CSRF token is missing or wrong; reload the page")


def is_admin_key(state: AppState, key: str | None) -> bool:
    keys = [k.get_secret_value().encode() for k in state.settings.admin_keys]
    return matching_key(key, keys) is not None


def check_bearer(request: Request, state: AppState) -> bool:
    """True for a right admin key as Bearer; False without one; a wrong one costs a token of
    the sender's rate limit and is a 403 (as on the admin API)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return False
    if not state.settings.admin_keys:
        raise ForbiddenError("the admin API is off: no admin keys are configured")
    if not is_admin_key(state, token):
        state.guard.refuse_key(request, "wrong admin key")
    return True


def is_signed_in(request: Request, state: AppState) -> bool:
    """An admin: a right Bearer key, or a valid session cookie."""
    return check_bearer(request, state) or valid_session(state, request.cookies.get(SESSION_COOKIE))


def require_admin(request: Request, state: AppState) -> None:
    if not is_signed_in(request, state):
        raise UnauthorizedError(
            "sign in at /admin/insights/login, or send 'Authorization: Bearer <admin key>'"
        )
