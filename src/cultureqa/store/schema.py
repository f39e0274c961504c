"""The tables as the newest migration leaves them, for queries (SQLAlchemy Core).

Migrations never import this module: each revision spells out its own operations, so that an
old revision keeps meaning what it meant when it shipped. tests/store/test_migrations.py checks
that upgrading to head gives these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Ids the server makes (conversations, asks) are random URL-safe text; 32 characters leave room.
ID_CHARS = 32
COLLECTION_CHARS = 64
META_KEY_CHARS = 200


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both databases. SQLite keeps no time zone, so values go in as
    naive UTC and come back marked UTC; PostgreSQL stores timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the question log; use an aware one")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(META_KEY_CHARS), primary_key=True),
    Column("value", Text, nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("collection", String(COLLECTION_CHARS), nullable=False),
)

asks = Table(
    "asks",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("asked_at", UTCDateTime, nullable=False),
    Column("collection", String(COLLECTION_CHARS), nullable=False),
    Column(
        "conversation_id",
        String(ID_CHARS),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("question", Text, nullable=True),  # NULL unless the mode keeps questions
    Column("client_hash", String(64), nullable=True),  # only in "full" mode
    Column("answered", Boolean, nullable=False),
    Column("no_answer_code", String(40), nullable=True),
    Column("confidence", Float, nullable=True),
    Column("answer_passage_id", String(300), nullable=True),
    Column("cited_passage_ids", JSON, nullable=False),
    Column("index_version", String(100), nullable=True),
    Column("latency_ms", Float, nullable=True),
    Index("ix_asks_asked_at", "asked_at"),
    Index("ix_asks_conversation_id", "conversation_id"),
    Index("ix_asks_collection_asked_at", "collection", "asked_at"),  # revision 0002
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ask_id", String(ID_CHARS), ForeignKey("asks.id", ondelete="SET NULL"), nullable=True),
    Column("conversation_id", String(ID_CHARS), nullable=True),
    Column("rating", String(4), nullable=False),
    Column("comment", Text, nullable=True),
    Column("question", Text, nullable=True),
    Column("passage_id", String(300), nullable=True),
    Column("article_id", String(200), nullable=True),
    Column("index_version", String(100), nullable=True),
    Column("collection", String(COLLECTION_CHARS), nullable=True),
    Column("origin", String(300), nullable=True),
    CheckConstraint("rating IN ('up', 'down')", name="ck_feedback_rating"),
    Index("ix_feedback_created_at", "created_at"),
    Index("ix_feedback_conversation_id", "conversation_id"),
)

# Added by revision 2: questions and unanswered questions per UTC day and collection, kept in
# every mode (in "off" the only trace of an ask) and not purged by retention (no personal data).
daily_counts = Table(
    "daily_counts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("collection", String(COLLECTION_CHARS), primary_key=True),
    Column("asks", Integer, nullable=False),
    Column("unanswered", Integer, nullable=False),
)

# Added by revision 3: re-index jobs, queued by any replica and run by one builder
# (cultureqa.index.queue). The lease columns say which worker holds a running job and until
# when; a job whose lease has run out is claimed again.
JOB_STATES = ("queued", "running", "succeeded", "failed")
index_jobs = Table(
    "index_jobs",
    metadata,
    Column("id", String(ID_CHARS), primary_key=True),
    Column("collection", String(COLLECTION_CHARS), nullable=False),
    Column("state", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("requested_by", String(200), nullable=True),  # the replica's host name
    Column("worker", String(200), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("heartbeat_at", UTCDateTime, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("embedded", Integer, nullable=False),
    Column("to_embed", Integer, nullable=True),
    Column("summary", Text, nullable=True),
    Column("warnings", JSON, nullable=False),
    Column("error", Text, nullable=True),
    Column("version", String(100), nullable=True),
    CheckConstraint(
        "state IN ('queued', 'running', 'succeeded', 'failed')", name="ck_index_jobs_state"
    ),
    Index("ix_index_jobs_state_created_at", "state", "created_at"),
    Index("ix_index_jobs_collection", "collection"),
)

# Added by revision 4: LTI 1.3 (cultureqa.lti). Platforms the owner registered and their
# deployments; the tool's signing keys (retired ones stay published while tokens they signed
# live); logins in flight, whose nonce is used once; a course bound to one collection. An LTI
# user appears only as a salted hash (bound_by).
lti_platforms = Table(
    "lti_platforms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuer", String(500), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("auth_url", Text, nullable=False),
    Column("token_url", Text, nullable=False),
    Column("jwks_url", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),
)

lti_deployments = Table(
    "lti_deployments",
    metadata,
    Column(
        "platform_id",
        Integer,
        ForeignKey("lti_platforms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("deployment_id", String(255), primary_key=True),
)

lti_keys = Table(
    "lti_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
)

lti_logins = Table(
    "lti_logins",
    metadata,
    Column("state", String(64), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column(
        "platform_id", Integer, ForeignKey("lti_platforms.id", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    UniqueConstraint("nonce", name="uq_lti_logins_nonce"),
    Index("ix_lti_logins_created_at", "created_at"),
)

lti_courses = Table(
    "lti_courses",
    metadata,
    Column(
        "platform_id",
        Integer,
        ForeignKey("lti_platforms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("context_id", String(255), primary_key=True),
    Column("collection", String(COLLECTION_CHARS), nullable=False),
    Column("bound_by", String(64), nullable=False),
    Column("bound_at", UTCDateTime, nullable=False),
    UniqueConstraint("collection", name="uq_lti_courses_collection"),
)
