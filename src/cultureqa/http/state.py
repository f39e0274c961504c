"""What one app holds while it runs, and the dependencies that hand it to the routes.

The settings and the per-app helpers (the ask gate and guard, the metrics) exist from
`create_app` on; the model, the library of collections, the job runner and the question log are
set by the lifespan, once, when the server starts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cultureqa.embedding.base import Embedder
from cultureqa.errors import CultureQAError
from cultureqa.http.access import AskGuard
from cultureqa.http.gate import AskGate
from cultureqa.http.metrics import ServiceMetrics
from cultureqa.http.shared_limits import SharedLimitsCollector, SharedRateLimiter
from cultureqa.index.jobs import JobRunner
from cultureqa.lti import LtiTool
from cultureqa.runtime import ThreadPlan, apply_threads
from cultureqa.search.answer import Answerer
from cultureqa.search.library import Library
from cultureqa.settings import Settings
from cultureqa.store import QuestionLog
from cultureqa.store.jobs import JobQueue


class AppState:
    """One app's settings, helpers and, once started, its model, collections and jobs."""

    def __init__(self, settings: Settings, plan: ThreadPlan) -> None:
        self.settings = settings
        self.plan = plan
        self.gate = AskGate(
            plan.concurrent_asks,
            settings.max_queued_asks,
            settings.request_timeout,
            # OpenMP settings can be per thread: set them in each ask thread too.
            initializer=lambda: apply_threads(plan),
        )
        self.guard = AskGuard(settings)
        self.metrics = ServiceMetrics()
        self.metrics.pending_source = lambda: self.gate.pending
        if isinstance(self.guard.limiter, SharedRateLimiter):
            self.metrics.registry.register(SharedLimitsCollector(self.guard.limiter.stats))
        self.embedder: Embedder | None = None
        self.library: Library | None = None
        self.jobs: JobRunner | None = None
        # CULTUREQA_BUILDER=external: jobs go to the database's job table instead of `jobs`.
        self.job_queue: JobQueue | None = None
        self.question_log: QuestionLog | None = None  # opened by the lifespan
        self.lti: LtiTool | None = None  # on the question log's database, by the lifespan

    def started_library(self) -> Library:
        if self.library is None:
            raise CultureQAError("the service is still starting")
        return self.library

    def started_jobs(self) -> tuple[Embedder, JobRunner]:
        if self.embedder is None or self.jobs is None:
            raise CultureQAError("the service is still starting")
        return self.embedder, self.jobs


# async getters: FastAPI runs a plain `def` dependency on its thread pool, a thread hop on every
# request for what is an attribute read.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cultureqa
    return state


async def check_access(request: Request) -> None:
    """Key mode's key check and the client's rate limit (access.AskGuard), for /ask and for
    /feedback: one budget per client."""
    await (await get_state(request)).guard(request)


def page_collection(request: Request, state: AppState) -> str:
    """The collection an article page shows: ?collection=NAME, else the default."""
    return request.query_params.get("collection") or state.settings.default_collection


async def check_article_access(request: Request, article_id: str) -> None:
    """check_key for /articles/<article_id>, where a citation's reading grant stands for the
    key (a followed link sends none)."""
    state = await get_state(request)
    state.guard.check_article_page(request, page_collection(request, state), article_id)


async def get_settings(request: Request) -> Settings:
    return (await get_state(request)).settings


async def get_library(request: Request) -> Library:
    return (await get_state(request)).started_library()


async def get_page_answerer(request: Request) -> Answerer:
    """The answerer whose passages an article page shows: ?collection=NAME, else the default
    (403 first when the request's key does not open it)."""
    state = await get_state(request)
    collection = page_collection(request, state)
    state.guard.check_collection(request, collection)
    return state.started_library().answerer(collection)


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LibraryDep = Annotated[Library, Depends(get_library)]
PageAnswererDep = Annotated[Answerer, Depends(get_page_answerer)]
