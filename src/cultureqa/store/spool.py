"""The question log's spool: every ask's row, appended to a file of this process before the ask
is queued for the database, so that the asks a process answered but had not written when it
was killed (SIGKILL, the OOM killer: the writer's queue is in memory) are written by the next
process that looks, from the file.

    <data directory>/question-log-spool/<pid>-<start time>-<random>-<sequence>.jsonl

One JSON object a line: exactly what the ask's row in the database would hold under the
privacy mode (writes.py), so never a client address, only its salted hash in "full" mode, and
nothing at all for an ask whose collection's log is "off" (its row would not exist). Feedback
is not spooled: a verdict has no id to write it once by.

On the request path an ask costs one write(2) of its line to a file opened with O_APPEND, no
fsync: the line is in the kernel's page cache when the call returns, and that survives the
death of the process, which is the failure this covers. A power loss or a kernel crash is not
covered: the last seconds of lines may never reach the disk.

Files last as long as their asks wait: whenever the writer has written a batch, the spool
starts a new file, and a file is deleted as soon as every ask in it has been written (or
refused by the database). A process holds an exclusive flock(2) on each of its files from
before the file has its name until it deletes it (the lock goes with the process, however it
dies), so another process takes a file over, to replay it, only once its owner is gone:
several replicas may share a data directory (flock is honoured across NFS clients too, as
POSIX locks). Replaying writes the asks through write_records, which skips ask ids already
written, so a file replayed twice, or holding asks that were written just before the kill,
costs nothing. A clean shutdown that could not write everything (its database down) leaves
its files for the next start the same way.

If the spool cannot be written (a full disk, a read-only directory), the ask is still queued
and answered; it is counted (Spool.stats, /metrics) and would be lost to a kill, as before.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cultureqa.store.privacy import PrivacyPolicy, client_hash
from cultureqa.store.records import AskRecord, ask_row

log = logging.getLogger("cultureqa.store")

SPOOL_DIRECTORY = "question-log-spool"
SUFFIX = ".jsonl"
# A file being made: created, locked, then renamed to its .jsonl name, so that no other process
# can lock (and take over) a spool file between its creation and its owner's lock.
NEW_SUFFIX = ".new"
# After a file could not be made (read-only, full), wait this long before trying again.
REOPEN_AFTER_S = 1.0
FAILURE_LOG_INTERVAL_S = 60.0
# A file being made that is older than this belonged to a process that died making it.
ABANDONED_AFTER_S = 60.0
# Writes a replay's asks in one transaction, or each alone when the database refuses them:
# (how many were new, how many it refused). Raises when the database is down.
WriteAsks = Callable[[Sequence[AskRecord]], tuple[int, int]]


@dataclass(eq=False)
class SpoolFile:
    """One file of this process: asks appended to it, and of those, asks the writer is done
    with (written, or refused by the database)."""

    path: Path
    fd: int
    appended: int = 0
    settled: int = 0
    broken: bool = False  # a write failed part way: nothing more is appended to it


@dataclass(frozen=True)
class SpoolStats:
    """`failures`: asks that could not be spooled; `replayed`: asks read back from the files of
    processes that had stopped; `recovered`: of those, the ones not yet in the database,
    written by the replay."""

    failures: int = 0
    replayed: int = 0
    recovered: int = 0


@dataclass
class _Replay:
    files: int = 0
    asks: int = 0
    recovered: int = 0
    refused: int = 0
    unreadable: int = 0


class Spool:
    """This process's spool files in `directory`. open() it, append() each ask, settle() what
    the writer is done with, replay() the files of processes that stopped, close() at the end.
    Thread-safe; never raises from append(), settle() or close()."""

    def __init__(self, directory: Path, policy: PrivacyPolicy, *, salt: str | None = None) -> None:
        self.directory = directory
        self._policy = policy
        # The client hash's key. None while the database's own salt is not known yet (the
        # writer sets it when it learns it): a "full" mode ask is spooled without a hash then.
        self.salt = salt
        started = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        # The pid and start time say whose a file is; the random part keeps apart processes
        # of several hosts or containers (pid 1 in each) sharing the directory.
        self._stem = f"{os.getpid()}-{started}-{secrets.token_hex(4)}"
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()
        self._current: SpoolFile | None = None
        self._retired: list[SpoolFile] = []
        self._closed = False
        self._reopen_at = 0.0
        self._failures = 0
        self._replayed = 0
        self._recovered = 0
        self._last_failure_logged = -FAILURE_LOG_INTERVAL_S

    @property
    def needs_salt(self) -> bool:
        """Whether some collection is in "full" mode and the hash's key is not known yet."""
        policy = self._policy
        full = policy.default == "full" or "full" in policy.by_collection.values()
        return full and self.salt is None

    def open(self) -> Spool:
        """Make the directory (owner only: it holds questions) and this process's first file;
        when that fails, asks are counted as not spooled until a later attempt succeeds."""
        with self._lock:
            self._current = self._new_file()
        return self

    def encode(self, ask: AskRecord) -> bytes | None:
        """The ask's line: the row the database would get, as JSON; None when the mode keeps
        no row for it ("off")."""
        mode = self._policy.mode_for(ask.collection)
        if mode == "off":
            return None
        hashed = None
        if mode == "full":
            if ask.client_address and self.salt is not None:
                hashed = client_hash(self.salt, ask.client_address)
            elif not ask.client_address:
                hashed = ask.client_hash
        row = ask_row(ask, hashed) | {"asked_at": ask.asked_at.isoformat()}
        return (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    def append(self, line: bytes) -> SpoolFile | None:
        """Append one encoded ask to the current file: one write(2), in the page cache when it
        returns. The file, to settle() once the ask is written; None when it could not be
        spooled (counted)."""
        with self._lock:
            target = self._current
            if target is None or target.broken or self._closed:
                self._count_failure("no spool file is open" if target is None else "closed")
                return None
            try:
                written = os.write(target.fd, line)
            except OSError as exc:
                target.broken = True
                self._count_failure(f"{exc.__class__.__name__}: {exc}")
                return None
            if written != len(line):  # a full disk part way: the line is cut, the file done
                target.broken = True
                self._count_failure(f"short write ({written} of {len(line)} bytes)")
                return None
            target.appended += 1
            return target

    def settle(self, files: Iterable[SpoolFile | None]) -> None:
        """The writer is done with these asks (one entry per ask; None for an ask that was not
        spooled): start a new file, so that the current one stops growing, and delete every
        file whose asks are all done."""
        with self._lock:
            if self._closed:
                return
            for spool_file in files:
                if spool_file is not None:
                    spool_file.settled += 1
            current = self._current
            wants_new = current is None or current.broken or current.appended > 0
            if wants_new and time.monotonic() >= self._reopen_at:
                fresh = self._new_file()
                if fresh is not None or (current is not None and current.broken):
                    if current is not None:
                        self._retired.append(current)
                    self._current = fresh
            for spool_file in [f for f in self._retired if f.settled >= f.appended]:
                self._retired.remove(spool_file)
                _remove(spool_file)

    def stats(self) -> SpoolStats:
        with self._lock:
            return SpoolStats(self._failures, self._replayed, self._recovered)

    def close(self) -> int:
        """Delete the files whose asks are all written, close the others (their locks go with
        them), which the next process replays; returns how many asks those hold."""
        with self._lock:
            if self._closed:
                return 0
            self._closed = True
            files = [*self._retired, *([self._current] if self._current else [])]
            self._retired, self._current = [], None
        kept = 0
        for spool_file in files:
            unsettled = spool_file.appended - spool_file.settled
            if unsettled <= 0:
                _remove(spool_file)
            else:
                kept += unsettled
                _close(spool_file.fd)
        if kept:
            log.warning(
                "question log: %d asks not written at shutdown are kept in %s; the next "
                "process to start on it writes them",
                kept,
                self.directory,
            )
        return kept

    def replay(self, write: WriteAsks, batch_size: int) -> int:
        """Write the asks in the files of processes that stopped (those no process holds
        locked) through `write`, then delete the files; returns the asks recovered (not yet
        written). An error that means the database is down (raised by `write`) ends the replay
        and goes to the caller; the files stay, for the next replay."""
        if not self.directory.is_dir():
            return 0
        done = _Replay()
        try:
            paths = sorted(self.directory.iterdir())
        except OSError as exc:
            log.warning("question log: cannot list the spool %s: %s", self.directory, exc)
            return 0
        try:
            for path in paths:
                name = path.name
                if name.startswith(self._stem):
                    continue  # ours (locked anyway)
                if name.endswith(NEW_SUFFIX):
                    _remove_if_abandoned(path)  # a process died while making it: empty
                elif name.endswith(SUFFIX):
                    self._replay_file(path, write, batch_size, done)
        finally:
            self._note_replay(done)
        return done.recovered

    def _note_replay(self, done: _Replay) -> None:
        if not done.asks and not done.files:
            return
        with self._lock:
            self._replayed += done.asks
            self._recovered += done.recovered
        trouble = ""
        if done.refused or done.unreadable:
            trouble = f"; {done.refused} refused by the database, {done.unreadable} unreadable"
        log.warning(
            "question log: recovered %d asks from %d spool files of processes that stopped "
            "before writing them (%d of the %d asks read were written already%s)",
            done.recovered,
            done.files,
            done.asks - done.recovered - done.refused,
            done.asks,
            trouble,
        )

    def _replay_file(self, path: Path, write: WriteAsks, batch_size: int, done: _Replay) -> None:
        fd = _take(path)
        if fd is None:
            return  # its owner is alive, or another process took it
        try:
            with os.fdopen(os.dup(fd), "rb") as stream:
                lines = stream.read().splitlines()
            asks = []
            for line in lines:
                ask = _decode(line)
                if ask is None:
                    done.unreadable += 1
                else:
                    asks.append(ask)
            for start in range(0, len(asks), batch_size):
                chunk = asks[start : start + batch_size]
                recovered, refused = write(chunk)
                done.asks += len(chunk)
                done.recovered += recovered
                done.refused += refused
            done.files += 1
            path.unlink(missing_ok=True)  # still locked: no one else reads it meanwhile
        finally:
            _close(fd)

    def _new_file(self) -> SpoolFile | None:
        """A new, locked, empty file of this process (holding the lock), or None (counted at
        the asks that then find no file)."""
        name = f"{self._stem}-{next(self._sequence):06d}"
        making = self.directory / f".{name}{NEW_SUFFIX}"
        path = self.directory / f"{name}{SUFFIX}"
        fd = -1
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
            fd = os.open(making, flags, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            making.rename(path)
        except OSError as exc:
            if fd >= 0:
                _close(fd)
                making.unlink(missing_ok=True)
            self._reopen_at = time.monotonic() + REOPEN_AFTER_S
            self._note_failure(f"cannot make a spool file in {self.directory}: {exc}")
            return None
        return SpoolFile(path, fd)

    def _count_failure(self, why: str) -> None:
        """An ask not spooled (holding the lock)."""
        self._failures += 1
        self._note_failure(why)

    def _note_failure(self, why: str) -> None:
        now = time.monotonic()
        if now - self._last_failure_logged >= FAILURE_LOG_INTERVAL_S:
            self._last_failure_logged = now
            log.warning(
                "question log: cannot spool asks (%s); they are answered and queued, but a "
                "kill of this process before they are written loses them (%d so far)",
                why,
                self._failures,
            )


def _decode(line: bytes) -> AskRecord | None:
    """An ask from its spooled line; None for a line that is not one (cut by a full disk)."""
    try:
        row: dict[str, Any] = json.loads(line)
        return AskRecord(
            id=str(row["id"]),
            asked_at=datetime.fromisoformat(row["asked_at"]),
            collection=str(row["collection"]),
            conversation_id=row.get("conversation_id"),
            question=str(row["question"]),
            client_hash=row.get("client_hash"),
            answered=bool(row["answered"]),
            no_answer_code=row.get("no_answer_code"),
            confidence=row.get("confidence"),
            answer_passage_id=row.get("answer_passage_id"),
            cited_passage_ids=tuple(row.get("cited_passage_ids") or ()),
            index_version=row.get("index_version"),
            latency_ms=row.get("latency_ms"),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _take(path: Path) -> int | None:
    """The file opened and locked, when no process holds it and it is still there under its
    name (another replay may have deleted it between the listing and the lock); else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held, named = os.fstat(fd), path.stat()
    except OSError:  # BlockingIOError: its owner holds it; FileNotFoundError: replayed
        _close(fd)
        return None
    if (held.st_dev, held.st_ino) != (named.st_dev, named.st_ino):
        _close(fd)
        return None
    return fd


def _remove_if_abandoned(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime < ABANDONED_AFTER_S:
            return  # perhaps being made right now
    except OSError:
        return
    fd = _take(path)
    if fd is not None:
        path.unlink(missing_ok=True)
        _close(fd)


def _remove(spool_file: SpoolFile) -> None:
    """Delete one of our files, then let go of its lock (in that order: no one may take a file
    we are deleting)."""
    try:
        spool_file.path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("question log: cannot delete the spool file %s: %s", spool_file.path, exc)
    _close(spool_file.fd)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError as exc:
        log.debug("question log: closing a spool file: %s", exc)
