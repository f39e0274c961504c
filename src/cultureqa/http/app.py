"""The HTTP API: POST /ask, GET /health, GET /ready, and the admin routes. A thin adapter."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from . import __version__
from .access import AskGuard
from .admin import admin_router
from .answer import Answerer
from .docs_pages import install_docs
from .embedding import Embedder
from .errors import CultureQAError
from .jobs import JobRunner
from .library import Library
from .limits import AskGate, BodyLimitMiddleware, check_history
from .metrics import CONTENT_TYPE, ServiceMetrics
from .middleware import RequestMiddleware
from .runtime import apply_threads, serving_plan
from .schemas import (
    MAX_ARTICLE_ID_CHARS,
    AskRequest,
    AskResponse,
    CollectionOut,
    ErrorResponse,
    HealthResponse,
    ReadyResponse,
)
from .service import ensure_index, load_embedder
from .settings import Settings
from .web import install_web

log = logging.getLogger("cultureqa")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON."},
    404: {"model": ErrorResponse, "description": "No collection of that name."},
    422: {"model": ErrorResponse, "description": "The question or top_k is not acceptable."},
    503: {"model": ErrorResponse, "description": "No index is loaded; the message says why."},
}
HTTP_ERROR_CODES = {
    400: "invalid_body",
    404: "not_found",
    405: "method_not_allowed",
}
# What the limits, the rate limit and key mode add to /ask (see limits.py and access.py).
ASK_LIMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Key mode: no API key was sent."},
    403: {"model": ErrorResponse, "description": "Key mode: the API key is wrong."},
    413: {"model": ErrorResponse, "description": "The body is over the size limit."},
    429: {"model": ErrorResponse, "description": "Over the client's rate; see Retry-After."},
    503: {
        "model": ErrorResponse,
        "description": "No index is loaded, or the server is busy (code 'overloaded', with "
        "Retry-After); the message says which.",
    },
    504: {"model": ErrorResponse, "description": "Not answered within the time budget."},
}


class AppState:
    """What the lifespan sets up once: the model, the served collections, the job runner."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder: Embedder | None = None
        self.library: Library | None = None
        self.jobs: JobRunner | None = None


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.cultureqa
    return state


def library_of(request: Request) -> Library:
    library = app_state(request).library
    if library is None:
        raise CultureQAError("the service is still starting")
    return library


async def get_library(request: Request) -> Library:
    # async: FastAPI runs a plain `def` dependency on its thread pool, a thread hop on every ask
    # for what is an attribute read.
    return library_of(request)


LibraryDep = Annotated[Library, Depends(get_library)]


def answerer_for_page(request: Request) -> Answerer:
    """The answerer whose passages an article page shows: ?collection=NAME, else the default."""
    return library_of(request).answerer(request.query_params.get("collection") or None)


