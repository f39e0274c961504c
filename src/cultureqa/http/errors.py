"""Errors as the JSON the API answers with, for code that runs outside FastAPI's handlers
(ASGI middleware): the same shape as ErrorResponse, with the error's own headers."""

from __future__ import annotations

from starlette.responses import JSONResponse

from .errors import CultureQAError


def error_json(exc: CultureQAError) -> JSONResponse:
    body: dict[str, str] = {"code": exc.code, "message": exc.message}
    if exc.hint:
        body["hint"] = exc.hint
    return JSONResponse({"error": body}, status_code=exc.status, headers=exc.headers())
