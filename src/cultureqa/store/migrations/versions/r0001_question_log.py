"""The question log's first schema: conversations, asks, feedback, and store_meta (the client
hash's salt, and which one-time imports have run).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collection", sa.String(64), nullable=False),
    )
    _create_asks()
    _create_feedback()


def _create_asks() -> None:
    op.create_table(
        "asks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE", name="fk_asks_conversation"),
            nullable=True,
        ),
        sa.Column("question", sa.Text, nullable=True),
        sa.Column("client_hash", sa.String(64), nullable=True),
        sa.Column("answered", sa.Boolean(name="ck_asks_answered_bool"), nullable=False),
        sa.Column("no_answer_code", sa.String(40), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("answer_passage_id", sa.String(300), nullable=True),
        sa.Column("cited_passage_ids", sa.JSON, nullable=False),
        sa.Column("index_version", sa.String(100), nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
    )
    op.create_index("ix_asks_asked_at", "asks", ["asked_at"])
    op.create_index("ix_asks_conversation_id", "asks", ["conversation_id"])


def _create_feedback() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "ask_id",
            sa.String(32),
            sa.ForeignKey("asks.id", ondelete="SET NULL", name="fk_feedback_ask"),
            nullable=True,
        ),
        sa.Column("conversation_id", sa.String(32), nullable=True),
        sa.Column("rating", sa.String(4), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("question", sa.Text, nullable=True),
        sa.Column("passage_id", sa.String(300), nullable=True),
        sa.Column("article_id", sa.String(200), nullable=True),
        sa.Column("index_version", sa.String(100), nullable=True),
        sa.Column("collection", sa.String(64), nullable=True),
        sa.Column("origin", sa.String(300), nullable=True),
        sa.CheckConstraint("rating IN ('up', 'down')", name="ck_feedback_rating"),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_feedback_conversation_id", "feedback", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("asks")
    op.drop_table("conversations")
    op.drop_table("store_meta")
