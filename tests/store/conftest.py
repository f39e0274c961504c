"""Every database test runs twice: on an SQLite file, and on a PostgreSQL database of its own.

PostgreSQL comes from CULTUREQA_TEST_DATABASE_URL when it is set (a server and a database the
URL's user may create databases from, e.g. postgresql://postgres@127.0.0.1:5432/test); each
test gets a fresh database named after this run, dropped after it, so runs in parallel do not
see each other. Without the variable, pytest-postgresql starts a throwaway server from the
Debian binaries (pg_ctl found through pg_config); as root, where initdb refuses to run, the
tests start one themselves as the postgres user (pgserver.py). The PostgreSQL half is skipped,
saying why, only when none of these works.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from cultureqa.store.database import make_engine, normalize_url
from cultureqa.store.migrate import upgrade_database
from tests.store.pgserver import NoServerError, throwaway_server

BACKENDS = ["sqlite", "postgresql"]
TEST_DATABASE_ENV = "CULTUREQA_TEST_DATABASE_URL"
_RUN = f"cqa_test_{secrets.token_hex(4)}"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url(request: pytest.FixtureRequest) -> Iterator[URL]:
    """A URL to a PostgreSQL database from which test databases are created and dropped."""
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        yield normalize_url(configured)
        return
    try:
        server = request.getfixturevalue("postgresql_proc")
    except Exception as exc:
        why = "initdb refuses to run as root" if os.geteuid() == 0 else exc.__class__.__name__
        tried = f"pytest-postgresql could not start a server ({why})"
    else:
        yield URL.create(
            "postgresql+psycopg",
            username=server.user,
            password=server.password or None,
            host=server.host,
            port=server.port,
            database="postgres",
        )
        return
    # As root, pytest-postgresql cannot; a server run as the postgres user can.
    try:
        with throwaway_server() as own:
            yield own.url
            return
    except NoServerError as exc:
        tried += f", nor could the tests ({exc})"
    pytest.skip(
        f"PostgreSQL half skipped: {TEST_DATABASE_ENV} is not set and {tried}; set "
        f"{TEST_DATABASE_ENV}=postgresql://postgres@127.0.0.1:5432/test to use a running one"
    )


@pytest.fixture(scope="session")
def postgres_admin(postgres_admin_url: URL) -> Iterator[Engine]:
    engine = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    yield engine
    with engine.connect() as connection:  # whatever a failed test left behind
        names = connection.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :run"), {"run": f"{_RUN}_%"}
        ).scalars()
        for name in list(names):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """An empty database of the backend, for this test alone."""
    if backend == "sqlite":
        yield normalize_url(f"sqlite:///{tmp_path / 'data' / 'cultureqa.db'}")
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    name = f"{_RUN}_{next(_numbers)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_engine(database_url: URL) -> Iterator[Engine]:
    """An engine on the empty database (SQLite: its directory made, the file not yet)."""
    engine = make_engine(database_url)
    if database_url.get_backend_name() == "sqlite":
        Path(str(database_url.database)).parent.mkdir(parents=True, exist_ok=True)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a database migrated to head."""
    upgrade_database(empty_engine)
    return empty_engine
