"""CORS for the script embed: pages of the allowed sites may call /ask and /feedback."""

from __future__ import annotations

import re

from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware


def origin_pattern(origins: list[str]) -> str:
    """One regular expression for an allowlist of origins, where `:*` means any port."""
    alternatives = [
        re.escape(origin[:-2]) + r"(:\d+)?" if origin.endswith(":*") else re.escape(origin)
        for origin in origins
    ]
    return "^(" + "|".join(alternatives) + ")$" if alternatives else "^$"


def cors_middleware(origins: list[str]) -> Middleware:
    return Middleware(
        CORSMiddleware,
        allow_origin_regex=origin_pattern(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
