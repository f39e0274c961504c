"""Run `cultureqa serve` in its own process on a free loopback port and wait until it is ready:
one helper for the end-to-end tests and the benchmarks (which time the same start-up).

Standard library only (no HTTP client beyond urllib), so that it can ship in the package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Nothing may download: the model comes from its package or a local directory.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class ServerNotReady(RuntimeError):
    """The server exited, or did not answer /ready with 200, in time. The message has its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]
    log_path: Path  # its stdout and stderr

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL if it takes longer than `timeout`."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_serve(
    args: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> ServerProcess:
    """`cultureqa serve --port PORT ARGS...` (this Python's `cultureqa` script), offline, with
    `env` on top of this process's environment; output to `log_path`. Unless `env` or the
    environment names them, the feedback file and the question log's database are put beside
    the log, never in the working directory."""
    port = port or free_port()
    data = {"CULTUREQA_FEEDBACK_PATH": str(log_path.parent / "feedback.jsonl")}
    env = {**data, **os.environ, **OFFLINE, **(env or {})}
    script = Path(sys.executable).parent / "cultureqa"
    command = [str(script), "serve", "--port", str(port), *args]
    with log_path.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            command,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return ServerProcess(f"http://127.0.0.1:{port}", process, log_path)


def _is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False  # not listening yet, or 503 while loading


def wait_ready(server: ServerProcess, timeout: float = 180, poll: float = 0.3) -> None:
    """Return once GET /ready answers 200; raise ServerNotReady if the server exits first or
    `timeout` seconds pass (bounded: at most timeout / poll requests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerNotReady(f"the server exited before it was ready:\n{server.log()}")
        if _is_ready(server.url):
            return
        time.sleep(poll)
    raise ServerNotReady(f"the server was not ready after {timeout} s:\n{server.log()}")


@contextmanager
def running_server(
    args: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> Iterator[ServerProcess]:
    """A ready server for the `with` block, stopped after it."""
    server = start_serve(args, log_path, cwd=cwd, env=env)
    try:
        wait_ready(server, timeout=timeout)
        yield server
    finally:
        server.stop()
