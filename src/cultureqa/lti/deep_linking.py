"""Deep Linking 2.0's answer: a JWT the tool signs, posted back to the platform's return URL,
that places one LTI resource link (the course's chat, with its widget options) in the course."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from cultureqa.lti import claims
from cultureqa.lti.keys import ToolKey
from cultureqa.lti.platforms import Platform
from cultureqa.lti.sessions import sign

RESPONSE_SECONDS = 300


def chat_item(launch_url: str, title: str, options: Mapping[str, str]) -> dict[str, Any]:
    """The content item: a resource link to the tool's launch URL; the widget options travel
    as custom parameters, which the platform sends back, signed, with each launch."""
    return {
        "type": "ltiResourceLink",
        "title": title,
        "url": launch_url,
        "custom": dict(options),
        "iframe": {"width": 480, "height": 640},
    }


def deep_linking_response(
    key: ToolKey,
    platform: Platform,
    deployment_id: str,
    items: list[dict[str, Any]],
    data: str | None,
    now: int | None = None,
) -> str:
    """The signed LtiDeepLinkingResponse: issued by the tool's client id, for the platform
    (aud = its issuer), echoing the request's `data`."""
    now = now or int(time.time())
    payload: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": now,
        "exp": now + RESPONSE_SECONDS,
        "nonce": secrets.token_urlsafe(16),
        claims.DEPLOYMENT_ID: deployment_id,
        claims.MESSAGE_TYPE: claims.DEEP_LINKING_RESPONSE,
        claims.VERSION: claims.LTI_VERSION,
        claims.CONTENT_ITEMS: items,
        claims.DL_MESSAGE: "The course's chat was added.",
    }
    if data is not None:
        payload[claims.DL_DATA] = data
    return sign(key, payload)
