"""Thumbs up and down from readers (POST /feedback), linked to the ask they rate, in the
question log's database (store/)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request

from cultureqa.errors import OverloadedError, StoreUnavailableError
from cultureqa.http.schemas import (
    ACCESS_ERRORS,
    FeedbackRequest,
    FeedbackResponse,
    error_responses,
)
from cultureqa.http.state import check_access
from cultureqa.store import FeedbackRecord, QuestionLog, is_valid_id

# An Origin header is scheme://host[:port]; anything else (or anything longer) is not stored.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]{1,253}$")


router = APIRouter()


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    dependencies=[Depends(check_access)],
    responses={
        **ACCESS_ERRORS,
        **error_responses(
            {
                422: "A field is missing or wrong.",
                503: "The question log cannot take it now (its queue is full).",
            }
        ),
    },
    summary="Thumbs up or down for an answer",
    description="Stores the verdict, with the time and the embedding site's origin, in the "
    "question log's database, linked to the ask it rates (`ask_id`).",
    tags=["web"],
)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    state = request.app.state.cultureqa
    state.guard.check_collection(request, body.collection or state.settings.default_collection)
    question_log: QuestionLog | None = state.question_log
    if question_log is None:
        raise StoreUnavailableError("the question log is not open yet")
    ask_id = body.ask_id if body.ask_id and is_valid_id(body.ask_id) else None
    conversation = body.conversation_id
    verdict = FeedbackRecord(
        rating=body.rating,
        question=body.question,
        ask_id=ask_id,
        conversation_id=conversation if conversation and is_valid_id(conversation) else None,
        comment=body.comment,
        passage_id=body.passage_id,
        article_id=body.article_id,
        index_version=body.index_version,
        collection=body.collection or state.settings.default_collection,
        origin=sane_origin(request.headers.get("origin")),
    )
    # Queued, never waited for; a full queue (the database long down) is said, not hidden.
    if not question_log.record_feedback(verdict):
        raise OverloadedError("feedback cannot be stored now; try again later", retry_after=5)
    return FeedbackResponse(status="recorded")


def sane_origin(origin: str | None) -> str | None:
    """The Origin header when it looks like one (scheme, host, port), else None."""
    return origin if origin and _ORIGIN.fullmatch(origin) else None
