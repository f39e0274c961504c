"""POST /ask: a question in, the passages and the short answer out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cultureqa.errors import InvalidRequestError
from cultureqa.http.asklog import (
    ask_id_for,
    ask_record,
    client_address,
    conversation_of,
    stored_turns,
)
from cultureqa.http.grants import ArticleGrants
from cultureqa.http.schemas import (
    ACCESS_ERRORS,
    MAX_ARTICLE_ID_CHARS,
    AskRequest,
    AskResponse,
    error_responses,
)
from cultureqa.http.state import LibraryDep, StateDep, check_access

ASK_RESPONSES = {
    **ACCESS_ERRORS,
    **error_responses(
        {
            404: "No collection of that name.",
            422: "The question or top_k is not acceptable.",
            503: "No index is loaded, or the server is busy (code 'overloaded', with "
            "Retry-After); the message says which.",
            504: "Not answered within the time budget.",
        }
    ),
}

router = APIRouter()


@router.post(
    "/ask",
    response_model=AskResponse,
    responses=ASK_RESPONSES,
    dependencies=[Depends(check_access)],
    summary="Ask a question",
    description="Retrieve the passages most relevant to the question, with citations.",
)
async def ask(body: AskRequest, request: Request, state: StateDep, library: LibraryDep) -> Response:
    settings = state.settings
    check_history(
        body, settings.max_history_turns, settings.max_question_chars, MAX_ARTICLE_ID_CHARS
    )
    collection = body.collection or settings.default_collection
    state.guard.check_collection(request, collection)
    answerer = library.answerer(collection)
    top_k = settings.default_top_k if body.top_k is None else body.top_k
    conversation = conversation_of(body.conversation_id)
    # The client's history wins; without one, a conversation it continues has its own.
    turns = body.turns()
    if body.history is None and conversation == body.conversation_id:
        turns = await stored_turns(state.question_log, conversation, settings.max_history_turns)
    # Model work runs on the ask gate's threads (a bounded number at once, within the time
    # budget), never on the event loop.
    result = await state.gate.run(lambda: answerer.ask(body.question, top_k, turns))
    ask_id = ask_id_for(state.guard, request)
    response = AskResponse.from_result(
        result, collection, conversation_id=conversation, ask_id=ask_id
    )
    if state.guard.key_mode:
        grant_pages(response, state.guard.grants, collection)
    state.metrics.record_ask(response, collection)
    if state.question_log is not None:  # queued, never waited for
        address = client_address(state.guard, request)
        state.question_log.record_ask(ask_record(response, conversation, address, ask_id))
    # Serialized here, once: returned as a model, FastAPI would dump it, validate the dump
    # against response_model again and encode it (about a millisecond for five passages).
    return Response(response.model_dump_json(), media_type="application/json")


def grant_pages(response: AskResponse, grants: ArticleGrants, collection: str) -> None:
    """Key mode: each citation's page link gets a reading grant for its article, so that a
    student following it in a new tab (no key goes with a link) can read what was quoted."""
    citations = [passage.citation for passage in response.passages]
    if response.answer is not None:
        citations.append(response.answer.citation)
    for citation in citations:
        citation.page = grants.page_with_grant(citation.page, collection, citation.article_id)


def check_history(
    request: object, max_turns: int, max_question_chars: int, max_id_chars: int = 200
) -> None:
    """Refuse a request whose `history` (when the request model has one) is too long: too many
    turns, or a turn whose question or article id is longer than a question or id may be."""
    history = getattr(request, "history", None)
    if history is None:
        return
    if len(history) > max_turns:
        raise InvalidRequestError(
            f"history has {len(history)} turns; the limit is {max_turns}",
            hint="send only the most recent turns",
        )
    for number, turn in enumerate(history, start=1):
        if len(turn.question) > max_question_chars:
            raise InvalidRequestError(
                f"history turn {number}: the question is {len(turn.question)} characters long; "
                f"the limit is {max_question_chars}"
            )
        if turn.article_id is not None and len(turn.article_id) > max_id_chars:
            raise InvalidRequestError(
                f"history turn {number}: article_id is longer than {max_id_chars} characters"
            )
