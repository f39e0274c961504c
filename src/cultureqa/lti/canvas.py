"""The tool's configuration as Canvas reads it (a developer key's "Paste JSON" or "Enter URL"):
the URLs, no scopes (the tool uses no LTI Advantage service), anonymous privacy, and the
placements that start deep linking."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

TITLE = "cultureqa"
DESCRIPTION = "A chat that answers from the course's articles, with citations."
PLACEMENTS = ("link_selection", "assignment_selection", "editor_button")


def canvas_configuration(base_url: str) -> dict[str, Any]:
    """The JSON for a Canvas LTI 1.3 developer key, for a tool served at `base_url`."""
    launch = f"{base_url}/lti/launch"
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": f"{base_url}/lti/login",
        "target_link_uri": launch,
        "public_jwk_url": f"{base_url}/lti/jwks",
        "scopes": [],
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": urlsplit(base_url).netloc,
                "privacy_level": "anonymous",
                "settings": {
                    "text": TITLE,
                    "placements": [
                        {
                            "placement": placement,
                            "text": TITLE,
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": launch,
                        }
                        for placement in PLACEMENTS
                    ],
                },
            }
        ],
        "custom_fields": {},
    }
