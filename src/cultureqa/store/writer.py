"""RecordWriter: asks and feedback written off the request path, by one thread.

record() puts the record on a bounded queue and returns at once; it never waits for the
database. One writer thread takes what is queued, a batch at a time (waiting up to 0.1 s for
more: group commit), and writes it in one transaction. When the database cannot be reached
the writer keeps its batch and retries with backoff (0.05 s doubling to `max_backoff`),
logging the outage once and its end once; the queue fills meanwhile, and records that find it
full are dropped and counted, so memory stays bounded and a request never waits. A record the
database refuses (bad data) is dropped alone and counted as failed; the rest of its batch is
written.

With a spool (spool.py), each ask's row is also appended to a file of this process before it
is queued, and the file is let go once the writer has written it; so the asks a killed process
had queued are written by the next one, which replays the files of processes that stopped
when its database is ready, and every REPLAY_INTERVAL_S after (another replica sharing the
data directory may have died and never come back).

Before its first write the writer runs `prepare` (the server's: migrate the database, import
the old feedback file), retrying it the same way, so a server starts and answers while its
database is still down, and logs as soon as it is up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from cultureqa.errors import StoreUnavailableError
from cultureqa.store.database import for_writing
from cultureqa.store.privacy import PrivacyPolicy
from cultureqa.store.records import AskRecord, FeedbackRecord
from cultureqa.store.spool import Spool, SpoolFile
from cultureqa.store.writes import Record, database_salt, write_records

log = logging.getLogger("cultureqa.store")

DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BATCH_SIZE = 200
FIRST_BACKOFF_S = 0.05
DROP_LOG_INTERVAL_S = 60.0
# How long the writer waits for more records before writing a batch (and how often it looks).
DEFAULT_LINGER_S = 0.1
LINGER_POLL_S = 0.01
# How often the writer looks for spool files of processes that stopped (spool.py).
REPLAY_INTERVAL_S = 30.0
Prepare = Callable[[], object]
# A record, and the spool file its ask was appended to (None: not spooled).
Queued = tuple[Record, SpoolFile | None]


@dataclass(frozen=True)
class LogStats:
    """Counters since the log started, for /metrics. `dropped`: records that found the queue
    full (or the log closed); `failed`: records the database refused, or still unwritten when
    close() gave up. Every recorded record ends up in exactly one of written, dropped, failed,
    or is still pending. The spool's (spool.py): `spool_failures`, asks that could not be
    spooled; `spool_replayed`, asks read back from the spools of processes that stopped, and
    `spool_recovered`, those of them that were not written yet."""

    written: int
    dropped: int
    failed: int
    pending: int
    outages: int
    database_up: bool
    spool_failures: int = 0
    spool_replayed: int = 0
    spool_recovered: int = 0


class RecordWriter:
    """The writing side of the question log. Start with start(), stop with close()."""

    def __init__(
        self,
        engine: Engine,
        policy: PrivacyPolicy,
        *,
        salt: str | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_backoff: float = 5.0,
        linger: float = DEFAULT_LINGER_S,
        prepare: Prepare | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.engine = for_writing(engine)
        self._spool = spool
        self._replay_at = 0.0  # when to look for the spools of stopped processes next
        self._linger = linger
        self._hurry = threading.Event()  # flush() is waiting: write what there is now
        self._prepare = prepare
        self.prepared = threading.Event()  # set once `prepare` has run (or was not given)
        self.policy = policy
        self._salt = salt
        self._queue: queue.Queue[Queued] = queue.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._max_backoff = max_backoff
        self._lock = threading.Condition()
        self._counts = {"written": 0, "dropped": 0, "failed": 0, "pending": 0, "outages": 0}
        self._database_up = True
        self._outage_began = 0.0
        self._closing = threading.Event()  # no new records; drain what is queued
        self._abandon = threading.Event()  # stop retrying; count what is left as failed
        self._last_drop_logged = -DROP_LOG_INTERVAL_S
        self._thread = threading.Thread(target=self._run, name="question-log-writer", daemon=True)

    def start(self) -> RecordWriter:
        self._thread.start()
        return self

    def record(self, record: AskRecord | FeedbackRecord) -> bool:
        """Queue a record for writing; False when it was dropped (queue full, or closed)."""
        return self._enqueue(record)

    def stats(self) -> LogStats:
        spooled = self._spool.stats() if self._spool is not None else None
        with self._lock:
            stats = LogStats(**self._counts, database_up=self._database_up)
        if spooled is None:
            return stats
        return replace(
            stats,
            spool_failures=spooled.failures,
            spool_replayed=spooled.replayed,
            spool_recovered=spooled.recovered,
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything recorded so far is written (or dropped or failed); False when
        `timeout` seconds passed first."""
        self._hurry.set()
        try:
            with self._lock:
                return self._lock.wait_for(lambda: self._counts["pending"] == 0, timeout)
        finally:
            self._hurry.clear()

    def close(self, timeout: float = 5.0) -> LogStats:
        """Stop taking records, write what is queued for up to `timeout` seconds, then give up
        on the rest (counted as failed). Safe to call twice."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
            self._abandon.set()
            # A call into the database cannot be interrupted; the connect and statement
            # timeouts (database.py) bound it. Past this the daemon thread is left behind.
            self._thread.join(timeout)
        if self._spool is not None:
            # What was not written stays in its files, for the next start. (A writer thread
            # left behind settles nothing more.)
            self._spool.close()
        return self.stats()

    def _enqueue(self, record: Record) -> bool:
        spool = self._spool
        # Encoded before the lock; appended under it, once the record is sure to be queued
        # (only this method puts, always under the lock: the queue cannot fill in between).
        line = spool.encode(record) if spool is not None and isinstance(record, AskRecord) else None
        with self._lock:
            if self._closing.is_set():
                self._counts["dropped"] += 1
                return False
            if self._queue.full():
                self._counts["dropped"] += 1
                self._note_dropping()
                return False
            spooled = spool.append(line) if spool is not None and line is not None else None
            self._queue.put_nowait((record, spooled))
            self._counts["pending"] += 1
            return True

    def _note_dropping(self) -> None:
        # Once a minute at most: a writer that keeps falling behind would otherwise log at
        # every batch it writes.
        now = time.monotonic()
        if now - self._last_drop_logged >= DROP_LOG_INTERVAL_S:
            self._last_drop_logged = now
            log.warning(
                "question log: queue full (%d records waiting); dropping records until the "
                "writer catches up (%d dropped so far)",
                self._queue.qsize(),
                self._counts["dropped"],
            )

    def _run(self) -> None:
        if self._prepare is not None and not self._prepare_with_retry():
            self._drain_as_failed()  # closed before the database was ever ready
            return
        self.prepared.set()
        while True:
            batch = self._next_batch()
            if not batch:
                return
            self._write_with_retry(batch)

    def _next_batch(self) -> list[Queued]:
        """The next records to write, waiting for the first; empty once closing and drained."""
        while True:
            self._replay_when_due()
            try:
                first = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if self._closing.is_set():
                    return []
        batch = [first]
        # Group commit: wait a little for more records, so that a steady trickle of asks is
        # written a batch at a time, not one transaction (and connection) each. flush() and
        # close() cut the wait short.
        linger_until = time.monotonic() + self._linger
        while len(batch) < self._batch_size:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            left = linger_until - time.monotonic()
            if left <= 0 or self._hurry.is_set() or self._closing.is_set():
                break
            try:
                batch.append(self._queue.get(timeout=min(left, LINGER_POLL_S)))
            except queue.Empty:
                continue
        return batch

    def _prepare_with_retry(self) -> bool:
        """Run `prepare` until it succeeds (True) or close() gives up (False)."""
        assert self._prepare is not None  # noqa: S101 - only called when there is one
        delay = FIRST_BACKOFF_S
        while not self._abandon.is_set():
            try:
                self._prepare()
            except Exception as exc:
                if not is_outage(exc):  # e.g. an unreadable feedback file: write on
                    log.exception("question log: preparing the database failed; writing on")
                    break
                self._note_outage(exc, self._queue.qsize())
                self._abandon.wait(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            with self._lock:
                self._note_back()
            return True
        return not self._abandon.is_set()

    def _write_with_retry(self, batch: Sequence[Queued]) -> None:
        records = [record for record, _ in batch]
        delay = FIRST_BACKOFF_S
        while not self._abandon.is_set():
            try:
                self._write(records)
            except Exception as exc:  # nothing may kill the writer
                if not is_outage(exc):
                    self._write_one_by_one(batch)  # a record's fault: find it
                    return
                self._note_outage(exc, len(batch))
                self._abandon.wait(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            self._settle(batch)
            self._finish(written=len(batch))
            return
        # Given up (closing with the database down): these stay in the spool, for the next
        # start to write.
        self._finish(failed=len(batch))
        self._drain_as_failed()

    def _write(self, batch: Sequence[Record]) -> int:
        with self.engine.begin() as connection:
            if self._spool is not None and self._spool.needs_salt:
                # The database's salt, so that "full" mode asks are spooled with their hash.
                self._spool.salt = database_salt(connection)
            return write_records(connection, batch, self.policy, self._salt)

    def _write_one_by_one(self, batch: Sequence[Queued]) -> None:
        """A batch the database refused: write each record alone, so one bad record costs
        only itself."""
        written = failed = 0
        for record, _ in batch:
            try:
                self._write([record])
                written += 1
            except Exception as exc:
                failed += 1
                if failed == 1:  # once per batch: a bug would refuse every record
                    log.warning(
                        "question log: a record was refused: %s: %s",
                        exc.__class__.__name__,
                        _first_line(exc),
                    )
        self._settle(batch)  # written, or refused: writing it again would not change that
        self._finish(written=written, failed=failed)

    def _write_replayed(self, asks: Sequence[AskRecord]) -> tuple[int, int]:
        """Asks read back from a spool: (new ones written, refused ones), in one transaction,
        or each alone when the database refuses the lot; raises when the database is down."""
        try:
            return self._write(asks), 0
        except Exception as exc:
            if is_outage(exc):
                raise
        written = refused = 0
        for ask in asks:
            try:
                written += self._write([ask])
            except Exception as exc:
                if is_outage(exc):
                    raise
                refused += 1
                log.warning(
                    "question log: a spooled ask was refused: %s: %s",
                    exc.__class__.__name__,
                    _first_line(exc),
                )
        return written, refused

    def _settle(self, batch: Sequence[Queued]) -> None:
        """Tell the spool these asks are done with, before flush() can see them done."""
        if self._spool is not None:
            self._spool.settle(spooled for _, spooled in batch)

    def _replay_when_due(self) -> None:
        """Write what the spools of stopped processes hold, at start (once the database is
        prepared) and every REPLAY_INTERVAL_S, while the database is up."""
        now = time.monotonic()
        if self._spool is None or now < self._replay_at or not self._database_up:
            return
        self._replay_at = now + REPLAY_INTERVAL_S
        try:
            self._spool.replay(self._write_replayed, self._batch_size)
        except Exception as exc:  # the database went down: the files stay for next time
            log.warning("question log: replaying the spool stopped: %s", _first_line(exc))

    def _note_outage(self, exc: Exception, holding: int) -> None:
        with self._lock:
            if not self._database_up:
                return
            self._database_up = False
            self._counts["outages"] += 1
            self._outage_began = time.monotonic()
        log.warning(
            "question log: the database is unavailable (%s); holding %d records and retrying; "
            "records that find the queue full are dropped and counted",
            _first_line(exc),
            holding,
        )

    def _finish(self, *, written: int = 0, failed: int = 0) -> None:
        with self._lock:
            self._counts["written"] += written
            self._counts["failed"] += failed
            self._counts["pending"] -= written + failed
            if written:
                self._note_back()
            self._lock.notify_all()

    def _note_back(self) -> None:
        """The database answered: end the outage, if there was one (holding the lock)."""
        if not self._database_up:
            self._database_up = True
            log.warning(
                "question log: the database is back after %.1f s; %d records dropped so far",
                time.monotonic() - self._outage_began,
                self._counts["dropped"],
            )

    def _drain_as_failed(self) -> None:
        left = 0
        while True:
            try:
                self._queue.get_nowait()
                left += 1
            except queue.Empty:
                break
        if left:
            log.warning("question log: closed with %d records unwritten", left)
        self._finish(failed=left)


def is_outage(exc: BaseException) -> bool:
    """Whether an error means "the database cannot be used now" (retried, counted as an
    outage) rather than "this record is wrong" (dropped alone, counted as failed). Anything
    the driver reports, except a constraint or a value it refuses, is the database's: a
    refused connection, a lost one, a lock timeout, a table not there yet."""
    if isinstance(exc, StoreUnavailableError):  # ours, wrapping what went wrong, if anything
        return exc.__cause__ is None or is_outage(exc.__cause__)
    if isinstance(exc, SQLAlchemyTimeoutError | DisconnectionError):
        return True
    return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError | DataError)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
