"""Alembic's environment for the question log. It runs only on a connection handed over by
cultureqa.store.migrate (in a transaction it opened and locked); there is no alembic.ini and no
offline (SQL script) mode."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through cultureqa.store.migrate (cultureqa db upgrade)")

# transactional_ddl: the engine makes SQLite's DDL transactional too (store/database.py), so a
# revision is all or nothing on both databases, and a killed upgrade leaves the one before.
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
