"""The HTTP API: POST /ask, GET /health, GET /ready. A thin adapter over the answerer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from . import __version__
from .answer import Answerer
from .embedding import Embedder
from .errors import CultureQAError, IndexUnavailableError
from .index import BUILD_HINT
from .schemas import AskRequest, AskResponse, ErrorResponse, HealthResponse, ReadyResponse
from .service import ensure_index, load_embedder, make_answerer, open_index
from .settings import Settings
from .web import install_web

log = logging.getLogger("cultureqa")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON."},
    422: {"model": ErrorResponse, "description": "The question or top_k is not acceptable."},
    503: {"model": ErrorResponse, "description": "No index is loaded; the message says why."},
}


class AppState:
    """What the lifespan loads once: the model and, when one is usable, the index."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder: Embedder | None = None
        self.answerer: Answerer | None = None
        self.unavailable: IndexUnavailableError | None = None


def get_answerer(request: Request) -> Answerer:
    """The loaded answerer, or the reason there is none (a 503 through the error handler)."""
    state: AppState = request.app.state.cultureqa
    if state.answerer is None:
        raise state.unavailable or IndexUnavailableError(
            "the index is not loaded yet", hint=BUILD_HINT
        )
    return state.answerer


AnswererDep = Annotated[Answerer, Depends(get_answerer)]


def create_app(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    build_missing_index: bool = False,
) -> FastAPI:
    """Build the app. The model and index load in the lifespan, once, not at import.

    `build_missing_index` (what `cultureqa serve` asks for) rebuilds a missing or stale index
    from `settings.corpus_dir` before serving; without it the app serves 503s until one exists.
    """
    state = AppState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.embedder = embedder or load_embedder(settings)
        if build_missing_index:
            ensure_index(settings, state.embedder, progress=True)
        try:
            state.answerer = make_answerer(
                settings, state.embedder, open_index(settings, state.embedder)
            )
            log.info("Serving index version %s", state.answerer.index.manifest.version)
        except IndexUnavailableError as exc:
            state.unavailable = exc
            log.error("No index to serve: %s", exc)
        yield

    app = FastAPI(
        title="cultureqa",
        version=__version__,
        description=(
            "Ask questions about culture articles. `POST /ask` returns the most relevant "
            "passages, best first, each with a citation (article, section path, link)."
        ),
        lifespan=lifespan,
    )
    app.state.cultureqa = state

    @app.exception_handler(CultureQAError)
    async def _domain_error(request: Request, exc: CultureQAError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, hint=exc.hint)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    @app.post(
        "/ask",
        response_model=AskResponse,
        responses=ERROR_RESPONSES,
        summary="Ask a question",
        description="Retrieve the passages most relevant to the question, with citations.",
    )
    def ask(body: AskRequest, answerer: AnswererDep) -> AskResponse:
        # A plain def: FastAPI runs it in its thread pool, so model work never blocks the loop.
        top_k = settings.default_top_k if body.top_k is None else body.top_k
        return AskResponse.from_result(answerer.ask(body.question, top_k, body.turns()))

    @app.get("/health", response_model=HealthResponse, summary="The process is alive")
    def health() -> HealthResponse:
        return HealthResponse(status="ok")

    @app.get(
        "/ready",
        response_model=ReadyResponse,
        responses={503: {"model": ReadyResponse, "description": "No index is loaded."}},
        summary="An index is loaded and questions can be answered",
    )
    def ready() -> Any:
        if state.answerer is None:
            reason = str(state.unavailable) if state.unavailable else "starting"
            return JSONResponse(
                ReadyResponse(status="unavailable", reason=reason).model_dump(), status_code=503
            )
        manifest = state.answerer.index.manifest
        return ReadyResponse(
            status="ready",
            index_version=manifest.version,
            model=manifest.model,
            passages=manifest.passages,
        )

    install_web(app, settings, get_answerer)
    return app


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
