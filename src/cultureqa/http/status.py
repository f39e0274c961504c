"""How the service is doing: GET /health, GET /ready and GET /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from cultureqa.errors import CultureQAError
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
    collections = [CollectionOut.from_status(s) for s in library.status()]
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


metrics_router = APIRouter()


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Metrics."}},
)
def prometheus_metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
