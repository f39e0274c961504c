"""The database fixtures of tests/store (an SQLite file and a PostgreSQL database per test),
for the HTTP tests whose state is in the question log."""

from __future__ import annotations

from tests.store.conftest import (  # noqa: F401 - fixtures, found by name
    backend,
    database_url,
    postgres_admin,
    postgres_admin_url,
)
