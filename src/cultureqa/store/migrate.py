"""Alembic, run from code: upgrade the question log's database to the newest revision (at
start-up and by `cultureqa db upgrade`), and read the revision it is at. No alembic.ini: the
configuration is built here, and the migrations ship inside the package."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from cultureqa.errors import StoreUnavailableError
from cultureqa.store.database import BEGIN_IMMEDIATE

log = logging.getLogger("cultureqa.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works, as long as nothing else on the server takes the same advisory lock.
_POSTGRES_MIGRATION_LOCK = 7_342_019_114


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None  # None: an empty database
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code; env.py runs on `connection`."""
    config = Config()
    # ConfigParser would read a % in the path as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this release ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - the package always ships its migrations
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None when it has never been migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(engine: Engine, revision: str = "head") -> UpgradeResult:
    """Migrate the database to `revision` (default: the newest) in one transaction, holding a
    lock so that processes starting together migrate one after the other: the second then
    finds nothing to do. Raises StoreUnavailableError when the database cannot be reached."""
    try:
        with migration_transaction(engine) as connection:
            before = current_revision(connection)
            command.upgrade(alembic_config(connection), revision)
            after = current_revision(connection)
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(
            f"could not upgrade the question log's database: {exc.__class__.__name__}: "
            f"{_first_line(exc)}",
            hint="check CULTUREQA_DATABASE_URL and that the database server is up",
        ) from exc
    except CommandError as exc:  # e.g. a revision this release does not know
        raise StoreUnavailableError(
            f"could not upgrade the question log's database: {exc}",
            hint="was it migrated by a newer release of cultureqa? run that release, or restore "
            "a backup",
        ) from exc
    if after is None:  # pragma: no cover - alembic always stamps a revision
        raise StoreUnavailableError("the upgrade left no revision in the database")
    if before != after:
        log.info("question log database upgraded from %s to %s", before or "empty", after)
    return UpgradeResult(before=before, after=after)


@contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside the one transaction a migration runs in, holding the migration
    lock. On SQLite, foreign keys are off in it and checked before it commits: SQLite's own
    procedure for schema changes. Its ALTER TABLE is weak, so Alembic's batch operations
    rebuild a table (copy, drop, rename), and dropping `conversations` with foreign keys on
    would delete every ask through their ON DELETE CASCADE."""
    immediate = engine.execution_options(**{BEGIN_IMMEDIATE: True})
    with immediate.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # before BEGIN: inside a transaction SQLite ignores this pragma
            driver_connection: Any = connection.connection.driver_connection
            driver_connection.execute("PRAGMA foreign_keys=OFF")
        with connection.begin():
            _lock_out_other_migrations(connection)
            yield connection
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:  # raising here rolls the migration back
                    raise StoreUnavailableError(
                        f"a migration would leave rows that refer to nothing: {broken[:3]}"
                    )


def _lock_out_other_migrations(connection: Connection) -> None:
    # SQLite: BEGIN IMMEDIATE (execution option above) already holds the write lock.
    if connection.dialect.name == "postgresql":
        # A data migration over a large table may take longer than a statement may otherwise.
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_MIGRATION_LOCK}
        )


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
