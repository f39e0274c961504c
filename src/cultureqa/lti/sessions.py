"""The session after a launch, without cookies: a short-lived JWT, signed with the tool's key,
that the launched page carries (the widget sends it as a Bearer token; the instructor's forms
post it). Inside an LMS iframe a cookie would be a third-party cookie, which browsers block.

A course session opens one collection, for one role, until it expires; a deep-linking
session lets an instructor finish placing the tool (the platform's return URL and data)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization

from cultureqa.errors import UnauthorizedError
from cultureqa.lti.keys import ToolKey

SESSION_AUDIENCE = "cultureqa-lti-session"
SESSION_SECONDS = 2 * 3600  # a class period and then some; a new launch makes a new one
DEEP_LINK_SECONDS = 30 * 60
# An unknown key id reads the keys again at most this often: a key made by another process
# is seen within it, and made-up key ids cost one small query a second at most.
KEY_RELOAD_COOLDOWN_S = 1.0

Role = Literal["learner", "instructor"]


@dataclass(frozen=True)
class CourseSession:
    collection: str
    role: Role
    user: str  # the salted hash of (issuer, sub)
    platform_id: int
    course: str  # the platform's context id
    expires_at: int  # Unix seconds


@dataclass(frozen=True)
class DeepLinkSession:
    platform_id: int
    deployment_id: str
    course: str
    course_title: str
    user: str
    return_url: str
    data: str | None
    expires_at: int


def sign(key: ToolKey, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def issue_course_session(key: ToolKey, session: CourseSession) -> str:
    return sign(
        key,
        {
            "aud": SESSION_AUDIENCE,
            "kind": "course",
            "exp": session.expires_at,
            "iat": int(time.time()),
            "collection": session.collection,
            "role": session.role,
            "sub": session.user,
            "platform": session.platform_id,
            "course": session.course,
        },
    )


def issue_deep_link_session(key: ToolKey, session: DeepLinkSession) -> str:
    return sign(
        key,
        {
            "aud": SESSION_AUDIENCE,
            "kind": "deep_link",
            "exp": session.expires_at,
            "iat": int(time.time()),
            "sub": session.user,
            "platform": session.platform_id,
            "deployment": session.deployment_id,
            "course": session.course,
            "course_title": session.course_title,
            "return_url": session.return_url,
            "data": session.data,
        },
    )


def looks_like_session(token: str) -> bool:
    """A JWT (three dot-separated parts), not an API key: the guard checks it as a session."""
    return token.count(".") == 2 and token.startswith("eyJ")


class SessionVerifier:
    """Verifies the tool's session tokens against its published keys, kept in memory and read
    again (at most once per cooldown) when a token names a key id not seen yet: a key rotated
    by another process or replica."""

    def __init__(self, load_keys: Callable[[], list[ToolKey]]) -> None:
        self._load_keys = load_keys
        self._keys: dict[str, Any] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def remember(self, key: ToolKey) -> None:
        """A key this process signs with: known at once, without a reload."""
        with self._lock:
            if key.kid not in self._keys:
                self._keys[key.kid] = _public(key)

    def _public_key(self, kid: str) -> Any:
        with self._lock:
            stale = time.monotonic() - self._loaded_at > KEY_RELOAD_COOLDOWN_S
            if (kid not in self._keys and stale) or not self._keys:
                self._keys = {key.kid: _public(key) for key in self._load_keys()}
                self._loaded_at = time.monotonic()
            return self._keys.get(kid)

    def claims(self, token: str, kind: str) -> dict[str, Any]:
        """The verified claims of a session of this kind; UnauthorizedError otherwise."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._public_key(kid) if isinstance(kid, str) else None
            if key is None:
                raise UnauthorizedError("the course session is signed with an unknown key")
            payload: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256"], audience=SESSION_AUDIENCE
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthorizedError(
                "the course session has expired", hint="open the tool from the course again"
            ) from exc
        except jwt.PyJWTError as exc:
            raise UnauthorizedError("the course session is not valid") from exc
        if payload.get("kind") != kind:
            raise UnauthorizedError("the course session is not valid here")
        return payload

    def course(self, token: str) -> CourseSession:
        c = self.claims(token, "course")
        return CourseSession(
            c["collection"], c["role"], c["sub"], c["platform"], c["course"], c["exp"]
        )

    def deep_link(self, token: str) -> DeepLinkSession:
        c = self.claims(token, "deep_link")
        return DeepLinkSession(
            c["platform"],
            c["deployment"],
            c["course"],
            c["course_title"],
            c["sub"],
            c["return_url"],
            c.get("data"),
            c["exp"],
        )


def _public(key: ToolKey) -> Any:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    return private.public_key()