def create_app(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    build_missing_index: bool = False,
) -> FastAPI:
    """Build the app. The model and indexes load in the lifespan, once, not at import.

    `build_missing_index` (what `cultureqa serve` asks for) rebuilds a missing or stale default
    collection from `settings.corpus_dir` before serving; without it the app answers 503 until
    an index is published. Newly published versions of any collection are picked up while
    serving, without a restart.
    """
    state = AppState(settings)
    plan = serving_plan(settings)
    gate = AskGate(
        plan.concurrent_asks,
        settings.max_queued_asks,
        settings.request_timeout,
        # OpenMP settings can be per thread: set them in each ask thread too.
        initializer=lambda: apply_threads(plan),
    )
    guard = AskGuard(settings)
    metrics = ServiceMetrics()
    metrics.pending_source = lambda: gate.pending

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        apply_threads(plan)
        state.embedder = embedder or load_embedder(settings, threads=plan.torch_threads)
        if build_missing_index:
            ensure_index(settings, state.embedder, progress=True)
        library = Library(settings, state.embedder)
        library.start()
        state.library = library
        metrics.status_source = library.status
        state.jobs = JobRunner(on_success=library.refresh)
        for status in library.status():
            if status.version:
                log.info("Collection %r: version %s", status.name, status.version)
            else:
                log.error("Collection %r: %s", status.name, status.problem)
        try:
            yield
        finally:
            library.stop()
            state.jobs.shutdown()
            gate.shutdown()

    app = FastAPI(
        title="cultureqa",
        version=__version__,
        description=(
            "Ask questions about culture articles. `POST /ask` returns the most relevant "
            "passages, best first, each with a citation (article, section path, link)."
        ),
        lifespan=lifespan,
        # /docs is served from local files by install_docs; ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.cultureqa = state

    @app.exception_handler(CultureQAError)
    async def _domain_error(request: Request, exc: CultureQAError) -> JSONResponse:
        response = error_response(exc.status, exc.code, exc.message, hint=exc.hint)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        response.headers.update(exc.headers())
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (no such route, wrong method, a body it cannot decode) in
        # our one error shape rather than {"detail": ...}.
        code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(app, request)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    @app.post(
        "/ask",
        response_model=AskResponse,
        responses={**ERROR_RESPONSES, **ASK_LIMIT_RESPONSES},
        dependencies=[Depends(guard)],
        summary="Ask a question",
        description="Retrieve the passages most relevant to the question, with citations.",
    )
    async def ask(body: AskRequest, library: LibraryDep) -> Response:
        check_history(
            body, settings.max_history_turns, settings.max_question_chars, MAX_ARTICLE_ID_CHARS
        )
        collection = body.collection or settings.default_collection
        answerer = library.answerer(collection)
        top_k = settings.default_top_k if body.top_k is None else body.top_k
        turns = body.turns()
        # Model work runs on the ask gate's threads (a bounded number at once, within the
        # time budget), never on the event loop.
        result = await gate.run(lambda: answerer.ask(body.question, top_k, turns))
        response = AskResponse.from_result(result, collection)
        metrics.record_ask(response, collection)
        # Serialized here, once: returned as a model, FastAPI would dump it, validate the dump
        # against response_model again and encode it (about a millisecond for five passages).
        return Response(response.model_dump_json(), media_type="application/json")

    @app.get("/health", response_model=HealthResponse, summary="The process is alive")
    async def health() -> HealthResponse:
        return HealthResponse(status="ok")

    @app.get(
        "/ready",
        response_model=ReadyResponse,
        responses={503: {"model": ReadyResponse, "description": "No index is loaded."}},
        summary="The default collection can answer; every collection's version and problems",
    )
    def ready(request: Request) -> Any:
        library = app_state(request).library
        if library is None:
            return JSONResponse(
                ReadyResponse(status="starting", reason="starting").model_dump(), status_code=503
            )
        collections = [CollectionOut(**s.__dict__) for s in library.status()]
        try:
            manifest = library.answerer().index.manifest
        except CultureQAError as exc:
            body = ReadyResponse(status="unavailable", reason=str(exc), collections=collections)
            return JSONResponse(body.model_dump(), status_code=503)
        return ReadyResponse(
            status="ready",
            index_version=manifest.version,
            model=manifest.model,
            passages=manifest.passages,
            collections=collections,
        )

    app.include_router(admin_router(settings))
    install_web(app, settings, answerer_for_page)

    if settings.metrics_enabled:

        @app.get(
            "/metrics",
            summary="Prometheus metrics",
            response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Metrics."}},
        )
        def prometheus_metrics() -> Response:
            return Response(metrics.render(), media_type=CONTENT_TYPE)

    if settings.docs_enabled:
        install_docs(app)
    # The last added runs first: request ids, logging and metrics see every answer, 413s too.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        max_admin_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(RequestMiddleware, routes=app.router.routes, metrics=metrics)
    app.state.metrics = metrics
    return app


def allowed_methods(app: FastAPI, request: Request) -> str:
    """Every method some route answers on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    hint: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's validation errors, reworded: 400 for a body that is not JSON, else 422."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    details = [
        {
            "field": ".".join(str(part) for part in e.get("loc", ()) if part != "body") or "body",
            "problem": e.get("msg", "invalid"),
        }
        for e in errors
    ]
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return error_response(422, "invalid_request", f"invalid request: {summary}", details=details)
