"""Real `cultureqa worker` and `cultureqa serve` processes sharing one database and one data
directory, for the builder's end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cultureqa.testing import OFFLINE

ADMIN_KEY = "builder-e2e-admin-key-0123456789"  # test-only; 24+ characters
READY_LINE = "running the re-index jobs queued in"


def shared_env(data: Path, database_url: str) -> dict[str, str]:
    """The settings every process of the deployment gets: one database, one data directory."""
    return {
        "CULTUREQA_DATABASE_URL": database_url,
        "CULTUREQA_BUILDER": "external",
        "CULTUREQA_CORPUS_DIR": str(data / "corpus"),
        "CULTUREQA_INDEX_DIR": str(data / "indexes"),
        "CULTUREQA_COLLECTIONS_DIR": str(data / "collections"),
        "CULTUREQA_FEEDBACK_PATH": str(data / "feedback.jsonl"),
        "CULTUREQA_ADMIN_KEYS": f'["{ADMIN_KEY}"]',
        "CULTUREQA_RATE_LIMIT_PER_MINUTE": "0",
    }


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    health_url: str | None = None  # with --health-port

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 240) -> None:
        """Until `text` is in the log; AssertionError (with the log) when the worker exits or
        `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited:\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} after {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_worker(env: dict[str, str], log_path: Path, *args: str) -> WorkerProcess:
    script = Path(sys.executable).parent / "cultureqa"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [str(script), "worker", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **OFFLINE, **env},
        )
    return WorkerProcess(process, log_path)


def wait_until(check: Callable[[], bool], timeout: float, poll: float = 0.05) -> float:
    """Seconds until `check()` was true; AssertionError after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(poll)
    return time.monotonic() - start
