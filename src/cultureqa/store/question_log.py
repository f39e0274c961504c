"""QuestionLog: the one object the server holds for the question log. It writes asks and
feedback off the request path (writer.py) and runs the maintenance (maintenance.py) on the same
database. Build it with open_question_log(settings)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from cultureqa.errors import StoreUnavailableError
from cultureqa.settings import Settings
from cultureqa.store import maintenance
from cultureqa.store.database import create_sqlite_directory, make_engine
from cultureqa.store.migrate import UpgradeResult, upgrade_database
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.recent import RecentTurns, merge_turns
from cultureqa.store.records import AskRecord, FeedbackRecord, Turn, utc_now
from cultureqa.store.spool import SPOOL_DIRECTORY, Spool
from cultureqa.store.writer import DEFAULT_QUEUE_SIZE, LogStats, Prepare, RecordWriter

log = logging.getLogger("cultureqa.store")

RETENTION_INTERVAL_S = 3600.0
DEFAULT_DATABASE_FILE = "cultureqa.db"


class QuestionLog:
    """Record asks and feedback without waiting; read a conversation's history; purge, erase
    and import. Reads and maintenance run on the caller's thread (off the event loop, please)
    and raise StoreUnavailableError when the database is down; records never raise."""

    def __init__(
        self,
        engine: Engine,
        policy: PrivacyPolicy,
        *,
        salt: str | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        max_backoff: float = 5.0,
        prepare: Prepare | None = None,
        spool_directory: Path | None = None,
    ) -> None:
        self.engine = engine
        self.policy = policy
        # Asks also go to a file of this process until written, so that a kill loses none
        # (spool.py); the files of processes that stopped are written by this one.
        spool = None
        if spool_directory is not None:
            spool = Spool(spool_directory, policy, salt=salt).open()
        self._writer = RecordWriter(
            engine,
            policy,
            salt=salt,
            queue_size=queue_size,
            max_backoff=max_backoff,
            prepare=prepare,
            spool=spool,
        ).start()
        self._stop_retention = threading.Event()
        self._retention: threading.Thread | None = None
        self._recent = RecentTurns()

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    def wait_until_ready(self, timeout: float = 10.0) -> bool:
        """Wait for the database to be migrated and prepared; False when `timeout` passed
        first (the database is still unreachable: records queue meanwhile)."""
        return self._writer.prepared.wait(timeout)

    def start_retention(self, days: int, every: float = RETENTION_INTERVAL_S) -> None:
        """Purge rows older than `days` days once the database is ready, then every `every`
        seconds, on a thread of its own, until close(). 0 days keeps everything: no thread."""
        if days <= 0 or self._retention is not None:
            return
        self._retention = threading.Thread(
            target=self._purge_now_and_then,
            args=(days, every),
            name="question-log-retention",
            daemon=True,
        )
        self._retention.start()

    def _purge_now_and_then(self, days: int, every: float) -> None:
        while not self._writer.prepared.wait(min(every, 1.0)):
            if self._stop_retention.is_set():
                return
        while not self._stop_retention.is_set():
            try:
                self.purge_older_than(days)
            except StoreUnavailableError as exc:  # the writer logs outages; try next time
                log.debug("question log: retention purge skipped: %s", exc)
            self._stop_retention.wait(every)

    def record_ask(self, ask: AskRecord) -> bool:
        """Queue the ask; returns at once. False: dropped (queue full or closed) and counted.
        Its conversation's history has it at once, in this process, when the mode keeps
        questions."""
        if self.policy.mode_for(ask.collection) != "off":
            self._recent.add(ask)
        return self._writer.record(ask)

    def record_feedback(self, feedback: FeedbackRecord) -> bool:
        """Queue the verdict; returns at once. False: dropped and counted."""
        return self._writer.record(feedback)

    def stats(self) -> LogStats:
        """Written, dropped, failed and pending records, outages, and whether the database is
        up as far as the writer last saw: what /metrics shows."""
        return self._writer.stats()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait for everything recorded so far to be written; False on timeout."""
        return self._writer.flush(timeout)

    def close(self, timeout: float = 5.0) -> LogStats:
        """Write what is queued (for up to `timeout` seconds) and stop; then dispose of the
        engine's connections."""
        self._stop_retention.set()
        stats = self._writer.close(timeout)
        if self._retention is not None:
            self._retention.join(timeout)
        self.engine.dispose()
        return stats

    def conversation_history(
        self, conversation_id: str, *, limit: int = 10, from_database: bool = True
    ) -> list[Turn]:
        """The conversation's last `limit` questions, oldest first: those in the database and
        those this process recorded that are not written yet. Never raises: with the database
        down it is this process's recent turns alone (see recent.py), and so it is without
        `from_database` (what a caller asks while the writer sees the database down, so that
        a request does not wait for a connection that times out)."""
        recent = self._recent.turns(conversation_id)
        if not from_database:
            return merge_turns([], recent, limit)
        try:
            stored = maintenance.conversation_history(self.engine, conversation_id, limit=limit)
        except StoreUnavailableError as exc:
            log.debug("question log: history from memory only: %s", exc)
            stored = []
        return merge_turns(stored, recent, limit)

    def erase_conversation(self, conversation_id: str) -> maintenance.Removed:
        """Delete everything of a conversation, after writing what is queued (so nothing of it
        is written after the erasure)."""
        self._recent.forget(conversation_id)
        self.flush()
        return maintenance.erase_conversation(self.engine, conversation_id)

    def purge_older_than(self, days: int) -> maintenance.Removed:
        """The retention purge: asks and feedback older than `days` days (0 keeps all), in
        the database and in the recent turns kept in memory."""
        now = utc_now()
        if days > 0:
            self._recent.forget_older_than(now - timedelta(days=days))
        return maintenance.purge_older_than(self.engine, days, now=now)

    def import_feedback_jsonl(self, path: Path) -> maintenance.FeedbackImport:
        """Import the old feedback file once (see maintenance.import_feedback_jsonl)."""
        return maintenance.import_feedback_jsonl(self.engine, path, self.policy)


