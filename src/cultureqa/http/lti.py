"""LTI 1.3's routes: OIDC login initiation (/lti/login), the launch (/lti/launch), the
deep-linking answer (/lti/deep-link), the instructor's insights (/lti/insights), the tool's
keys (/lti/jwks) and its Canvas configuration (/lti/canvas.json); the owner's platform
registry is lti_admin.py. Thin: lti/ decides, this module reads forms and renders pages.
Every refusal is an HTML page saying why, with nobody signed in; the session after a launch
travels in the page, never in a cookie."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from importlib.resources import files
from typing import TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from cultureqa.errors import CultureQAError, InvalidRequestError, StoreUnavailableError
from cultureqa.http import lti_pages
from cultureqa.http.insights import collection_names, gather
from cultureqa.http.state import AppState, StateDep
from cultureqa.lti import LaunchRefusedError, LtiTool
from cultureqa.lti.canvas import canvas_configuration
from cultureqa.lti.launch import Launch
from cultureqa.lti.platforms import (
    Platform,
    list_platforms,
    origin_of,
)
from cultureqa.lti.tool import LoginRedirect

MAX_FORM_BYTES = 60_000  # an id_token with many claims runs to a few kilobytes; room to spare
READY_TIMEOUT_S = 5.0
STATE_COOKIE_PREFIX = "cqa_lti_state_"
STATE_COOKIE_SECONDS = 600
# A frame name (lti_storage_target): "_parent", or a named frame of the platform's page.
STORAGE_TARGET = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

T = TypeVar("T")
router = APIRouter(prefix="/lti", include_in_schema=False)


def tool_of(state: AppState) -> LtiTool:
    """The LTI tool, once the question log's database is migrated (blocking: off the loop)."""
    if state.lti is None or state.question_log is None:
        raise StoreUnavailableError("the service is still starting")
    state.question_log.wait_until_ready(READY_TIMEOUT_S)
    return state.lti


def state_cookie(state: str) -> str:
    """One cookie per login in flight, named after its state: two placements launching at
    once on one course page do not overwrite each other's."""
    return STATE_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def set_state_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """Written out: Python's http.cookies (and so Starlette) knows Partitioned from 3.14 on.
    A partitioned cookie is deleted (max_age 0) only by a Set-Cookie that is Partitioned too.
    The state is URL-safe base64: nothing to quote."""
    response.headers.append(
        "set-cookie",
        f"{name}={value}; Max-Age={max_age}; Path=/lti/; Secure; HttpOnly; SameSite=None; "
        "Partitioned",
    )


def base_url(request: Request, state: AppState) -> str:
    return state.settings.public_url or str(request.base_url).rstrip("/")


def frame_ancestors(state: AppState, platforms: list[Platform]) -> list[str]:
    """Who may frame the LTI pages: CULTUREQA_FRAME_ANCESTORS and the registered platforms'
    own origins (a Canvas school's domain differs from its issuer's: list it there)."""
    own = [a for a in state.settings.frame_ancestors if a != "'none'"]
    found = sorted({origin for p in platforms for origin in p.origins()} - set(own))
    return own + found or ["'none'"]


def page(
    body: str,
    nonce: str,
    ancestors: list[str],
    *,
    status_code: int = 200,
    forms: tuple[str, ...] = (),
) -> HTMLResponse:
    return HTMLResponse(
        body,
        status_code=status_code,
        headers={
            "Content-Security-Policy": lti_pages.policy(nonce, ancestors, forms),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # same-origin, not no-referrer: with no-referrer the storage check page's own
            # POST would carry Origin: null, and the launch checks it is this tool's.
            "Referrer-Policy": "same-origin",
        },
    )


async def refusal(state: AppState, exc: CultureQAError) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    try:
        platforms = await run_in_threadpool(list_platforms, state.lti.engine) if state.lti else []
    except CultureQAError:
        platforms = []
    body = lti_pages.error_page(exc.message, exc.hint, nonce)
    return page(body, nonce, frame_ancestors(state, platforms), status_code=exc.status)


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequestError("the form is too large")
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=30)
    except ValueError as exc:
        raise InvalidRequestError("the form has too many fields") from exc
    return {name: values[0] for name, values in fields.items() if values}


