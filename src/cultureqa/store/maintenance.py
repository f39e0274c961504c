"""Keeping the question log: the retention purge, erasing a conversation, importing the old
feedback JSONL once, and a conversation's earlier questions for follow-ups. Each runs in its own
transaction and raises StoreUnavailableError when the database cannot be reached."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from cultureqa.errors import StoreUnavailableError
from cultureqa.store import schema
from cultureqa.store.database import for_writing
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.records import FeedbackRecord, Turn, utc_now
from cultureqa.store.writes import write_records

log = logging.getLogger("cultureqa.store")

IMPORT_KEY_PREFIX = "feedback_jsonl_import:"
_IMPORT_CHUNK = 500


@dataclass(frozen=True)
class Removed:
    """Rows deleted, per table."""

    asks: int
    feedback: int
    conversations: int


@dataclass(frozen=True)
class FeedbackImport:
    imported: int
    skipped: int  # lines that were not a feedback record (not JSON, no valid rating)
    already_done: bool  # this file was imported before: nothing was read


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A writing transaction; database errors become StoreUnavailableError."""
    try:
        with for_writing(engine).begin() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(
            f"the question log's database failed: {exc.__class__.__name__}",
            hint="check CULTUREQA_DATABASE_URL and that the database server is up",
        ) from exc


def purge_older_than(engine: Engine, days: int, *, now: datetime | None = None) -> Removed:
    """Delete asks and feedback older than `days` days, and conversations left without asks
    that began before then. 0 keeps everything. The daily counts are kept: they hold no
    question and no person."""
    if days <= 0:
        return Removed(0, 0, 0)
    cutoff = (now or utc_now()) - timedelta(days=days)
    asks, feedback, conversations = schema.asks, schema.feedback, schema.conversations
    with transaction(engine) as connection:
        old_feedback = connection.execute(delete(feedback).where(feedback.c.created_at < cutoff))
        old_asks = connection.execute(delete(asks).where(asks.c.asked_at < cutoff))
        has_asks = exists().where(asks.c.conversation_id == conversations.c.id)
        empty = connection.execute(
            delete(conversations).where(conversations.c.created_at < cutoff, ~has_asks)
        )
    removed = Removed(old_asks.rowcount, old_feedback.rowcount, empty.rowcount)
    if removed != Removed(0, 0, 0):
        log.info("question log: purged rows older than %d days: %s", days, removed)
    return removed


def erase_conversation(engine: Engine, conversation_id: str) -> Removed:
    """Delete a conversation: its asks, the feedback on them or in it, and the conversation."""
    asks, feedback = schema.asks, schema.feedback
    its_asks = select(asks.c.id).where(asks.c.conversation_id == conversation_id)
    with transaction(engine) as connection:
        gone_feedback = connection.execute(
            delete(feedback).where(
                (feedback.c.conversation_id == conversation_id) | feedback.c.ask_id.in_(its_asks)
            )
        )
        gone_asks = connection.execute(
            delete(asks).where(asks.c.conversation_id == conversation_id)
        )
        gone = connection.execute(
            delete(schema.conversations).where(schema.conversations.c.id == conversation_id)
        )
    return Removed(gone_asks.rowcount, gone_feedback.rowcount, gone.rowcount)


def conversation_history(engine: Engine, conversation_id: str, *, limit: int = 10) -> list[Turn]:
    """The conversation's last `limit` logged questions, oldest first, each with the article
    its answer was cited from. Empty for an unknown conversation, and in "off" mode (no
    question is kept there)."""
    asks = schema.asks
    query = (
        select(
            asks.c.id,
            asks.c.question,
            asks.c.answer_passage_id,
            asks.c.asked_at,
            asks.c.answered,
        )
        .where(asks.c.conversation_id == conversation_id, asks.c.question.is_not(None))
        .order_by(asks.c.asked_at.desc(), asks.c.id.desc())
        .limit(limit)
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(
            f"could not read the conversation's history: {exc.__class__.__name__}"
        ) from exc
    return [
        Turn(
            question=row.question,
            article_id=row.answer_passage_id.split("#")[0] if row.answer_passage_id else None,
            asked_at=row.asked_at,
            answered=row.answered,
            ask_id=row.id,
        )
        for row in reversed(rows)
    ]


def import_feedback_jsonl(engine: Engine, path: Path, policy: PrivacyPolicy) -> FeedbackImport:
    """Copy the feedback JSON Lines file (CULTUREQA_FEEDBACK_PATH, as POST /feedback wrote it
    before the database) into the feedback table, once: the import and the mark that it ran
    commit together, so a killed import leaves neither and the next start tries again, and a
    second import of the same file (by absolute path) reads nothing. A missing file imports
    nothing and is not marked."""
    if not path.is_file():
        return FeedbackImport(0, 0, already_done=False)
    records, skipped = _read_feedback_lines(path)
    key = (IMPORT_KEY_PREFIX + str(path.resolve()))[: schema.META_KEY_CHARS]
    mark = {"at": utc_now().isoformat(), "imported": len(records), "skipped": skipped}
    try:
        with transaction(engine) as connection:
            if _marked(connection, key):
                return FeedbackImport(0, 0, already_done=True)
            connection.execute(schema.store_meta.insert(), {"key": key, "value": json.dumps(mark)})
            for start in range(0, len(records), _IMPORT_CHUNK):
                chunk = records[start : start + _IMPORT_CHUNK]
                write_records(connection, chunk, policy, salt=None)
    except StoreUnavailableError as exc:
        if isinstance(exc.__cause__, IntegrityError):  # another process imported it just now
            return FeedbackImport(0, 0, already_done=True)
        raise
    log.info("question log: imported %d feedback records from %s", len(records), path)
    return FeedbackImport(len(records), skipped, already_done=False)


def _marked(connection: Connection, key: str) -> bool:
    query = select(schema.store_meta.c.key).where(schema.store_meta.c.key == key)
    return connection.execute(query).first() is not None


def _read_feedback_lines(path: Path) -> tuple[list[FeedbackRecord], int]:
    records: list[FeedbackRecord] = []
    skipped = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        record = _feedback_from_json(line)
        if record is None:
            skipped += 1
        else:
            records.append(record)
    return records, skipped


def _feedback_from_json(line: str) -> FeedbackRecord | None:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("rating") not in ("up", "down"):
        return None
    try:
        created = datetime.fromisoformat(str(data.get("at")))
    except ValueError:
        return None
    if created.tzinfo is None:
        return None

    def text(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and value else None

    return FeedbackRecord(
        rating=data["rating"],
        created_at=created,
        question=text("question"),
        passage_id=text("passage_id"),
        article_id=text("article_id"),
        index_version=text("index_version"),
        collection=text("collection"),
        origin=text("origin"),
    )
