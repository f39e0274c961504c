"""CORS for the script embed: pages of the allowed sites may call /ask and /feedback."""

from __future__ import annotations

import re

from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import Response

from cultureqa.http.errors import error_json


def origin_pattern(origins: list[str]) -> str:
    """One regular expression for an allowlist of origins, where `:*` means any port."""
    alternatives = [
        re.escape(origin[:-2]) + r"(:\d+)?" if origin.endswith(":*") else re.escape(origin)
        for origin in origins
    ]
    return "^(" + "|".join(alternatives) + ")$" if alternatives else "^$"


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight in our JSON error shape, not text/plain."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        # "Disallowed CORS origin, method": what the browser asked for that is not allowed.
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in {"content-type", "content-length"}
        }
        return error_json(
            400,
            "cors_refused",
            f"cross-origin request refused: this {refused} is not allowed",
            hint="the page's site must be in CULTUREQA_CORS_ORIGINS",
            headers=headers,
        )


def cors_middleware(origins: list[str]) -> Middleware:
    return Middleware(
        JsonCORSMiddleware,
        allow_origin_regex=origin_pattern(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
