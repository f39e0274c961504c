"""Every error as JSON of one shape, `{"error": {"code", "message", "hint"?, "details"?}}`, and
the exception handlers that produce it.

`error_json` is the one place the body is written: the handlers below use it, and so do the
ASGI middleware that answer before FastAPI's handlers run (a 413, say).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from cultureqa.errors import CultureQAError
from cultureqa.http.middleware.request import REQUEST_ID_HEADER, add_security_headers

# FastAPI's own refusals, by status, in our codes.
HTTP_ERROR_CODES = {
    400: "invalid_body",
    404: "not_found",
    405: "method_not_allowed",
}


def error_json(
    status: int,
    code: str,
    message: str,
    *,
    hint: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def domain_error_json(exc: CultureQAError) -> JSONResponse:
    """A cultureqa error with its status and its own headers (Retry-After, WWW-Authenticate)."""
    headers = exc.headers()
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer", **headers}
    return error_json(exc.status, exc.code, exc.message, hint=exc.hint, headers=headers)


def validation_error_json(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's validation errors, reworded: 400 for a body that is not JSON, else 422."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_json(400, "invalid_json", "the request body is not valid JSON")
    details = [
        {
            "field": ".".join(str(part) for part in e.get("loc", ()) if part != "body") or "body",
            "problem": e.get("msg", "invalid"),
        }
        for e in errors
    ]
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return error_json(422, "invalid_request", f"invalid request: {summary}", details=details)


def allowed_methods(request: Request) -> str:
    """Every method some route answers on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:
        methods.add("HEAD")  # middleware/head.py answers HEAD wherever GET is
    return ", ".join(sorted(methods))


async def handle_domain_error(request: Request, exc: CultureQAError) -> JSONResponse:
    return domain_error_json(exc)


async def handle_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """FastAPI's own refusals (no such route, wrong method, a body it cannot decode) in our
    one error shape rather than {"detail": ...}."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    return error_json(exc.status_code, code, str(exc.detail), headers=headers)


async def handle_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return validation_error_json(exc)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: the documented JSON 500 with the request id (which the log line and the
    traceback uvicorn logs carry too), never a traceback or text/plain to the client. Starlette
    answers with this outside every middleware, so the id and the security headers are set
    here."""
    request_id = str(request.scope.get("state", {}).get("request_id", ""))
    message = "internal error: the server failed to answer this request"
    if request_id:
        message += f" (request id {request_id}; quote it when reporting the problem)"
    response = error_json(500, "internal_error", message)
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    add_security_headers(response.headers)
    return response


EXCEPTION_HANDLERS: dict[
    int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]
] = {
    CultureQAError: handle_domain_error,
    StarletteHTTPException: handle_http_error,
    RequestValidationError: handle_validation_error,
    Exception: handle_unexpected_error,
}
