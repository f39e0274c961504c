"""deploy/nginx.conf as shipped, TLS included, is accepted by Debian's nginx (1.22 in Debian 12,
which knows `listen ... http2` but not `http2 on`): the cluster tests replace its listener, so
this checks the part they do not run. deploy/compose/nginx.conf needs nginx 1.27.3+ (an
upstream that resolves `api` again), the compose file's image, so it is not checked here."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.processes import DEPLOY_NGINX, Nginx, nginx_prefix

pytestmark = pytest.mark.cluster


@pytest.fixture
def prefix() -> Iterator[Path]:
    made = nginx_prefix()
    yield made
    shutil.rmtree(made, ignore_errors=True)


def with_certificate(sample: str, certificate: Path, key: Path) -> str:
    """The sample with its commented-out certificate lines naming `certificate` and `key`."""
    text, found = re.subn(r"#\s*(ssl_certificate)\s+\S+;", rf"\1 {certificate};", sample)
    text, found_key = re.subn(r"#\s*(ssl_certificate_key)\s+\S+;", rf"\1 {key};", text)
    assert (found, found_key) == (1, 1), "deploy/nginx.conf's certificate lines changed"
    return text


def test_debian_nginx_accepts_the_deploy_sample(prefix: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate with")
    certificate, key = prefix / "cert.pem", prefix / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=qa.example.edu", "-keyout", str(key), "-out", str(certificate)]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    site = with_certificate(DEPLOY_NGINX.read_text(encoding="utf-8"), certificate, key)
    checked = Nginx(0, prefix).check(site)
    assert checked.returncode == 0, checked.stderr
    assert "warn" not in checked.stderr, checked.stderr
