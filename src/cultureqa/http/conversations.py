"""DELETE /conversations/{id}: erase a conversation from the question log. The id is the
capability: it is random (128 bits), known only to the widget that holds it (and to admins
reading the log), so whoever knows it may erase what was asked in it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cultureqa.errors import InvalidRequestError, StoreUnavailableError
from cultureqa.http.schemas import error_responses
from cultureqa.http.state import StateDep
from cultureqa.store import is_valid_id


class ErasedOut(BaseModel):
    conversation_id: str
    asks: int = Field(description="Questions erased.")
    feedback: int = Field(description="Verdicts erased (on those questions, or in it).")
    conversations: int = Field(description="1 when the conversation was stored, else 0.")


router = APIRouter(tags=["privacy"])


@router.delete(
    "/conversations/{conversation_id}",
    response_model=ErasedOut,
    summary="Erase a conversation: its questions and the feedback on them",
    description="Anyone who holds the conversation id (the `conversation_id` /ask returned) "
    "may erase it; no key is needed, since the id is the secret. Rate limited per client.",
    responses=error_responses(
        {
            422: "Not a conversation id the server makes.",
            429: "Over the client's rate.",
            503: "The question log's database cannot be reached; nothing was erased.",
        }
    ),
)
async def erase_conversation(
    conversation_id: Annotated[str, Path(max_length=200)], request: Request, state: StateDep
) -> ErasedOut:
    # Every try costs a token, so ids cannot be guessed faster than the rate allows.
    state.guard.limiter.check(state.guard.client(request))
    if not is_valid_id(conversation_id):
        raise InvalidRequestError("not a conversation id: 16-32 letters, digits, '-' or '_'")
    question_log = state.question_log
    if question_log is None:
        raise StoreUnavailableError("the question log is not open yet")
    removed = await run_in_threadpool(question_log.erase_conversation, conversation_id)
    return ErasedOut(
        conversation_id=conversation_id,
        asks=removed.asks,
        feedback=removed.feedback,
        conversations=removed.conversations,
    )
