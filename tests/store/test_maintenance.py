"""Retention, erasure, the one-time feedback import, and a conversation's history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from cultureqa.store import schema
from cultureqa.store.maintenance import (
    Removed,
    conversation_history,
    erase_conversation,
    import_feedback_jsonl,
    purge_older_than,
)
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.records import FeedbackRecord, new_id
from tests.store.helpers import an_ask, open_log, rows

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_purge_removes_what_is_older_than_the_retention_and_keeps_the_rest(
    engine: Engine,
) -> None:
    old, recent, long_running = new_id(), new_id(), new_id()
    log = open_log(engine)
    # A conversation begun long ago and still going is kept, with its recent questions.
    log.record_ask(an_ask(conversation_id=long_running, asked_at=NOW - timedelta(days=300)))
    log.record_ask(an_ask(conversation_id=long_running, asked_at=NOW - timedelta(days=1)))
    old_ask = an_ask(conversation_id=old, asked_at=NOW - timedelta(days=200))
    log.record_ask(old_ask)
    log.record_ask(an_ask(conversation_id=recent, asked_at=NOW - timedelta(days=2)))
    # Feedback given on the old ask yesterday outlives it, unlinked.
    log.record_feedback(
        FeedbackRecord(rating="up", ask_id=old_ask.id, created_at=NOW - timedelta(days=1))
    )
    log.record_feedback(FeedbackRecord(rating="down", created_at=NOW - timedelta(days=190)))
    assert log.flush()
    log.close()

    removed = purge_older_than(engine, 180, now=NOW)

    assert removed == Removed(asks=2, feedback=1, conversations=1)
    kept_asks = {ask["conversation_id"] for ask in rows(engine, schema.asks)}
    assert kept_asks == {recent, long_running}
    assert {c["id"] for c in rows(engine, schema.conversations)} == {recent, long_running}
    [kept] = rows(engine, schema.feedback)
    assert (kept["rating"], kept["ask_id"]) == ("up", None)
    assert sum(row["asks"] for row in rows(engine, schema.daily_counts)) == 4  # counts stay


def test_a_retention_of_zero_keeps_everything(engine: Engine) -> None:
    log = open_log(engine)
    log.record_ask(an_ask(asked_at=NOW - timedelta(days=5000)))
    assert log.flush()
    log.close()

    assert purge_older_than(engine, 0, now=NOW) == Removed(0, 0, 0)
    assert len(rows(engine, schema.asks)) == 1


def test_erasing_a_conversation_removes_its_asks_and_feedback_only(engine: Engine) -> None:
    mine, theirs = new_id(), new_id()
    log = open_log(engine)
    my_ask = an_ask(conversation_id=mine)
    for ask in (my_ask, an_ask(conversation_id=mine), an_ask(conversation_id=theirs)):
        log.record_ask(ask)
    log.record_feedback(FeedbackRecord(rating="down", ask_id=my_ask.id))  # linked by ask only
    log.record_feedback(FeedbackRecord(rating="up", conversation_id=mine))
    log.record_feedback(FeedbackRecord(rating="up", conversation_id=theirs))

    removed = log.erase_conversation(mine)  # writes what is queued first
    log.close()

    assert removed == Removed(asks=2, feedback=2, conversations=1)
    assert {ask["conversation_id"] for ask in rows(engine, schema.asks)} == {theirs}
    assert [f["conversation_id"] for f in rows(engine, schema.feedback)] == [theirs]
    assert erase_conversation(engine, mine) == Removed(0, 0, 0)


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


JSONL_RECORD = {
    "at": "2026-11-29T08:00:00Z",
    "rating": "up",
    "question": "What is Hamhung known for?",
    "passage_id": "hamhung-culture#food",
    "article_id": "hamhung-culture",
    "index_version": "v1",
    "collection": "default",
    "origin": "https://moodle.example.edu",
}


def test_the_feedback_file_is_imported_once(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "feedback.jsonl",
        [JSONL_RECORD, {**JSONL_RECORD, "rating": "down", "origin": None}, "not json", {"a": 1}],
    )
    policy = PrivacyPolicy()

    first = import_feedback_jsonl(engine, path, policy)
    second = import_feedback_jsonl(engine, path, policy)

    assert (first.imported, first.skipped, first.already_done) == (2, 2, False)
    assert (second.imported, second.already_done) == (0, True)
    imported = sorted(rows(engine, schema.feedback), key=lambda row: row["rating"])
    assert [row["rating"] for row in imported] == ["down", "up"]
    up = imported[1]
    assert up["created_at"] == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert {key: up[key] for key in JSONL_RECORD if key != "at"} == {
        key: value for key, value in JSONL_RECORD.items() if key != "at"
    }


def test_the_import_follows_the_privacy_mode_and_skips_a_missing_file(
    engine: Engine, tmp_path: Path
) -> None:
    missing = import_feedback_jsonl(engine, tmp_path / "none.jsonl", PrivacyPolicy())
    assert (missing.imported, missing.already_done) == (0, False)

    path = write_jsonl(tmp_path / "feedback.jsonl", [JSONL_RECORD])
    import_feedback_jsonl(engine, path, PrivacyPolicy(default="off"))

    [row] = rows(engine, schema.feedback)
    assert (row["rating"], row["question"]) == ("up", None)


def test_history_lists_the_earlier_questions_oldest_first(engine: Engine) -> None:
    conversation = new_id()
    log = open_log(engine)
    start = NOW - timedelta(minutes=10)
    for minute, (question, passage) in enumerate(
        [
            ("What is Hamhung known for?", "hamhung-culture#industry"),
            ("Who won in 1930?", None),
            ("And what do people eat there?", "hamhung-culture#food"),
        ]
    ):
        log.record_ask(
            an_ask(
                conversation_id=conversation,
                question=question,
                answered=passage is not None,
                answer_passage_id=passage,
                asked_at=start + timedelta(minutes=minute),
            )
        )
    log.record_ask(an_ask(conversation_id=new_id(), question="someone else's"))
    assert log.flush()

    turns = log.conversation_history(conversation)
    last_two = conversation_history(engine, conversation, limit=2)
    log.close()

    assert [(t.question, t.article_id, t.answered) for t in turns] == [
        ("What is Hamhung known for?", "hamhung-culture", True),
        ("Who won in 1930?", None, False),
        ("And what do people eat there?", "hamhung-culture", True),
    ]
    assert [t.question for t in last_two] == [t.question for t in turns[1:]]
    assert conversation_history(engine, new_id()) == []


def test_history_is_empty_when_no_question_is_kept(engine: Engine) -> None:
    conversation = new_id()
    log = open_log(engine, "off")
    log.record_ask(an_ask(conversation_id=conversation))
    assert log.flush()
    log.close()

    assert conversation_history(engine, conversation) == []
