"""The web side of the API: the widget's files, the iframe embed, the educators' page, article
pages, reader feedback, and CORS. An adapter like api.py, which includes it with `install_web`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.resources import files
from typing import Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from .answer import Answerer
from .articles import find_article
from .feedback import Feedback, FeedbackStore
from .pages import embed_options, render_article, render_educators_page, render_embed
from .pages import render_not_found as render_missing
from .schemas import ErrorResponse
from .settings import Settings

# The only files /static/ serves, with their media types: nothing else in the package leaks.
STATIC_FILES = {
    "widget.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}

# No inline script or style anywhere: the pages load /widget.js and /static/page.css only.
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    rating: Literal["up", "down"] = Field(description="Was the answer useful?")
    question: str = Field(min_length=1, max_length=2000, description="The question answered.")
    passage_id: str | None = Field(
        default=None, max_length=300, description="Id of the passage shown as the answer."
    )
    article_id: str | None = Field(default=None, max_length=200)
    index_version: str | None = Field(default=None, max_length=100)
    collection: str | None = Field(default=None, max_length=200)


class FeedbackResponse(BaseModel):
    status: Literal["recorded"]


def origin_pattern(origins: list[str]) -> str:
    """One regular expression for an allowlist of origins, where `:*` means any port."""
    alternatives = [
        re.escape(origin[:-2]) + r"(:\d+)?" if origin.endswith(":*") else re.escape(origin)
        for origin in origins
    ]
    return "^(" + "|".join(alternatives) + ")$" if alternatives else "^$"


def csp(frame_ancestors: list[str]) -> str:
    return f"{_PAGE_POLICY}; frame-ancestors {' '.join(frame_ancestors)}"


def _html(body: str, *, policy: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        },
    )


def _static(name: str) -> Response:
    content = (files("cultureqa") / "static" / name).read_bytes()
    return Response(
        content,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def install_web(
    app: FastAPI, settings: Settings, get_answerer: Callable[[Request], Answerer]
) -> None:
    """Add the web routes and the CORS middleware (from `settings.cors_origins`) to `app`."""
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=origin_pattern(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    store = FeedbackStore(settings.feedback_path)
    router = APIRouter()
    own_pages = csp(["'self'"])

    # Pages and files for browsers, not API operations: kept out of the OpenAPI schema, whose
    # clients (and schemathesis) expect JSON.
    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def educators(request: Request) -> HTMLResponse:
        base = settings.public_url or str(request.base_url).rstrip("/")
        return _html(render_educators_page(base, settings.frame_ancestors), policy=own_pages)

    @router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
    def embed(request: Request) -> HTMLResponse:
        options = embed_options(dict(request.query_params))
        return _html(render_embed(options), policy=csp(settings.frame_ancestors))

    @router.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return _static("widget.js")

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return _html(render_missing(f"No file {name}."), policy=own_pages, status=404)
        return _static(name)

    @router.get("/articles/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def article(article_id: str, request: Request) -> HTMLResponse:
        # No index loaded: get_answerer raises the 503 the error handler explains.
        found = find_article(get_answerer(request).index.passages, article_id)
        if found is None:
            missing = render_missing(f"There is no article {article_id!r} in the index.")
            return _html(missing, policy=own_pages, status=404)
        return _html(render_article(found), policy=own_pages)

    @router.post(
        "/feedback",
        response_model=FeedbackResponse,
        status_code=201,
        responses={
            400: {"model": ErrorResponse, "description": "The body is not JSON."},
            413: {"model": ErrorResponse, "description": "The body is too large."},
            422: {"model": ErrorResponse, "description": "A field is missing or wrong."},
        },
        summary="Thumbs up or down for an answer",
        description="Appends the verdict, with the time and the embedding site's origin, to the "
        "JSON Lines file named by CULTUREQA_FEEDBACK_PATH.",
        tags=["web"],
    )
    def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
        store.append(
            Feedback(
                rating=body.rating,
                question=body.question,
                passage_id=body.passage_id,
                article_id=body.article_id,
                index_version=body.index_version,
                collection=body.collection,
                origin=request.headers.get("origin"),
            )
        )
        return FeedbackResponse(status="recorded")

    app.include_router(router)
