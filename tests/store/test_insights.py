"""The insights' queries on both databases, the grouping by meaning, the date ranges and the
CSV export's defused formulas."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from cultureqa.store.insights import as_csv, date_range, group_by_meaning, read_insights
from cultureqa.store.records import FeedbackRecord, Rating
from tests.store.helpers import an_ask, open_log

TODAY = date(2026, 12, 2)
NOON = datetime(2026, 12, 2, 12, tzinfo=UTC)


def test_days_counts_citations_and_thumbs_down(engine: Engine) -> None:
    yesterday = NOON - timedelta(days=1)
    asks = [
        an_ask(asked_at=yesterday),
        an_ask(asked_at=NOON, answered=False, answer_passage_id=None, question="=1+1 Peru?"),
        an_ask(asked_at=NOON, answer_passage_id="kyoto#food"),
        an_ask(asked_at=NOON, collection="other"),
        an_ask(asked_at=NOON - timedelta(days=30)),  # outside the range
    ]
    with open_log(engine) as log:
        for ask in asks:
            log.record_ask(ask)
        # Given on the day asked: the range is fixed days, not the day the test runs.
        verdicts: list[tuple[Rating, str]] = [("down", asks[2].id), ("up", asks[0].id)]
        for rating, ask_id in verdicts:
            log.record_feedback(
                FeedbackRecord(rating, ask_id=ask_id, collection="default", created_at=NOON)
            )
        assert log.flush()

    found = read_insights(engine, "default", TODAY - timedelta(days=6), TODAY)

    assert [(d.day, d.asks, d.unanswered) for d in found.days[-2:]] == [
        (TODAY - timedelta(days=1), 1, 0),
        (TODAY, 2, 1),
    ]
    assert len(found.days) == 7 and (found.asks, found.unanswered) == (3, 1)
    assert [(c.id, c.count) for c in found.articles] == [("hamhung-culture", 1), ("kyoto", 1)]
    assert [t.question for t in found.thumbs_down] == ["What is Hamhung known for?"]
    assert found.thumbs_down[0].passage_id == "kyoto#food"  # the ask's, the verdict has none
    assert sorted(q.why for q in found.gap_questions) == ["thumbs_down", "unanswered"]
    rows = list(csv.reader(io.StringIO(as_csv(found))))
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_off_mode_counts_the_days_only(engine: Engine) -> None:
    with open_log(engine, "off") as log:
        log.record_ask(an_ask(asked_at=NOON, answered=False))
        assert log.flush()

    found = read_insights(engine, "default", TODAY, TODAY)

    assert (found.asks, found.unanswered) == (1, 1)
    assert found.gap_questions == () and found.articles == ()


def test_group_by_meaning_joins_close_vectors_only() -> None:
    vectors = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 0, 1], [0, 0.1, 0.99]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    assert group_by_meaning(vectors, threshold=0.8) == [[0, 1], [2, 3]]
    assert group_by_meaning(vectors, threshold=0.999) == [[0], [1], [2], [3]]
    assert group_by_meaning(np.zeros((0, 3), dtype=np.float32)) == []


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (None, None, (TODAY - timedelta(days=29), TODAY)),
        ("7d", None, (TODAY - timedelta(days=6), TODAY)),
        ("1d", None, (TODAY, TODAY)),
        ("2026-11-01", "2026-11-30", (date(2026, 11, 1), date(2026, 11, 30))),
    ],
)
def test_date_ranges(since: str | None, until: str | None, expected: tuple[date, date]) -> None:
    assert date_range(since, until, TODAY) == expected


@pytest.mark.parametrize(
    ("since", "until"), [("soon", None), ("2026-12-05", "2026-12-01"), ("400d", None)]
)
def test_bad_date_ranges_say_why(since: str, until: str | None) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        date_range(since, until, TODAY)


def test_the_insights_command(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cultureqa.cli import cli

    now = datetime.now(UTC)
    with open_log(engine) as log:
        log.record_ask(an_ask(asked_at=now))
        for question in ("Where is the Eiffel tower?", "How tall is the Eiffel tower?"):
            log.record_ask(
                an_ask(asked_at=now, answered=False, answer_passage_id=None, question=question)
            )
        assert log.flush()
    monkeypatch.setenv("CULTUREQA_DATABASE_URL", engine.url.render_as_string(hide_password=False))

    text = CliRunner().invoke(cli, ["insights", "--collection", "default", "--since", "7d"])
    data = CliRunner().invoke(cli, ["insights", "--since", "1d", "--json"])

    assert text.exit_code == 0, text.output
    assert "default: 3 questions, 1 unanswered" not in text.output
    assert "default: 3 questions, 2 unanswered" in text.output
    assert "Content gaps (1 groups):" in text.output  # the real model groups the two
    assert data.exit_code == 0, data.output
    assert json.loads(data.output)["asks"] == 3
