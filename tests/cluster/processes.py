"""The processes of the cluster tests: `cultureqa serve` replicas on fixed loopback ports (so that
one can be killed and started again where nginx expects it), and Debian's nginx in front, run
as a child of the test (not a daemon) with a configuration derived from deploy/nginx.conf."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from cultureqa.testing import ServerProcess, free_port, start_serve, wait_ready
from tests.helpers import REPO

DEPLOY_NGINX = REPO / "deploy" / "nginx.conf"
# The replica that answered (nginx's $upstream_addr: "127.0.0.1:8001", or "a, b" when the
# first one failed and nginx passed the request on). Added for the tests only: a deployment
# does not tell clients its replicas' addresses.
UPSTREAM_HEADER = "X-Upstream"


def metrics(url: str) -> dict[str, float]:
    """A process's /metrics as {name{labels}: value} (comments left out)."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def wait_for(what: str, condition: Callable[[], bool], timeout: float, poll: float = 0.2) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(poll)


@dataclass
class Replica:
    """One `cultureqa serve` on a port of its own, which it keeps across restarts."""

    name: str
    port: int
    args: Sequence[str]
    env: Mapping[str, str]
    directory: Path
    starts: int = 0
    server: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """As nginx names it in $upstream_addr."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (returns at once; wait_ready() waits for it)."""
        self.starts += 1
        log = self.directory / f"serve-{self.starts}.log"
        self.server = start_serve(self.args, log, cwd=REPO, env=self.env, port=self.port)

    def wait_ready(self, timeout: float = 300) -> None:
        assert self.server is not None, f"{self.name} was never started"
        wait_ready(self.server, timeout=timeout, poll=0.5)

    def kill(self) -> None:
        """SIGKILL: no shutdown, nothing flushed; returns once the process is gone."""
        assert self.server is not None
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=30)

    def alive(self) -> bool:
        return self.server is not None and self.server.process.poll() is None

    def stop(self) -> None:
        if self.server is not None and self.alive():
            self.server.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(self.directory.glob("serve-*.log"))
        )


def replicas_for(
    count: int, args: Sequence[str], env: Mapping[str, str], directory: Path
) -> list[Replica]:
    replicas = []
    for number in range(1, count + 1):
        own = directory / f"replica-{number}"
        own.mkdir(parents=True, exist_ok=True)
        replicas.append(Replica(f"replica-{number}", free_port(), args, env, own))
    return replicas


def proxy_config(sample: str, replica_ports: Sequence[int], port: int) -> str:
    """deploy/nginx.conf for a test: its upstream's servers replaced by the replicas (with the
    sample's parameters: max_fails, fail_timeout), its TLS listener by plain HTTP on a loopback
    port, and an X-Upstream header; every other directive (retries, timeouts, limits, headers)
    as shipped. Fails when the sample no longer has the lines this replaces, rather than
    testing something else."""
    servers = re.findall(r"^(\s*)server 127\.0\.0\.1:\d+( [^;]*)?;\n", sample, flags=re.MULTILINE)
    if not servers:
        raise AssertionError(f"no `server 127.0.0.1:PORT ...;` in {DEPLOY_NGINX}'s upstream")
    indent, parameters = servers[0]
    ours = "".join(f"{indent}server 127.0.0.1:{p}{parameters};\n" for p in replica_ports)
    text, replaced = re.subn(
        r"(?:^\s*server 127\.0\.0\.1:\d+[^;]*;\n)+", ours, sample, count=1, flags=re.MULTILINE
    )
    listen = re.compile(r"^(\s*)listen 443 ssl[^;]*;\n", flags=re.MULTILINE)
    text, listened = listen.subn(
        rf"\1listen 127.0.0.1:{port};\n\1add_header {UPSTREAM_HEADER} $upstream_addr always;\n",
        text,
    )
    if (replaced, listened) != (1, 1):
        shape = f"upstream {replaced}, listen {listened}"
        raise AssertionError(f"{DEPLOY_NGINX} changed shape: {shape}")
    return text


MAIN_CONFIG = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    log_format cluster '$msec $status $request_method $request_uri '
                       'upstream=$upstream_addr upstream_status=$upstream_status';
    access_log {prefix}/access.log cluster;
{site}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        pytest.skip("nginx is not installed (`make nginx` installs Debian's)")
    return found


@dataclass
class Nginx:
    """nginx in the foreground (`daemon off`), a child of the test, on a loopback port."""

    port: int
    prefix: Path
    process: subprocess.Popen[bytes] | None = None
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.prefix / "nginx.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check(self, site: str) -> subprocess.CompletedProcess[str]:
        """Write the configuration with `site` in its http block; `nginx -t` on it."""
        self.config.write_text(MAIN_CONFIG.format(prefix=self.prefix, site=site))
        return subprocess.run([*self._command(), "-t"], capture_output=True, text=True, check=False)

    def _command(self) -> list[str]:
        command = [nginx_binary(), "-p", str(self.prefix), "-c", str(self.config)]
        return [*command, "-e", str(self.prefix / "error.log")]

    def start(self, site: str, timeout: float = 30) -> None:
        checked = self.check(site)
        assert checked.returncode == 0, checked.stderr
        command = self._command()
        with (self.prefix / "stderr.log").open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{self.error_log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGQUIT (finish what is in flight), SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def access_log(self) -> list[str]:
        path = self.prefix / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []


def nginx_prefix() -> Path:
    """A directory for nginx's files outside pytest's (which is private to its user: nginx's
    workers run as `nobody` when the tests run as root)."""
    prefix = Path(tempfile.mkdtemp(prefix="cultureqa-nginx-"))
    prefix.chmod(0o755)
    return prefix


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
