"""The app factory: `create_app(settings)` assembles the routers, the middleware and the error
handlers. The model and the indexes load in the lifespan, once, not at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from cultureqa import __version__
from cultureqa.embedding.base import Embedder
from cultureqa.embedding.batching import MicroBatcher, micro_batched
from cultureqa.embedding.factory import load_embedder
from cultureqa.http import (
    admin,
    ask,
    conversations,
    feedback,
    insights,
    lti,
    lti_admin,
    status,
    web,
)
from cultureqa.http.batch_metrics import MicroBatchCollector
from cultureqa.http.docs import docs_routes
from cultureqa.http.errors import EXCEPTION_HANDLERS
from cultureqa.http.log_metrics import QuestionLogCollector
from cultureqa.http.middleware.body_limit import BodyLimitMiddleware
from cultureqa.http.middleware.cors import cors_middleware
from cultureqa.http.middleware.head import HeadMiddleware
from cultureqa.http.middleware.request import RequestMiddleware
from cultureqa.http.state import AppState
from cultureqa.index.collections import ensure_index
from cultureqa.index.jobs import JobRunner
from cultureqa.lti import LtiTool
from cultureqa.runtime import apply_threads, serving_plan
from cultureqa.search.library import Library
from cultureqa.settings import Settings
from cultureqa.store import open_question_log
from cultureqa.store.jobs import JobQueue

log = logging.getLogger("cultureqa")

DESCRIPTION = (
    "Ask questions about culture articles. `POST /ask` returns the most relevant passages, best "
    "first, each with a citation (article, section path, link)."
)


def create_app(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    build_missing_index: bool = False,
) -> FastAPI:
    """Build the app. `build_missing_index` (what `cultureqa serve` asks for) rebuilds a missing
    or stale default collection from `settings.corpus_dir` before serving; without it the app
    answers 503 until an index is published. Newly published versions of any collection are
    picked up while serving, without a restart."""
    state = AppState(settings, serving_plan(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start(state, embedder, build_missing_index)
        try:
            yield
        finally:
            stop(state)

    app = FastAPI(
        title="cultureqa",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is served from local files by install_docs; ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        routes=routes(settings),
        exception_handlers=EXCEPTION_HANDLERS,
        # The first runs first: request ids, logging and metrics see every answer, 413s too.
        middleware=[
            Middleware(RequestMiddleware, metrics=state.metrics),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_request_bytes,
                max_admin_bytes=settings.max_upload_bytes,
                timeout=settings.body_timeout,
            ),
            cors_middleware(settings.cors_origins),
            Middleware(HeadMiddleware),
        ],
    )
    app.state.cultureqa = state
    return app


def routes(settings: Settings) -> list[BaseRoute]:
    """Every route, flat: each router's routes already carry its prefix and dependencies, and a
    flat list lets the middleware and the 405 handler see every route (include_router would
    wrap them)."""
    routers = [ask.router, status.router, admin.router, web.router, feedback.router]
    routers += [conversations.router, insights.router, lti.router, lti_admin.router]
    if settings.metrics_enabled:
        routers.append(status.metrics_router)
    found: list[BaseRoute] = [route for router in routers for route in router.routes]
    return found + (docs_routes() if settings.docs_enabled else [])


def start(state: AppState, embedder: Embedder | None, build_missing_index: bool) -> None:
    """Load the model, build the default collection if asked and needed, start serving every
    collection and the job runner."""
    settings = state.settings
    apply_threads(state.plan)
    # Returns at once: its writer migrates the database meanwhile (and retries while it is
    # down); asks are answered whatever the database does.
    state.question_log = open_question_log(settings)
    state.metrics.registry.register(QuestionLogCollector(state.question_log.stats))
    salt = settings.hash_salt.get_secret_value() if settings.hash_salt else None
    reserved = frozenset({settings.default_collection})
    state.lti = LtiTool(state.question_log.engine, salt, reserved=reserved)
    state.guard.sessions = state.lti.session_collection
    state.embedder = micro_batched(
        embedder or load_embedder(settings, threads=state.plan.torch_threads),
        settings,
        slots=state.plan.model_passes,
    )
    if isinstance(state.embedder, MicroBatcher):
        state.metrics.registry.register(MicroBatchCollector(state.embedder.stats))
    if build_missing_index and settings.builder == "inline":
        ensure_index(settings, state.embedder, progress=True)
    elif build_missing_index:
        log.info("CULTUREQA_BUILDER=external: `cultureqa worker` builds the indexes")
    library = Library(settings, state.embedder)
    library.start()
    state.library = library
    state.metrics.status_source = library.status
    state.jobs = JobRunner(on_success=library.refresh)
    if settings.builder == "external":  # the question log's database holds the job table
        state.job_queue = JobQueue(state.question_log.engine)
    for collection in library.status():
        if collection.version:
            log.info("Collection %r: version %s", collection.name, collection.version)
        else:
            log.error("Collection %r: %s", collection.name, collection.problem)


def stop(state: AppState) -> None:
    if state.library is not None:
        state.library.stop()
    if state.jobs is not None:
        state.jobs.shutdown()
    state.gate.shutdown()
    if isinstance(state.embedder, MicroBatcher):
        state.embedder.close()
    if state.question_log is not None:
        state.question_log.close()  # writes what is queued first
