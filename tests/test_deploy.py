"""deploy/nginx.conf, the reverse-proxy sample the README points to, keeps the server's limits."""

from __future__ import annotations

import re

from cultureqa.settings import Settings
from tests.helpers import REPO

SAMPLE = REPO / "deploy" / "nginx.conf"


def directive(name: str, text: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", text, flags=re.MULTILINE)


def size(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def test_the_proxy_sample_has_the_server_s_limits() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    settings = Settings()
    assert directive("client_header_timeout", text) == [f"{settings.header_timeout:g}s"]
    assert directive("client_body_timeout", text) == [f"{settings.body_timeout:g}s"]
    count, buffer = directive("large_client_header_buffers", text)[0].split()
    assert int(count) * size(buffer) == settings.max_header_bytes
    api, admin = (size(v) for v in directive("client_max_body_size", text))
    assert api == settings.max_request_bytes
    assert admin >= settings.max_upload_bytes
    forwarded = directive("proxy_set_header X-Forwarded-For", text)
    assert forwarded == ["$proxy_add_x_forwarded_for"] * len(directive("proxy_pass", text))
    assert "proxy_request_buffering off" in text  # uploads reach the key check unread
