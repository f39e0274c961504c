"""LTI 1.3 (cultureqa.lti): the platforms the owner registered and their deployments, the
tool's own signing keys, the logins in flight (state and single-use nonce), and which course
of which platform is bound to which collection.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("auth_url", sa.Text, nullable=False),
        sa.Column("token_url", sa.Text, nullable=False),
        sa.Column("jwks_url", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),
    )
    op.create_table(
        "lti_deployments",
        sa.Column(
            "platform_id",
            sa.Integer,
            sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("deployment_id", sa.String(255), primary_key=True),
    )
    op.create_table(
        "lti_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "lti_logins",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column(
            "platform_id",
            sa.Integer,
            sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("nonce", name="uq_lti_logins_nonce"),
    )
    op.create_index("ix_lti_logins_created_at", "lti_logins", ["created_at"])
    op.create_table(
        "lti_courses",
        sa.Column(
            "platform_id",
            sa.Integer,
            sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("context_id", sa.String(255), primary_key=True),
        sa.Column("collection", sa.String(64), nullable=False),
        sa.Column("bound_by", sa.String(64), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("collection", name="uq_lti_courses_collection"),
    )


def downgrade() -> None:
    op.drop_table("lti_courses")
    op.drop_index("ix_lti_logins_created_at", table_name="lti_logins")
    op.drop_table("lti_logins")
    op.drop_table("lti_keys")
    op.drop_table("lti_deployments")
    op.drop_table("lti_platforms")
