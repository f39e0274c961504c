"""Re-index jobs in the database: any replica queues one, one builder (`cultureqa worker`)
claims it under a lease and records its progress and outcome, every replica reads its status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=True),
        # The lease: which worker holds the job, until when, and how many claims it has had.
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("embedded", sa.Integer, nullable=False),
        sa.Column("to_embed", sa.Integer, nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("version", sa.String(100), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed')", name="ck_index_jobs_state"
        ),
    )
    op.create_index("ix_index_jobs_state_created_at", "index_jobs", ["state", "created_at"])
    op.create_index("ix_index_jobs_collection", "index_jobs", ["collection"])


def downgrade() -> None:
    op.drop_index("ix_index_jobs_collection", table_name="index_jobs")
    op.drop_index("ix_index_jobs_state_created_at", table_name="index_jobs")
    op.drop_table("index_jobs")
