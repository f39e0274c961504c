"""What the HTTP layer hands to the question log: one ask, one verdict. Ids are made here, when
the record is made, so the response can carry them before anything is written."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Rating = Literal["up", "down"]

# token_urlsafe(16): 22 characters, 128 random bits; a client cannot guess another's id.
_ID_BYTES = 16
_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def new_id() -> str:
    """A random id for a conversation or an ask."""
    return secrets.token_urlsafe(_ID_BYTES)


def is_valid_id(value: str) -> bool:
    """Whether a client-sent conversation (or ask) id has the shape new_id makes."""
    return bool(_ID.fullmatch(value))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AskRecord:
    """One answered (or unanswered) question, as /ask saw it."""

    collection: str
    question: str
    answered: bool
    conversation_id: str | None = None
    no_answer_code: str | None = None
    confidence: float | None = None
    answer_passage_id: str | None = None  # the passage the answer sentence is from
    cited_passage_ids: tuple[str, ...] = ()  # every passage returned, best first
    index_version: str | None = None
    latency_ms: float | None = None
    client_address: str | None = None  # hashed in "full" mode, never stored as it is
    # The hash itself, for an ask read back from a spool (spool.py), which never holds the
    # address: stored in "full" mode when there is no client_address to hash.
    client_hash: str | None = None
    id: str = field(default_factory=new_id)
    asked_at: datetime = field(default_factory=utc_now)


def ask_row(ask: AskRecord, client_hash: str | None) -> dict[str, Any]:
    """The asks table's row for `ask`, with the client's hash the privacy mode allows: what
    the database gets (writes.py) and what the spool keeps until then (spool.py)."""
    return {
        "id": ask.id,
        "asked_at": ask.asked_at,
        "collection": ask.collection,
        "conversation_id": ask.conversation_id,
        "question": ask.question,
        "client_hash": client_hash,
        "answered": ask.answered,
        "no_answer_code": ask.no_answer_code,
        "confidence": ask.confidence,
        "answer_passage_id": ask.answer_passage_id,
        "cited_passage_ids": list(ask.cited_passage_ids),
        "index_version": ask.index_version,
        "latency_ms": ask.latency_ms,
    }


@dataclass(frozen=True)
class FeedbackRecord:
    """A reader's thumbs up or down, with what the current feedback JSONL holds."""

    rating: Rating
    question: str | None = None
    ask_id: str | None = None  # kept when that ask was logged; NULL otherwise
    conversation_id: str | None = None
    comment: str | None = None
    passage_id: str | None = None
    article_id: str | None = None
    index_version: str | None = None
    collection: str | None = None
    origin: str | None = None
    created_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class Turn:
    """An earlier question of a conversation, for follow-ups: what /ask's `history` holds."""

    question: str
    article_id: str | None  # the article the answer was cited from, if there was an answer
    asked_at: datetime
    answered: bool
    ask_id: str | None = None
