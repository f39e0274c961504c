"""Thumbs up and down from readers (POST /feedback), appended to a JSON Lines file the owner can
read."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request

from cultureqa.http.feedback_store import Feedback, FeedbackStore
from cultureqa.http.schemas import (
    ACCESS_ERRORS,
    FeedbackRequest,
    FeedbackResponse,
    error_responses,
)
from cultureqa.http.state import check_access

# An Origin header is scheme://host[:port]; anything else (or anything longer) is not stored.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,253}$")


router = APIRouter()


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    dependencies=[Depends(check_access)],
    responses={**ACCESS_ERRORS, **error_responses({422: "A field is missing or wrong."})},
    summary="Thumbs up or down for an answer",
    description="Appends the verdict, with the time and the embedding site's origin, to the "
    "JSON Lines file named by CULTUREQA_FEEDBACK_PATH.",
    tags=["web"],
)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    state = request.app.state.cultureqa
    state.guard.check_collection(request, body.collection or state.settings.default_collection)
    store: FeedbackStore = state.feedback
    store.append(
        Feedback(
            rating=body.rating,
            question=body.question,
            passage_id=body.passage_id,
            article_id=body.article_id,
            index_version=body.index_version,
            collection=body.collection,
            origin=sane_origin(request.headers.get("origin")),
        )
    )
    return FeedbackResponse(status="recorded")


def sane_origin(origin: str | None) -> str | None:
    """The Origin header when it looks like one (scheme, host, port), else None."""
    return origin if origin and _ORIGIN.fullmatch(origin) else None
