"""A throwaway PostgreSQL server from the Debian binaries (pg_config --bindir), for tests that
must stop and start a server, and for the store's tests when no other server is at hand. As
root it runs as the `postgres` user, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL


class NoServerError(Exception):
    """No server can be started here; the message says why."""


@dataclass
class Server:
    """A running throwaway server: its data directory, port, and how to run its tools."""

    bindir: Path
    datadir: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database="postgres",
        )

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir}"
        self.pg_ctl("-o", options, "-l", str(self.datadir / "log"), "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_tools() -> tuple[Path, list[str]]:
    """The binaries' directory, and the command prefix that runs them as a user they accept."""
    if shutil.which("pg_config") is None:
        raise NoServerError("no PostgreSQL binaries (pg_config): make test installs them")
    bindir = Path(subprocess.check_output(["pg_config", "--bindir"], text=True).strip())
    if os.geteuid() != 0:
        return bindir, []
    if shutil.which("runuser") is None:
        raise NoServerError("running as root without runuser: PostgreSQL refuses root")
    try:
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        raise NoServerError("running as root and there is no postgres user") from exc
    return bindir, ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def throwaway_server() -> Iterator[Server]:
    """initdb, start, yield, stop and delete. Raises NoServerError when it cannot."""
    bindir, as_user = server_tools()
    # Not under pytest's base directory: it is private to the user running the tests, and
    # the server may run as another.
    base = Path(tempfile.mkdtemp(prefix="cultureqa-pg-"))
    try:
        if as_user:
            shutil.chown(base, "postgres")
        datadir = base / "data"
        initdb = [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust"]
        try:
            subprocess.run([*as_user, *initdb], check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            raise NoServerError(f"initdb failed: {exc}") from exc
        server = Server(bindir, datadir, free_port(), as_user)
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                server.pg_ctl("-m", "immediate", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
