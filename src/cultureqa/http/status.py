"""How the service is doing: GET /health, GET /ready and GET /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cultureqa.errors import CultureQAError
from cultureqa.http.admin import require_admin_key
from cultureqa.http.metrics import CONTENT_TYPE
from cultureqa.http.schemas import CollectionOut, HealthResponse, ReadyResponse
from cultureqa.http.state import StateDep

router = APIRouter()


@router.get("/health", response_model=HealthResponse, summary="The process is alive")
async def health() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "No index is loaded."}},
    summary="The default collection can answer; every collection's version and problems",
)
def ready(state: StateDep) -> Any:
    library = state.library
    if library is None:
        return JSONResponse(
            ReadyResponse(status="starting", reason="starting").model_dump(), status_code=503
        )
    # Key mode: the collections' names and sizes are not for anyone who can reach /ready.
    key_mode = state.guard.key_mode
    collections = [] if key_mode else [CollectionOut.from_status(s) for s in library.status()]
    try:
        manifest = library.answerer().index.manifest
    except CultureQAError as exc:
        reason = f"the default collection cannot answer: {exc}"
        if any(s.version for s in library.status()):
            # Other collections answer (a server started where there is no default corpus):
            # ready for them, and saying what is missing.
            return ReadyResponse(status="ready", reason=reason, collections=collections)
        body = ReadyResponse(status="unavailable", reason=reason, collections=collections)
        return JSONResponse(body.model_dump(), status_code=503)
    return ReadyResponse(
        status="ready",
        index_version=manifest.version,
        model=manifest.model,
        passages=manifest.passages,
        collections=collections,
    )


metrics_router = APIRouter()


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Metrics."}},
)
async def prometheus_metrics(request: Request, state: StateDep) -> Response:
    """Key mode: the metrics name every collection, so they need an admin key."""
    if state.guard.key_mode:
        await require_admin_key(request, state, request.headers.get("authorization"))
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