def database_url_of(settings: Settings) -> str:
    """CULTUREQA_DATABASE_URL, or by default an SQLite file in the feedback file's directory:
    the one place the server is already known to write (the Docker image's volume, say)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return f"sqlite:///{settings.feedback_path.parent / DEFAULT_DATABASE_FILE}"


def spool_directory_of(settings: Settings) -> Path:
    """Where the server spools its asks until they are written (spool.py): beside the feedback
    file and the default database, the data the server writes."""
    return settings.feedback_path.parent / SPOOL_DIRECTORY


def policy_from(settings: Settings) -> PrivacyPolicy:
    return PrivacyPolicy(
        default=settings.question_log, by_collection=dict(settings.question_log_by_collection)
    )


@dataclass(frozen=True)
class DatabaseUpgrade:
    migration: UpgradeResult
    feedback_import: maintenance.FeedbackImport


def upgrade_from_settings(settings: Settings) -> DatabaseUpgrade:
    """`cultureqa db upgrade`: migrate CULTUREQA_DATABASE_URL's database to this release and
    import the old feedback file (CULTUREQA_FEEDBACK_PATH) once, as a starting server does."""
    engine = make_engine(database_url_of(settings))
    create_sqlite_directory(engine.url)
    try:
        migration = upgrade_database(engine)
        imported = maintenance.import_feedback_jsonl(
            engine, settings.feedback_path, policy_from(settings)
        )
    finally:
        engine.dispose()
    return DatabaseUpgrade(migration, imported)


def open_question_log(settings: Settings, *, migrate: bool = True) -> QuestionLog:
    """The server's question log, returned at once: its writer first migrates the database
    (unless `migrate` is False) and imports the old feedback file once, retrying while the
    database is unreachable (records queue meanwhile; wait_until_ready tells when it is done),
    then writes the asks that processes which stopped left in the spool directory; the
    retention purge runs hourly. Raises StoreUnavailableError only for a malformed
    database URL."""
    engine = make_engine(database_url_of(settings))
    policy = policy_from(settings)

    def prepare() -> None:
        if migrate:
            create_sqlite_directory(engine.url)
            upgrade_database(engine)
        maintenance.import_feedback_jsonl(engine, settings.feedback_path, policy)

    salt = settings.hash_salt.get_secret_value() if settings.hash_salt else None
    question_log = QuestionLog(
        engine, policy, salt=salt, prepare=prepare, spool_directory=spool_directory_of(settings)
    )
    question_log.start_retention(settings.question_log_retention_days)
    return question_log
