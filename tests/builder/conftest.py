"""The builder's tests use the store's databases: SQLite and PostgreSQL, each test its own."""

from tests.store.conftest import (  # noqa: F401 - fixtures, found by name
    backend,
    database_url,
    empty_engine,
    engine,
    postgres_admin,
    postgres_admin_url,
)
