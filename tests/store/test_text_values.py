"""Text that PostgreSQL refuses as it is (a NUL character) costs that character, not the
record: an ask, a verdict, and the old feedback file's import, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from cultureqa.store import schema
from cultureqa.store.maintenance import import_feedback_jsonl
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.records import FeedbackRecord
from tests.store.helpers import an_ask, open_log, rows


def test_a_nul_in_a_question_or_comment_is_dropped(engine: Engine) -> None:
    with open_log(engine) as log:
        log.record_ask(an_ask(question="Kim\x00chi?"))
        log.record_feedback(FeedbackRecord(rating="up", question="a\x00b", comment="c\x00"))
        assert log.flush()
        assert (log.stats().written, log.stats().failed) == (2, 0)

    assert [ask["question"] for ask in rows(engine, schema.asks)] == ["Kimchi?"]
    [verdict] = rows(engine, schema.feedback)
    assert (verdict["question"], verdict["comment"]) == ("ab", "c")


def test_the_feedback_import_survives_a_nul(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    lines = [
        {"at": "2026-11-29T08:00:00+00:00", "rating": "down", "question": "x\x00y"},
        {"at": "2026-11-29T08:01:00+00:00", "rating": "up", "question": "fine"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    done = import_feedback_jsonl(engine, path, PrivacyPolicy())

    assert done.imported == 2
    assert sorted(row["question"] for row in rows(engine, schema.feedback)) == ["fine", "xy"]
