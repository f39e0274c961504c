"""Writing a batch of records in one transaction, with the privacy mode applied to each. Runs
on the question log's writer thread (writer.py) and in the feedback import."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date
from typing import Any

from sqlalchemy import Connection, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from cultureqa.store import schema
from cultureqa.store.privacy import PrivacyPolicy, client_hash, new_salt
from cultureqa.store.records import AskRecord, FeedbackRecord, ask_row

SALT_KEY = "client_hash_salt"
Record = AskRecord | FeedbackRecord


def write_records(
    connection: Connection, records: Sequence[Record], policy: PrivacyPolicy, salt: str | None
) -> int:
    """Insert the records (asks, their conversations, the day's counts, feedback) on a
    connection inside a transaction. `salt` is the configured one, or None to use the
    database's own (made on first use). Returns how many of the asks were new (the others'
    ids were written before, and are skipped)."""
    asks = _unwritten(connection, [record for record in records if isinstance(record, AskRecord)])
    feedback = [record for record in records if isinstance(record, FeedbackRecord)]
    _add_daily_counts(connection, asks)
    logged = [ask for ask in asks if policy.mode_for(ask.collection) != "off"]
    if logged:
        if any(policy.mode_for(ask.collection) == "full" for ask in logged) and salt is None:
            salt = database_salt(connection)
        _insert_conversations(connection, logged)
        connection.execute(
            schema.asks.insert(), [_ask_row(ask, policy, salt or "") for ask in logged]
        )
    if feedback:
        known = _logged_asks(connection, [item.ask_id for item in feedback if item.ask_id])
        connection.execute(
            schema.feedback.insert(), [_feedback_row(item, policy, known) for item in feedback]
        )
    return len(asks)


def database_salt(connection: Connection) -> str:
    """The client hash's salt kept in the database: made once, by whichever process needs it
    first; every server sharing the database then hashes a client alike."""
    upsert = _insert(connection, schema.store_meta).values(key=SALT_KEY, value=new_salt())
    connection.execute(upsert.on_conflict_do_nothing(index_elements=["key"]))
    query = select(schema.store_meta.c.value).where(schema.store_meta.c.key == SALT_KEY)
    return str(connection.execute(query).scalar_one())


def _ask_row(ask: AskRecord, policy: PrivacyPolicy, salt: str) -> dict[str, Any]:
    full = policy.mode_for(ask.collection) == "full"
    return clip_to_columns(schema.asks, ask_row(ask, _client_hash(ask, salt) if full else None))


def _client_hash(ask: AskRecord, salt: str) -> str | None:
    """The address hashed, or the hash a spooled ask carries (spool.py: never the address)."""
    if ask.client_address:
        return client_hash(salt, ask.client_address)
    return ask.client_hash


def _feedback_row(item: FeedbackRecord, policy: PrivacyPolicy, known: set[str]) -> dict[str, Any]:
    keeps_text = policy.mode_for(item.collection) != "off"
    row = {
        "created_at": item.created_at,
        "ask_id": item.ask_id if item.ask_id in known else None,
        "conversation_id": item.conversation_id if keeps_text else None,
        "rating": item.rating,
        "comment": item.comment if keeps_text else None,
        "question": item.question if keeps_text else None,
        "passage_id": item.passage_id,
        "article_id": item.article_id,
        "index_version": item.index_version,
        "collection": item.collection,
        "origin": item.origin,
    }
    return clip_to_columns(schema.feedback, row)


def clip_to_columns(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Cut text to its column's length and drop NUL characters: PostgreSQL refuses both (a NUL
    in text is a DataError), and a field a client sent too long, or with a NUL in it, should
    cost that field's tail or that character, not the whole record (nor a feedback file's
    whole import)."""
    for name, value in row.items():
        column_type = table.c[name].type
        if isinstance(value, str) and isinstance(column_type, String):
            value = value.replace("\x00", "")
            row[name] = value[: column_type.length] if column_type.length else value
    return row


def _insert_conversations(connection: Connection, asks: Sequence[AskRecord]) -> None:
    """Every conversation an ask names exists afterwards (get-or-create, race-free)."""
    first_seen: dict[str, AskRecord] = {}
    for ask in asks:
        if ask.conversation_id is not None:
            first_seen.setdefault(ask.conversation_id, ask)
    if not first_seen:
        return
    rows = [
        {"id": cid, "created_at": ask.asked_at, "collection": ask.collection}
        for cid, ask in first_seen.items()
    ]
    statement = _insert(connection, schema.conversations).on_conflict_do_nothing(
        index_elements=["id"]
    )
    connection.execute(statement, [clip_to_columns(schema.conversations, row) for row in rows])


def _add_daily_counts(connection: Connection, asks: Sequence[AskRecord]) -> None:
    counts: Counter[tuple[date, str]] = Counter()
    unanswered: Counter[tuple[date, str]] = Counter()
    for ask in asks:
        key = (ask.asked_at.astimezone(UTC).date(), ask.collection[: schema.COLLECTION_CHARS])
        counts[key] += 1
        unanswered[key] += 0 if ask.answered else 1
    table = schema.daily_counts
    for (day, collection), number in counts.items():
        statement = _insert(connection, table).values(
            day=day, collection=collection, asks=number, unanswered=unanswered[day, collection]
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["day", "collection"],
                set_={
                    "asks": table.c.asks + statement.excluded.asks,
                    "unanswered": table.c.unanswered + statement.excluded.unanswered,
                },
            )
        )


def _unwritten(connection: Connection, asks: Sequence[AskRecord]) -> list[AskRecord]:
    """The asks whose ids are not in the table yet (nor earlier in the batch), so that an ask
    two replicas answered under one id (a proxy passed it on after the first died holding it:
    http/asklog.py, ask_id_for) is kept and counted once. Asks of a collection whose log is
    "off" leave no row to find: a retried one is counted twice. Two replicas writing one id at
    the same moment both pass this; the second insert then fails, alone (writer.py)."""
    written = _logged_asks(connection, [ask.id for ask in asks])
    unwritten = []
    for ask in asks:
        if ask.id not in written:
            written.add(ask.id)
            unwritten.append(ask)
    return unwritten


def _logged_asks(connection: Connection, ask_ids: Sequence[str]) -> set[str]:
    if not ask_ids:
        return set()
    query = select(schema.asks.c.id).where(schema.asks.c.id.in_(set(ask_ids)))
    return set(connection.execute(query).scalars())


def _insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both spell it the same way)."""
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)