async def fields_of(request: Request) -> dict[str, str]:
    if request.method == "POST":
        return await read_form(request)
    return {k: v for k, v in request.query_params.items()}


async def ready_tool(state: AppState) -> LtiTool:
    return await run_in_threadpool(tool_of, state)


async def run(state: AppState, work: Callable[[LtiTool], T]) -> T:
    return await run_in_threadpool(lambda: work(tool_of(state)))


@router.api_route("/login", methods=["GET", "POST"], response_class=Response)
async def login(request: Request, state: StateDep) -> Response:
    """OIDC third-party initiated login: on to the platform's authorization endpoint, the
    login's state bound to this browser by a cookie (SameSite=None, Partitioned: kept under
    the LMS's site, so it works where third-party cookies are blocked)."""
    launch_url = base_url(request, state) + "/lti/launch"
    try:
        # Each login writes a row: it costs a token of the client's rate limit, as an ask does.
        state.guard.limiter.check(state.guard.address(request))
        fields = await fields_of(request)
        redirect = await run(state, lambda tool: tool.begin_login(fields, launch_url))
        target = fields.get("lti_storage_target", "")
        if STORAGE_TARGET.fullmatch(target):
            response: Response = await storage_put(state, redirect, target)
        else:
            response = RedirectResponse(redirect.url, status_code=302)
    except CultureQAError as exc:
        return await refusal(state, exc)
    set_state_cookie(response, state_cookie(redirect.state), redirect.state, STATE_COOKIE_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


async def storage_put(state: AppState, redirect: LoginRedirect, target: str) -> HTMLResponse:
    """The platform offers client-side storage (LTI Client Side postMessages): the state's
    binding is also put there, for browsers that keep no cookie in its iframe."""
    binding, platforms = await run(
        state, lambda tool: (tool.storage_binding(redirect.state), tool.platforms())
    )
    nonce = secrets.token_urlsafe(16)
    body = lti_pages.storage_put_page(
        target, redirect.platform_origin, storage_key(redirect.state), binding, redirect.url, nonce
    )
    return page(body, nonce, frame_ancestors(state, platforms))


def storage_key(state: str) -> str:
    return f"cqa_state_{state}"


@router.post("/launch", response_class=HTMLResponse)
async def launch(request: Request, state: StateDep) -> HTMLResponse:
    """The platform's form post: the id_token checked, then the course's page (learner or
    instructor) or, for deep linking, the picker."""
    given = ""
    try:
        fields = await read_form(request)
        if "error" in fields:
            raise InvalidRequestError(
                f"the platform answered the login with an error: {fields['error']}",
                hint=fields.get("error_description"),
            )
        given = fields.get("state", "")
        browser = request.cookies.get(state_cookie(given)) if given else None
        if browser is None and given:
            checked = await from_storage(request, state, fields)
            if isinstance(checked, HTMLResponse):
                return checked  # the page that asks the platform's storage, then posts again
            browser = checked
        done = await run(state, lambda t: t.launch(fields.get("id_token", ""), given, browser))
        response = await _launched(request, state, done)
    except CultureQAError as exc:
        response = await refusal(state, exc)
    if given:  # used or refused, this login is over
        set_state_cookie(response, state_cookie(given), "", 0)
    return response


async def from_storage(
    request: Request, state: AppState, fields: dict[str, str]
) -> str | HTMLResponse | None:
    """A launch without the state cookie. When it comes back from the tool's own page with
    the binding read from the platform's storage: the state, if the binding is the login's.
    When the platform offers storage: the page that reads it. Else None (refused after)."""
    given = fields["state"]
    binding = fields.get("lti_storage_binding")
    if binding is not None:
        own = origin_of(base_url(request, state))
        if request.headers.get("origin") != own:
            raise LaunchRefusedError("the launch was not posted by this tool's own page")
        expected = await run(state, lambda tool: tool.storage_binding(given))
        if not hmac.compare_digest(binding.encode(), expected.encode()):
            raise LaunchRefusedError(
                "this browser started no login for this launch (the platform's storage "
                "does not hold its state)",
                hint="launch the tool again from the course",
            )
        return given
    target = fields.get("lti_storage_target", "")
    if not STORAGE_TARGET.fullmatch(target):
        return None
    token = fields.get("id_token", "")
    origin, platforms = await run(state, lambda t: (t.platform_origin(token), t.platforms()))
    if origin is None:
        return None  # an unknown platform: refused by the launch's checks
    nonce = secrets.token_urlsafe(16)
    body = lti_pages.storage_check_page(target, origin, storage_key(given), fields, nonce)
    return page(body, nonce, frame_ancestors(state, platforms))


async def _launched(request: Request, state: AppState, done: Launch) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    ancestors = frame_ancestors(state, [done.platform])
    tool = tool_of(state)
    if tool.is_deep_linking(done):
        token = await run_in_threadpool(tool.deep_link_session, done)
        current = await run_in_threadpool(tool.course_collection, done.platform.id, done.context_id)
        free = await run_in_threadpool(tool.free_collections, collection_names(state))
        body = lti_pages.picker_page(done.context_title, token, current, free, nonce)
        return page(body, nonce, ancestors)
    course = await run_in_threadpool(tool.course_page, done)
    found = None
    if course.session.role == "instructor":
        found = await run_in_threadpool(gather, state, course.session.collection, None, None)
    body = lti_pages.course_page(
        course.course_title, course.session.collection, course.token, course.options, found, nonce
    )
    return page(body, nonce, ancestors)


@router.post("/deep-link", response_class=HTMLResponse)
async def deep_link(request: Request, state: StateDep) -> HTMLResponse:
    """The instructor's choice: the course is bound to the collection and the browser posts
    the signed LtiDeepLinkingResponse back to the platform."""
    try:
        fields = await read_form(request)
        tool = await ready_tool(state)
        session = tool.sessions.deep_link(fields.get("session", ""))
        collection = fields.get("collection") or fields.get("new_collection", "").strip()
        options = {
            name: fields[name].strip()[:500]
            for name in lti_pages.PICKED_OPTIONS
            if fields.get(name, "").strip()
        }
        url = base_url(request, state) + "/lti/launch"
        return_url, response_jwt = await run_in_threadpool(
            tool.finish_deep_link, session, collection, options, url
        )
    except CultureQAError as exc:
        return await refusal(state, exc)
    nonce = secrets.token_urlsafe(16)
    platforms = [p for p in await run_in_threadpool(tool.platforms) if p.id == session.platform_id]
    body = lti_pages.return_page(return_url, response_jwt, nonce)
    # The origin alone in the policy: the URL's path could carry a ';' (a new directive).
    return page(body, nonce, frame_ancestors(state, platforms), forms=(origin_of(return_url),))


@router.post("/insights", response_class=HTMLResponse)
async def course_insights(request: Request, state: StateDep) -> HTMLResponse:
    """An instructor's course insights for other dates: the session from the launched page
    says which course (and so which collection); nothing else can be named."""
    try:
        fields = await read_form(request)
        tool = await ready_tool(state)
        session = tool.sessions.course(fields.get("session", ""))
        if session.role != "instructor":
            raise InvalidRequestError("only the course's instructors see its insights")
        found = await run_in_threadpool(
            gather, state, session.collection, fields.get("since"), fields.get("until")
        )
        platforms = await run_in_threadpool(tool.platforms)
    except CultureQAError as exc:
        return await refusal(state, exc)
    nonce = secrets.token_urlsafe(16)
    own = [p for p in platforms if p.id == session.platform_id]
    body = lti_pages.insights_only_page(session.course, fields["session"], found, nonce)
    return page(body, nonce, frame_ancestors(state, own))


@router.get("/jwks")
async def jwks(state: StateDep) -> JSONResponse:
    """The tool's public keys (JWK Set): platforms verify the deep-linking responses with
    them. Retired keys stay listed while tokens they signed live."""
    keys = await run(state, lambda tool: tool.jwks())
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


@router.get("/canvas.json")
async def canvas(request: Request, state: StateDep) -> JSONResponse:
    """This tool's configuration for a Canvas developer key (Paste JSON, or Enter URL with
    this address): the URLs filled in with CULTUREQA_PUBLIC_URL or this request's."""
    return JSONResponse(canvas_configuration(base_url(request, state)))


@router.get("/lti.js")
def script() -> Response:
    content = (files("cultureqa") / "static" / "lti.js").read_bytes()
    return Response(
        content,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
