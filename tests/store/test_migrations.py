"""Migrations: from an empty database to head, from the previous schema (revision 0001) with
rows in it to head with the rows kept, and nothing done twice."""

from __future__ import annotations

import threading
import tomllib
from datetime import UTC, date, datetime
from fnmatch import fnmatch

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from cultureqa.errors import StoreUnavailableError
from cultureqa.store import schema
from cultureqa.store.database import create_sqlite_directory, make_engine
from cultureqa.store.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    head_revision,
    migration_transaction,
    upgrade_database,
)
from cultureqa.store.records import new_id
from tests.helpers import REPO
from tests.store.helpers import an_ask, open_log, rows


def columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def test_the_revisions_form_one_line_and_every_file_is_one() -> None:
    """One base, one head, no branches: a new revision names the head as its down_revision
    (r0003_....py, revision "0003", down_revision "0002")."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())  # head first
    assert [revision.revision for revision in revisions][-3:] == ["0003", "0002", "0001"]
    assert len(script.get_heads()) == 1 and len(script.get_bases()) == 1
    assert head_revision() == revisions[0].revision
    files = list(MIGRATIONS_DIR.glob("versions/r*.py"))
    assert len(files) == len(revisions)


def test_the_migrations_make_exactly_the_schema_the_code_queries(engine: Engine) -> None:
    """Alembic's autogenerate finds nothing to change between the migrated database and
    schema.py: the tables, columns, types, nullability and indexes agree."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert differences == []


def test_an_empty_database_upgrades_to_the_schema_the_code_queries(empty_engine: Engine) -> None:
    result = upgrade_database(empty_engine)

    assert (result.before, result.after, result.changed) == (None, head_revision(), True)
    expected = {
        table.name: {column.name for column in table.columns}
        for table in schema.metadata.sorted_tables
    }
    assert columns(empty_engine) == expected


def test_a_second_upgrade_migrates_nothing(engine: Engine) -> None:
    again = upgrade_database(engine)

    assert (again.before, again.after, again.changed) == (head_revision(), head_revision(), False)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def insert_revision_1_rows(engine: Engine) -> None:
    """What the previous release (revision 0001) wrote, in its own words."""
    statements = [
        "INSERT INTO store_meta (key, value) VALUES ('client_hash_salt', 'kept')",
        "INSERT INTO conversations (id, created_at, collection) "
        "VALUES ('conv-aaaaaaaaaaaaaaaa', :t1, 'default')",
        "INSERT INTO asks (id, asked_at, collection, conversation_id, question, answered, "
        "cited_passage_ids) VALUES ('ask-1', :t1, 'default', 'conv-aaaaaaaaaaaaaaaa', "
        "'What is Hamhung known for?', :yes, '[\"hamhung-culture#food\"]')",
        "INSERT INTO asks (id, asked_at, collection, question, answered, cited_passage_ids) "
        "VALUES ('ask-2', :t2, 'default', 'Who won in 1930?', :no, '[]')",
        "INSERT INTO asks (id, asked_at, collection, question, answered, cited_passage_ids) "
        "VALUES ('ask-3', :t2, 'history', 'Walls?', :yes, '[]')",
        "INSERT INTO feedback (created_at, ask_id, rating, question) "
        "VALUES (:t2, 'ask-2', 'down', 'Who won in 1930?')",
    ]
    # The previous release stored UTC times (naive on SQLite, timestamptz on PostgreSQL).
    times = {
        "t1": datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
        "t2": datetime(2026, 12, 1, 0, 1, tzinfo=UTC),
    }
    if engine.dialect.name == "sqlite":
        times = {key: value.replace(tzinfo=None) for key, value in times.items()}
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), {**times, "yes": True, "no": False})


def test_the_previous_schema_with_rows_upgrades_keeping_them(empty_engine: Engine) -> None:
    upgrade_database(empty_engine, "0001")
    insert_revision_1_rows(empty_engine)

    result = upgrade_database(empty_engine)

    assert (result.before, result.after) == ("0001", head_revision())
    with empty_engine.connect() as connection:
        asks = connection.execute(schema.asks.select().order_by(schema.asks.c.id)).mappings().all()
        assert [ask["question"] for ask in asks] == [
            "What is Hamhung known for?",
            "Who won in 1930?",
            "Walls?",
        ]
        assert asks[0]["cited_passage_ids"] == ["hamhung-culture#food"]
        assert asks[0]["asked_at"] == datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
        feedback = connection.execute(schema.feedback.select()).mappings().one()
        assert (feedback["ask_id"], feedback["rating"]) == ("ask-2", "down")
        salt = connection.execute(schema.store_meta.select()).mappings().one()
        assert salt["value"] == "kept"
        # Revision 0002 counted the asks already logged, by UTC day.
        counts = connection.execute(
            schema.daily_counts.select().order_by("day", "collection")
        ).all()
    assert [tuple(row) for row in counts] == [
        (date(2026, 11, 30), "default", 1, 0),
        (date(2026, 12, 1), "default", 1, 1),
        (date(2026, 12, 1), "history", 1, 0),
    ]
    # Revision 0003 added the re-index job table, empty.
    with empty_engine.connect() as connection:
        assert connection.execute(schema.index_jobs.select()).all() == []


def test_processes_starting_together_migrate_once(database_url: URL) -> None:
    create_sqlite_directory(database_url)
    engines = [make_engine(database_url) for _ in range(3)]
    results = []
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            results.append(upgrade_database(engine))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(result.changed for result in results) == [False, False, True]
    with engines[0].connect() as connection:
        assert current_revision(connection) == head_revision()
    for engine in engines:
        engine.dispose()


def test_a_database_from_a_newer_release_is_refused_saying_so(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))

    with pytest.raises(StoreUnavailableError, match="newer release"):
        upgrade_database(engine)


def test_the_migrations_are_package_data() -> None:
    """A non-editable install must carry every file Alembic reads."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["cultureqa"]
    package = MIGRATIONS_DIR.parent.parent
    shipped = [
        path
        for path in MIGRATIONS_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert shipped
    unshipped = [
        path.relative_to(package).as_posix()
        for path in shipped
        if not any(fnmatch(path.relative_to(package).as_posix(), p) for p in patterns)
    ]
    assert unshipped == []


def test_a_table_rebuilt_by_a_migration_keeps_the_rows_that_refer_to_it(
    engine: Engine, backend: str
) -> None:
    """SQLite rebuilds a table to alter it (Alembic's batch mode: copy, drop, rename). With
    foreign keys on, dropping `conversations` would delete every ask through ON DELETE
    CASCADE; migrations run with them off and checked before commit."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL alters tables in place: no batch rebuild")
    log = open_log(engine)
    log.record_ask(an_ask(conversation_id=new_id()))
    assert log.flush()
    log.close()

    with migration_transaction(engine) as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("conversations", recreate="always"):
            pass  # what a future revision changing the table would do

    assert len(rows(engine, schema.asks)) == 1
    assert len(rows(engine, schema.conversations)) == 1
