"""Redis for the tests of the shared limits: the machine's server (CULTUREQA_TEST_REDIS_URL, else
127.0.0.1:6379), and throwaway servers from Debian's redis-server that a test stops and starts
again to make a real outage."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from cultureqa.testing import free_port

TEST_REDIS_ENV = "CULTUREQA_TEST_REDIS_URL"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


def redis_for_tests() -> str:
    """The Redis the tests use; skips the test when none answers and none was named, fails
    when the one named does not answer."""
    named = os.environ.get(TEST_REDIS_ENV)
    url = named or LOCAL_REDIS
    if answers(url):
        return url
    if named:
        pytest.fail(f"{TEST_REDIS_ENV}={named} does not answer PING")
    pytest.skip(f"no Redis answers on {LOCAL_REDIS} and {TEST_REDIS_ENV} is not set")


def unique_prefix() -> str:
    return f"cultureqa-test:{uuid.uuid4().hex[:12]}:"


def delete_prefix(url: str, prefix: str) -> None:
    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)


@dataclass
class RedisServer:
    """A redis-server of our own on a loopback port, nothing on disk."""

    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (Debian's redis-server package)")
        subprocess.run(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "yes",
                "--dir", str(self.directory),
                "--pidfile", str(self.directory / "redis.pid"),
                "--logfile", str(self.directory / "redis.log"),
            ],
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not answers(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        """`redis-cli shutdown nosave`; returns once the port is closed."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            check=False,  # already stopped
        )
        deadline = time.monotonic() + timeout
        while answers(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not stop")
            time.sleep(0.05)


@contextmanager
def spare_redis(directory: Path) -> Iterator[RedisServer]:
    """A redis-server started for the `with` block on a free port, shut down after it."""
    server = RedisServer(free_port(), directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
