"""Questions per day: the daily_counts table ("off" mode keeps only these), filled from the asks
already logged, and an index for per-collection date ranges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("collection", sa.String(64), primary_key=True),
        sa.Column("asks", sa.Integer, nullable=False),
        sa.Column("unanswered", sa.Integer, nullable=False),
    )
    op.create_index("ix_asks_collection_asked_at", "asks", ["collection", "asked_at"])
    # The asks logged before this revision count too. Times are stored in UTC: SQLite keeps
    # them as 'YYYY-MM-DD HH:MM:SS...' text, PostgreSQL as timestamptz.
    if op.get_bind().dialect.name == "sqlite":
        day = "substr(asked_at, 1, 10)"
    else:
        day = "CAST(asked_at AT TIME ZONE 'UTC' AS date)"
    backfill = (
        "INSERT INTO daily_counts (day, collection, asks, unanswered) "  # noqa: S608 - see below
        f"SELECT {day}, collection, COUNT(*), SUM(CASE WHEN answered THEN 0 ELSE 1 END) "
        f"FROM asks GROUP BY {day}, collection"
    )
    op.execute(backfill)  # `day` is one of the two constants above: no input in this SQL


def downgrade() -> None:
    op.drop_index("ix_asks_collection_asked_at", table_name="asks")
    op.drop_table("daily_counts")
