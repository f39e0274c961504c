"""The question log's spool (store/spool.py): an ask is in a file of its process until written;
the files of a process that was killed are written by the next one, once, and a live
process's files are never taken; the spool holds what the row would, under the privacy mode;
an unwritable spool costs no ask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cultureqa.store import schema
from cultureqa.store.privacy import PrivacyPolicy, QuestionLogMode, client_hash
from cultureqa.store.records import AskRecord, new_id
from cultureqa.store.spool import SUFFIX, Spool
from cultureqa.store.writes import write_records
from tests.helpers import REPO
from tests.store.helpers import CLIENT, an_ask, open_log, outage, rows, wait_until

SALT = "s" * 32  # the children's (child_spool.py)


def spooled_lines(directory: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted(directory.glob(f"*{SUFFIX}"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def replay(engine: Engine, directory: Path, mode: QuestionLogMode = "anonymous") -> int:
    """What a starting process does with the spools of stopped ones; the asks recovered."""
    policy = PrivacyPolicy(default=mode)

    def write(asks: Sequence[AskRecord]) -> tuple[int, int]:
        with engine.begin() as connection:
            return write_records(connection, asks, policy, None), 0

    return Spool(directory, policy).replay(write, batch_size=50)


@contextmanager
def child(*args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.store.child_spool", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


def held_asks(process: subprocess.Popen[str]) -> list[str]:
    """The ids a `hold` child printed, once it holds them."""
    assert process.stdout is not None
    ids: list[str] = []
    for line in process.stdout:
        if line.strip() == "holding":
            return ids
        ids.append(line.strip())
    raise AssertionError("the child ended before holding its asks")


def killed(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def test_an_ask_is_spooled_as_its_row_and_its_file_goes_once_written(
    engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    policy = PrivacyPolicy(default="full")
    spool = Spool(directory, policy, salt=SALT).open()
    ask = an_ask(conversation_id=new_id())
    line = spool.encode(ask)
    assert line is not None
    spooled = spool.append(line)
    assert spooled is not None

    [row] = spooled_lines(directory)  # on disk (the page cache) when append returns
    assert row == {
        "id": ask.id,
        "asked_at": ask.asked_at.isoformat(),
        "collection": "default",
        "conversation_id": ask.conversation_id,
        "question": "What is Hamhung known for?",
        "client_hash": client_hash(SALT, CLIENT),
        "answered": True,
        "no_answer_code": None,
        "confidence": 0.75,
        "answer_passage_id": "hamhung-culture#food",
        "cited_passage_ids": ["hamhung-culture#food", "hamhung-culture#history"],
        "index_version": "v1",
        "latency_ms": 12.5,
    }
    assert CLIENT.encode() not in spooled.path.read_bytes()
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct(spooled.path.stat().st_mode & 0o777) == "0o600"

    spool.settle([spooled])  # written: a new file is started, the old one deleted
    assert not spooled.path.exists()
    [current] = list(directory.glob(f"*{SUFFIX}"))
    assert current.read_bytes() == b""
    assert spool.close() == 0
    assert list(directory.iterdir()) == []


def test_the_log_spools_until_written_and_leaves_nothing_behind(
    engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    log = open_log(engine, "anonymous", spool_directory=directory)
    asks = [an_ask(conversation_id=new_id()) for _ in range(300)]
    for ask in asks:
        assert log.record_ask(ask)
    assert log.flush()

    assert spooled_lines(directory) == []  # written, so no longer spooled
    assert len(list(directory.glob(f"*{SUFFIX}"))) == 1  # the current one, empty
    stats = log.close()
    assert (stats.written, stats.spool_failures, stats.spool_replayed) == (300, 0, 0)
    assert list(directory.iterdir()) == []
    assert {row["id"] for row in rows(engine, schema.asks)} == {ask.id for ask in asks}


def test_a_rotation_never_loses_an_ask_still_queued(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    spool = Spool(directory, PrivacyPolicy()).open()
    first, second = an_ask(), an_ask()
    first_file = spool.append(spool.encode(first) or b"")
    spool.settle([])  # a batch without it was written: rotate, keep its file
    second_file = spool.append(spool.encode(second) or b"")
    assert first_file is not None and second_file is not None
    assert first_file.path != second_file.path
    assert [row["id"] for row in spooled_lines(directory)] == [first.id, second.id]

    spool.settle([second_file])
    assert [row["id"] for row in spooled_lines(directory)] == [first.id]
    spool.settle([first_file])
    assert spooled_lines(directory) == []
    spool.close()


@pytest.mark.parametrize("mode", ["anonymous", "full"])
def test_what_is_spooled_is_what_the_mode_stores(mode: QuestionLogMode, tmp_path: Path) -> None:
    spool = Spool(tmp_path, PrivacyPolicy(default=mode), salt=SALT)
    line = spool.encode(an_ask())
    assert line is not None
    row = json.loads(line)
    assert CLIENT not in line.decode()
    assert row["client_hash"] == (client_hash(SALT, CLIENT) if mode == "full" else None)


def test_off_spools_nothing(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    policy = PrivacyPolicy(default="anonymous", by_collection={"history-101": "off"})
    spool = Spool(directory, policy)
    assert spool.encode(an_ask(collection="history-101")) is None
    assert spool.encode(an_ask(collection="default")) is not None

    log = open_log(engine, "off", spool_directory=directory)
    log.record_ask(an_ask())
    [path] = list(directory.glob(f"*{SUFFIX}"))
    assert path.read_bytes() == b""  # before the writer has it, too
    assert log.flush()
    stats = log.close()
    assert (stats.written, stats.spool_failures) == (1, 0)
    assert rows(engine, schema.asks) == []


def test_full_mode_learns_the_database_salt_to_spool_the_hash(
    engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    log = open_log(engine, "full", spool_directory=directory, max_backoff=0.1)  # no salt set
    log.record_ask(an_ask())  # spooled before the salt is known: without a hash
    assert log.flush()  # the writer learns the salt with its first write
    with outage(engine):  # so that the next ask stays in the spool
        log.record_ask(an_ask())
        [row] = spooled_lines(directory)
    assert log.flush(timeout=30)
    log.close()
    [stored] = {r["client_hash"] for r in rows(engine, schema.asks)}
    assert row["client_hash"] == stored is not None


def test_a_killed_process_s_asks_are_written_by_the_next_exactly_once(
    engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    url = engine.url.render_as_string(hide_password=False)
    with child("write", url, str(directory)) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        recorded = [process.stdout.readline().strip() for _ in range(400)]
        killed(process)  # mid-flight: asks queued, a batch lingering or being written
        recorded += [line.strip() for line in process.stdout]
    logged_by_it = {row["id"] for row in rows(engine, schema.asks)}
    assert set(recorded) >= logged_by_it
    lost = set(recorded) - logged_by_it
    assert spooled_lines(directory)  # its files are still there (what they hold may be logged)

    log = open_log(engine, "full", salt=SALT, spool_directory=directory)
    wait_until(lambda: log.stats().spool_replayed > 0)
    stats = log.close()

    asks = rows(engine, schema.asks)
    assert sorted(row["id"] for row in asks) == sorted(recorded)  # every one, once
    assert stats.spool_recovered == len(lost)
    assert {row["client_hash"] for row in asks} == {client_hash(SALT, CLIENT)}
    assert sum(row["asks"] for row in rows(engine, schema.daily_counts)) == len(recorded)
    assert list(directory.iterdir()) == []
    print(
        f"recorded {len(recorded)}, logged before the kill {len(logged_by_it)}, recovered "
        f"from its spool {stats.spool_recovered}"
    )


def test_a_live_process_s_spool_is_never_taken(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    with child("hold", str(directory), "5") as process:
        held = held_asks(process)
        files = sorted(directory.glob(f"*{SUFFIX}"))
        assert replay(engine, directory) == 0
        assert sorted(directory.glob(f"*{SUFFIX}")) == files  # not deleted either
        assert rows(engine, schema.asks) == []
        killed(process)

    assert replay(engine, directory, "full") == 5
    assert sorted(row["id"] for row in rows(engine, schema.asks)) == sorted(held)
    assert list(directory.iterdir()) == []


def test_replaying_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    with child("hold", str(directory), "6") as process:
        held = held_asks(process)
        [path] = list(directory.glob(f"*{SUFFIX}"))
        copy = path.read_bytes()
        killed(process)
    written = [an_ask(id=held[0]), an_ask(id=held[1])]  # these two made it before the kill
    with engine.begin() as connection:
        write_records(connection, written, PrivacyPolicy(), None)

    assert replay(engine, directory) == 4
    path.write_bytes(copy)  # as if a second process replayed the same file again
    assert replay(engine, directory) == 0

    assert sorted(row["id"] for row in rows(engine, schema.asks)) == sorted(held)
    assert sum(row["asks"] for row in rows(engine, schema.daily_counts)) == 6
    assert list(directory.iterdir()) == []


def test_a_cut_line_is_skipped_and_the_rest_replayed(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    with child("hold", str(directory), "3") as process:
        held = held_asks(process)
        killed(process)
    [path] = list(directory.glob(f"*{SUFFIX}"))
    with path.open("ab") as spool_file:
        spool_file.write(b'{"id": "cut-short-by-a-full-di')
    assert replay(engine, directory) == 3
    assert sorted(row["id"] for row in rows(engine, schema.asks)) == sorted(held)


def test_a_shutdown_with_the_database_down_leaves_its_asks_to_the_next_start(
    engine: Engine, tmp_path: Path
) -> None:
    directory = tmp_path / "spool"
    log = open_log(engine, spool_directory=directory, max_backoff=0.1)
    assert log.wait_until_ready()
    with outage(engine):
        asks = [an_ask() for _ in range(3)]
        for ask in asks:
            log.record_ask(ask)
        wait_until(lambda: not log.stats().database_up)
        stats = log.close(timeout=0.5)
    assert stats.failed == 3
    assert sorted(str(row["id"]) for row in spooled_lines(directory)) == sorted(a.id for a in asks)

    again = open_log(engine, spool_directory=directory)
    wait_until(lambda: again.stats().spool_recovered == 3)
    again.close()
    assert sorted(row["id"] for row in rows(engine, schema.asks)) == sorted(a.id for a in asks)


def test_an_unwritable_spool_costs_no_ask_and_is_counted(engine: Engine, tmp_path: Path) -> None:
    directory = tmp_path / "not-a-directory"
    directory.write_text("a file where the spool should be")  # as a read-only disk, for root
    log = open_log(engine, spool_directory=directory)
    assert all(log.record_ask(an_ask()) for _ in range(3))
    assert log.flush()
    stats = log.close()
    assert (stats.written, stats.spool_failures) == (3, 3)
    assert len(rows(engine, schema.asks)) == 3
