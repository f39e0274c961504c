"""What the store's tests share: reading tables back, and a started log on an engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, select

from cultureqa.store import schema
from cultureqa.store.privacy import PrivacyPolicy, QuestionLogMode
from cultureqa.store.question_log import QuestionLog
from cultureqa.store.records import AskRecord

CLIENT = "203.0.113.7"  # TEST-NET-3: an address that is no one's


def rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table)).mappings()]


def every_value(engine: Engine) -> list[object]:
    """Every value in every table of the question log, for 'is X stored anywhere'."""
    return [
        value
        for table in schema.metadata.sorted_tables
        for row in rows(engine, table)
        for value in row.values()
    ]


def open_log(engine: Engine, mode: QuestionLogMode = "anonymous", **options: Any) -> QuestionLog:
    return QuestionLog(engine, PrivacyPolicy(default=mode), **options)


def an_ask(**fields: Any) -> AskRecord:
    defaults: dict[str, Any] = {
        "collection": "default",
        "question": "What is Hamhung known for?",
        "answered": True,
        "confidence": 0.75,
        "answer_passage_id": "hamhung-culture#food",
        "cited_passage_ids": ("hamhung-culture#food", "hamhung-culture#history"),
        "index_version": "v1",
        "latency_ms": 12.5,
        "client_address": CLIENT,
    }
    return AskRecord(**{**defaults, **fields})
