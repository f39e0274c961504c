"""The launch's id_token, checked: RS256 only, signed by a key of the platform's JWKS
(fetched, cached, fetched again for a key id it does not have: a platform that rotates its keys
keeps launching), issued by a registered platform for this tool (`iss`, `aud`, `azp`), in date
(`exp`, `iat`, a minute of leeway for clocks), for a registered deployment, LTI 1.3.0, a message
type the tool handles. PyJWT does the JOSE; this module decides what to accept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWKClient

from cultureqa.lti import claims
from cultureqa.lti.errors import LaunchRefusedError
from cultureqa.lti.platforms import Platform

LEEWAY_SECONDS = 60
ACCEPTED_ALGORITHMS = ["RS256"]
# A platform's JWKS is fetched again after this long, and, for an unknown key id, at most once
# per cooldown: a stream of made-up key ids cannot make the tool hammer the platform.
JWKS_LIFETIME_S = 300.0
JWKS_COOLDOWN_S = 10.0
JWKS_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Launch:
    """A launch whose id_token passed every check."""

    platform: Platform
    deployment_id: str
    message_type: str
    subject: str  # the platform's user id: hashed before it is kept anywhere
    nonce: str
    context_id: str
    context_title: str
    instructor: bool
    custom: dict[str, str] = field(default_factory=dict)
    deep_linking: dict[str, Any] = field(default_factory=dict)  # deep_linking_settings


class PlatformKeys:
    """One cached JWKS client per platform JWKS URL, shared by the launches."""

    def __init__(self, cooldown: float = JWKS_COOLDOWN_S, lifetime: float = JWKS_LIFETIME_S):
        self._cooldown = cooldown
        self._lifetime = lifetime
        self._clients: dict[str, PyJWKClient] = {}
        self._lock = threading.Lock()

    def key_for(self, platform: Platform, kid: str) -> Any:
        with self._lock:
            client = self._clients.get(platform.jwks_url)
            if client is None:
                client = PyJWKClient(
                    platform.jwks_url,
                    lifespan=self._lifetime,
                    cooldown_duration=self._cooldown,
                    timeout=JWKS_TIMEOUT_S,
                )
                self._clients[platform.jwks_url] = client
        try:
            return client.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise LaunchRefusedError(
                "the platform's keys (JWKS) could not be fetched",
                hint=f"check that {platform.jwks_url} answers",
            ) from exc
        except jwt.PyJWKClientError as exc:
            raise LaunchRefusedError(
                f"the id_token is signed with a key ({kid!r}) the platform does not publish"
            ) from exc


def _header(id_token: str) -> tuple[str, dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(id_token)
        unverified = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise LaunchRefusedError("the id_token is not a JWT") from exc
    alg = header.get("alg")
    if alg not in ACCEPTED_ALGORITHMS:
        raise LaunchRefusedError(f"the id_token's algorithm {alg!r} is not accepted; only RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRefusedError("the id_token names no key (kid)")
    return kid, unverified


def _audiences(unverified: dict[str, Any]) -> list[str]:
    aud = unverified.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return [a for a in audiences if isinstance(a, str)]


def _platform(unverified: dict[str, Any], find: Callable[[str, str], Platform | None]) -> Platform:
    issuer = unverified.get("iss")
    if not isinstance(issuer, str):
        raise LaunchRefusedError("the id_token has no issuer (iss)")
    candidates = _audiences(unverified)
    azp = unverified.get("azp")
    if isinstance(azp, str):
        candidates = [azp] if azp in candidates else []
    for client_id in candidates:
        platform = find(issuer, client_id)
        if platform is not None:
            return platform
    raise LaunchRefusedError(
        f"no platform is registered with the issuer {issuer!r} and this token's audience",
        hint="the owner registers platforms with `cultureqa lti add-platform`",
    )


_DECODE_ERRORS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "the id_token has expired"),
    (jwt.InvalidAudienceError, "the id_token is not for this tool (aud)"),
    (jwt.InvalidIssuerError, "the id_token's issuer is not the platform's (iss)"),
    (jwt.ImmatureSignatureError, "the id_token is dated in the future (iat/nbf)"),
    (jwt.InvalidSignatureError, "the id_token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "the id_token lacks a required claim"),
]


def _decode(id_token: str, key: Any, platform: Platform) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=ACCEPTED_ALGORITHMS,
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
        )
    except jwt.PyJWTError as exc:
        reason = next((text for kind, text in _DECODE_ERRORS if isinstance(exc, kind)), None)
        raise LaunchRefusedError(f"{reason or 'the id_token is not valid'}: {exc}") from exc
    aud = payload["aud"]
    if isinstance(aud, list) and len(aud) > 1 and payload.get("azp") != platform.client_id:
        raise LaunchRefusedError("the id_token has several audiences and no azp for this tool")
    if "azp" in payload and payload["azp"] != platform.client_id:
        raise LaunchRefusedError("the id_token's azp is not this tool's client id")
    return payload


def _lti_claims(payload: dict[str, Any], platform: Platform) -> tuple[str, str]:
    if payload.get(claims.VERSION) != claims.LTI_VERSION:
        raise LaunchRefusedError(f"not an LTI {claims.LTI_VERSION} launch (version claim)")
    message_type = payload.get(claims.MESSAGE_TYPE)
    if message_type not in claims.MESSAGE_TYPES:
        raise LaunchRefusedError(f"the message type {message_type!r} is not one this tool handles")
    deployment = payload.get(claims.DEPLOYMENT_ID)
    if not isinstance(deployment, str) or deployment not in platform.deployment_ids:
        raise LaunchRefusedError(
            f"the deployment {deployment!r} is not registered for this platform",
            hint="the owner adds it with `cultureqa lti add-platform ... --deployment-id`",
        )
    return message_type, deployment


def validate_launch(
    id_token: str, find: Callable[[str, str], Platform | None], keys: PlatformKeys
) -> Launch:
    """Every check of the id_token but the nonce's single use (logins.use_login) and the state
    (the caller's). Raises LaunchRefusedError saying what failed."""
    kid, unverified = _header(id_token)
    platform = _platform(unverified, find)
    payload = _decode(id_token, keys.key_for(platform, kid), platform)
    message_type, deployment = _lti_claims(payload, platform)
    context = payload.get(claims.CONTEXT)
    if not isinstance(context, dict) or not isinstance(context.get("id"), str):
        raise LaunchRefusedError("the launch names no course (context claim)")
    custom = payload.get(claims.CUSTOM)
    settings = payload.get(claims.DEEP_LINKING_SETTINGS)
    if message_type == claims.DEEP_LINKING_REQUEST and not isinstance(settings, dict):
        raise LaunchRefusedError("a deep-linking request without deep_linking_settings")
    return Launch(
        platform=platform,
        deployment_id=deployment,
        message_type=message_type,
        subject=str(payload["sub"]),
        nonce=str(payload["nonce"]),
        context_id=context["id"],
        context_title=str(context.get("title") or context.get("label") or context["id"]),
        instructor=claims.is_instructor(payload.get(claims.ROLES)),
        custom={str(k): str(v) for k, v in custom.items()} if isinstance(custom, dict) else {},
        deep_linking=settings if isinstance(settings, dict) else {},
    )
