"""The question log as the server builds it from Settings, and `cultureqa db upgrade`."""

from __future__ import annotations

import json
import re
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import URL, make_url

from cultureqa.cli import cli
from cultureqa.settings import Settings
from cultureqa.store import schema
from cultureqa.store.database import create_sqlite_directory, make_engine
from cultureqa.store.migrate import head_revision, upgrade_database
from cultureqa.store.privacy import client_hash
from cultureqa.store.question_log import database_url_of, open_question_log
from tests.store.helpers import CLIENT, an_ask, open_log, rows


def settings_for(database_url: URL, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=SecretStr(database_url.render_as_string(hide_password=False)),
        feedback_path=tmp_path / "feedback.jsonl",
        **overrides,  # type: ignore[arg-type]
    )


def test_open_question_log_migrates_imports_and_writes(database_url: URL, tmp_path: Path) -> None:
    (tmp_path / "feedback.jsonl").write_text(
        json.dumps({"at": "2026-11-29T08:00:00Z", "rating": "up", "question": "Q?"}) + "\n",
        encoding="utf-8",
    )
    salt = "k" * 32
    settings = settings_for(
        database_url,
        tmp_path,
        question_log="full",
        question_log_by_collection={"quiet": "off"},
        hash_salt=salt,
    )

    for _ in range(2):  # a restart imports nothing twice
        with open_question_log(settings) as log:
            log.record_ask(an_ask())
            log.record_ask(an_ask(collection="quiet"))
            assert log.flush()

    engine = make_engine(database_url)
    assert [row["question"] for row in rows(engine, schema.feedback)] == ["Q?"]
    asks = rows(engine, schema.asks)
    assert [ask["client_hash"] for ask in asks] == [client_hash(salt, CLIENT)] * 2
    assert {row["collection"] for row in rows(engine, schema.daily_counts)} == {"default", "quiet"}
    engine.dispose()


def test_db_upgrade_migrates_and_imports_once(
    database_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text(
        json.dumps({"at": "2026-11-29T08:00:00Z", "rating": "down", "question": "Q?"})
        + "\nnot json\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CULTUREQA_FEEDBACK_PATH", str(feedback))
    url = database_url.render_as_string(hide_password=False)
    runner = CliRunner()

    first = runner.invoke(cli, ["db", "upgrade", "--database-url", url])
    second = runner.invoke(cli, ["db", "upgrade", "--database-url", url])

    assert first.exit_code == 0, first.output
    assert f"from empty to {head_revision()}" in first.output
    assert f"Imported 1 feedback record from {feedback}, skipped 1 line." in first.output
    assert second.exit_code == 0, second.output
    assert f"already at {head_revision()}" in second.output
    assert "Imported" not in second.output


def test_db_upgrade_says_why_when_the_database_is_unreachable() -> None:
    result = CliRunner().invoke(
        cli, ["db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]
    )

    assert result.exit_code == 1
    assert "could not upgrade the question log's database" in result.output


def test_the_server_starts_while_its_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(
        database_url=SecretStr("postgresql://nobody@127.0.0.1:1/none"),
        feedback_path=tmp_path / "feedback.jsonl",
    )
    started = time.monotonic()
    log = open_question_log(settings)

    assert time.monotonic() - started < 1.0
    assert log.record_ask(an_ask())  # queued; the answer never waits
    assert not log.wait_until_ready(0.3)
    stats = log.close(timeout=0.2)
    assert (stats.written, stats.failed, stats.outages, stats.database_up) == (0, 1, 1, False)


def test_retention_purges_in_the_background(database_url: URL, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    create_sqlite_directory(database_url)
    upgrade_database(engine)
    earlier = open_log(engine)
    earlier.record_ask(an_ask(asked_at=datetime.now(UTC) - timedelta(days=31)))
    earlier.record_ask(an_ask())
    assert earlier.flush()
    earlier.close()

    log = open_question_log(settings_for(database_url, tmp_path, question_log_retention_days=30))

    deadline = time.monotonic() + 20
    while len(rows(engine, schema.asks)) != 1:  # purged once the database is ready
        assert time.monotonic() < deadline, "the old ask was not purged"
        time.sleep(0.05)
    log.close()
    engine.dispose()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("database_url", "mysql://db/x", "sqlite:///PATH or postgresql://"),
        ("database_url", "cultureqa.db", "sqlite:///PATH or postgresql://"),
        ("question_log", "verbose", "'off', 'anonymous' or 'full'"),
        ("question_log_by_collection", {"Bad Name": "off"}, "is no collection name"),
        ("question_log_by_collection", {"ok": "everything"}, "'off', 'anonymous' or 'full'"),
        ("question_log_retention_days", -1, "greater than or equal to 0"),
        ("hash_salt", "short", "at least 32 characters"),
    ],
)
def test_question_log_settings_refuse_unsafe_values(
    field: str, value: object, problem: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "cultureqa.db"
    log = open_question_log(settings_for(make_url(f"sqlite:///{path}"), tmp_path))
    assert log.wait_until_ready(20)
    log.record_ask(an_ask())
    assert log.flush()

    modes = {
        file.name: stat.S_IMODE(file.stat().st_mode) for file in path.parent.glob("cultureqa.db*")
    }
    log.close()
    assert modes["cultureqa.db"] == 0o600
    assert set(modes.values()) == {0o600}  # and the -wal and -shm files, when they are there


@pytest.mark.parametrize(
    ("feedback_path", "url"),
    [
        ("feedback.jsonl", "sqlite:///cultureqa.db"),
        ("/app/feedback/feedback.jsonl", "sqlite:////app/feedback/cultureqa.db"),
        ("data/feedback.jsonl", "sqlite:///data/cultureqa.db"),
    ],
)
def test_the_default_database_is_beside_the_feedback_file(feedback_path: str, url: str) -> None:
    assert database_url_of(Settings(feedback_path=Path(feedback_path))) == url


def test_a_database_url_wins_over_the_default() -> None:
    settings = Settings(database_url=SecretStr("postgresql://db/x"))
    assert database_url_of(settings) == "postgresql://db/x"
