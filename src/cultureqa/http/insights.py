"""GET /admin/insights: the owner's view of the question log (questions and no-answers per
day, content gaps, most-cited articles and sections, thumbs down), its CSV and JSON export, and
the login form that opens it in a browser (insights_auth.py)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cultureqa.errors import (
    CultureQAError,
    ForbiddenError,
    InvalidRequestError,
    StoreUnavailableError,
)
from cultureqa.http import insights_auth as auth
from cultureqa.http import insights_page
from cultureqa.http.schemas import error_responses
from cultureqa.http.state import AppState, StateDep
from cultureqa.index.collections import check_collection_name
from cultureqa.store.insights import (
    Insights,
    ThumbsDown,
    as_csv,
    as_json,
    date_range,
    read_insights,
    with_gaps,
)

MAX_FORM_BYTES = 4096
READY_TIMEOUT_S = 5.0

router = APIRouter(prefix="/admin/insights", tags=["admin"])

HTML = {"text/html": {"schema": {"type": "string"}}}
FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"key": {"type": "string"}, "csrf": {"type": "string"}},
                }
            }
        },
    }
}
READ_ERRORS = error_responses(
    {
        403: "A wrong admin key, or no admin keys configured.",
        422: "A bad date range or collection name.",
        429: "Too many wrong keys from this address.",
        503: "The question log's database cannot be read.",
    }
)
FORM_ERRORS = error_responses(
    {
        403: "The form's CSRF token is missing or wrong.",
        422: "The form is too large.",
        429: "Too many wrong keys from this address.",
    }
)


def html(body: str, nonce: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Content-Security-Policy": insights_page.policy(nonce),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def gather(
    state: AppState, collection: str | None, since: str | None, until: str | None
) -> Insights:
    """Read, group and annotate the insights; blocking (database, model): run off the loop."""
    question_log = state.question_log
    if question_log is None or state.embedder is None:
        raise StoreUnavailableError("the question log is not open yet")
    try:
        start, end = date_range(since, until, datetime.now(UTC).date())
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from exc
    name = collection or state.settings.default_collection
    check_collection_name(name)
    question_log.wait_until_ready(READY_TIMEOUT_S)  # just started: migrating, say
    embedder = state.embedder
    insights = with_gaps(read_insights(question_log.engine, name, start, end), embedder.embed)
    return _with_passages(state, insights)


def _with_passages(state: AppState, insights: Insights) -> Insights:
    """The text of the passage each thumbs down was given, from the index served now."""
    try:
        passages = state.started_library().answerer(insights.collection).index.passages
    except CultureQAError:
        return insights
    wanted = {item.passage_id for item in insights.thumbs_down if item.passage_id}
    texts = {p.id: p.text for p in passages if p.id in wanted}
    down = tuple(
        ThumbsDown(i.at, i.question, i.comment, i.passage_id, texts.get(i.passage_id or ""))
        for i in insights.thumbs_down
    )
    return replace(insights, thumbs_down=down)


def collection_names(state: AppState) -> list[str]:
    library = state.library
    names = [status.name for status in library.status()] if library is not None else []
    return names or [state.settings.default_collection]


@router.get(
    "",
    response_class=Response,
    summary="The question log, for the owner",
    responses={
        401: {"description": "Not signed in: the login form.", "content": HTML},
        **READ_ERRORS,
    },
)
async def insights(
    request: Request,
    state: StateDep,
    collection: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """Needs an admin key (Bearer) or the session the login form sets; without either, the
    login form (401)."""
    nonce = secrets.token_urlsafe(16)
    if not auth.is_signed_in(request, state):
        return login_page(nonce, None, 401)
    found = await run_in_threadpool(gather, state, collection, since, until)
    session = request.cookies.get(auth.SESSION_COOKIE)
    signed_in = session is not None and auth.valid_session(state, session)
    csrf = auth.csrf_token(state, session) if session is not None and signed_in else None
    body = insights_page.insights_page(found, collection_names(state), csrf, nonce)
    return html(body, nonce)


def login_page(nonce: str, message: str | None, status: int) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = html(insights_page.login_form(token, message, nonce), nonce, status)
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/admin/insights",
        max_age=3600,
    )
    return response


async def form_fields(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequestError("the form is too large")
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
    except ValueError as exc:  # more fields than a form of ours has
        raise InvalidRequestError("the form has too many fields") from exc
    return {name: values[0] for name, values in fields.items() if values}


@router.get(
    "/login", response_class=Response, summary="The insights' login form", responses=READ_ERRORS
)
async def login_form() -> HTMLResponse:
    return login_page(secrets.token_urlsafe(16), None, 200)


@router.post(
    "/login",
    response_class=Response,
    summary="Sign in with an admin key",
    openapi_extra=FORM_BODY,
    responses={
        303: {"description": "Signed in: the session cookie is set; on to the insights."},
        **FORM_ERRORS,
        403: {"description": "A wrong key or CSRF token: the form again.", "content": HTML},
    },
)
async def login(request: Request, state: StateDep) -> Response:
    fields = await form_fields(request)
    try:
        auth.check_login_csrf(request, fields.get("csrf"))
    except ForbiddenError as exc:
        return login_page(secrets.token_urlsafe(16), exc.message, 403)
    if not state.settings.admin_keys:
        return login_page(secrets.token_urlsafe(16), "No admin keys are configured.", 403)
    if not auth.is_admin_key(state, fields.get("key")):
        # A wrong key costs a token of the sender's rate limit, as on the admin API.
        state.guard.limiter.check(state.guard.address(request))
        return login_page(secrets.token_urlsafe(16), "Wrong admin key.", 403)
    response = RedirectResponse("/admin/insights", status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        auth.new_session(state),
        max_age=auth.SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        # Behind a proxy that ends TLS the connection here is plain HTTP: its
        # X-Forwarded-Proto says what the browser used (from trusted proxies only).
        secure=state.guard.over_https(request),
        path="/admin/insights",
    )
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/admin/insights")
    return response


@router.post(
    "/logout",
    summary="End the insights session",
    openapi_extra=FORM_BODY,
    responses={303: {"description": "Signed out."}, **FORM_ERRORS},
)
async def logout(request: Request, state: StateDep) -> Response:
    fields = await form_fields(request)
    auth.check_csrf(state, request.cookies.get(auth.SESSION_COOKIE), fields.get("csrf"))
    response = RedirectResponse("/admin/insights/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/admin/insights")
    return response


@router.get(
    "/export",
    summary="The insights as CSV or JSON",
    response_class=Response,
    responses={
        200: {
            "description": "The insights.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        401: {"description": "No admin key and no session."},
        **READ_ERRORS,
    },
)
async def export(
    request: Request,
    state: StateDep,
    format: Literal["csv", "json"] = "json",
    collection: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    auth.require_admin(request, state)
    found = await run_in_threadpool(gather, state, collection, since, until)
    name = f"insights-{found.collection}-{found.since}-{found.until}"
    headers = {"Cache-Control": "no-store"}
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(as_csv(found), media_type="text/csv; charset=utf-8", headers=headers)
    return JSONResponse(as_json(found), headers=headers)
