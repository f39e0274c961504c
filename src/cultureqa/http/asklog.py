"""What /ask and /feedback hand to the question log (store/): the conversation an ask belongs
to, the earlier turns a follow-up leans on when the client sends none, and the records."""

from __future__ import annotations

from functools import partial

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from cultureqa.http.access import AskGuard
from cultureqa.http.middleware.request import REQUEST_ID_HEADER
from cultureqa.http.schemas import AskResponse
from cultureqa.search.followup import Turn
from cultureqa.store import AskRecord, QuestionLog, is_valid_id, new_id


def conversation_of(sent: str | None) -> str:
    """The client's conversation id when it has the shape the server makes, else a new one (a
    made-up or stale id starts a conversation of its own rather than failing the ask)."""
    return sent if sent is not None and is_valid_id(sent) else new_id()


async def stored_turns(
    question_log: QuestionLog | None, conversation: str, limit: int
) -> list[Turn]:
    """The conversation's earlier questions, oldest first, as /ask's `history` would carry
    them; read on a worker thread (the database may be slow or down: then it is this
    process's recent turns alone)."""
    if question_log is None or limit <= 0:
        return []
    # While the writer sees the database down, only this process's recent turns: a read would
    # wait for a connection that may time out (3 s on PostgreSQL).
    up = question_log.stats().database_up
    stored = await run_in_threadpool(
        partial(question_log.conversation_history, limit=limit, from_database=up), conversation
    )
    return [Turn(turn.question, turn.article_id) for turn in stored]


def ask_record(
    response: AskResponse, conversation: str, client_address: str | None, ask_id: str
) -> AskRecord:
    """The ask as the question log keeps it (store/privacy.py drops what the mode leaves out)."""
    answer = response.answer
    return AskRecord(
        id=ask_id,
        collection=response.collection,
        question=response.question,
        answered=answer is not None,
        conversation_id=conversation,
        no_answer_code=response.no_answer_code,
        confidence=response.confidence,
        answer_passage_id=answer.passage_id if answer is not None else None,
        cited_passage_ids=tuple(passage.id for passage in response.passages),
        index_version=response.index_version,
        latency_ms=response.took_ms,
        client_address=client_address,
    )


def ask_id_for(guard: AskGuard, request: Request) -> str:
    """The ask's id: the request id a trusted proxy sent (X-Request-ID) when it has the shape
    of an id, else a new one.

    A proxy that passes an ask on to another replica after the first one died holding it
    (deploy/nginx.conf: `non_idempotent` on /ask) sends both the same request id (nginx's
    $request_id, 128 random bits), so both give the ask the same id, and the question log
    keeps it once whichever wrote it (store/writes.py skips an ask id already written). Only
    from a trusted proxy, which sets the header itself: an id a client chose would let it
    decide which of its asks are logged."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and is_valid_id(given) and guard.from_trusted_proxy(request):
        return given
    return new_id()


def client_address(guard: AskGuard, request: Request) -> str:
    """The client's address (X-Forwarded-For only from trusted proxies), for the question log:
    hashed in "full" mode, never stored as it is."""
    return guard.address(request).removeprefix("ip:")
