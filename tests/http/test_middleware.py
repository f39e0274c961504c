"""Every response: a request id, security headers, one JSON log line; and the local /docs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cultureqa.settings import Settings
from tests.conftest import AppClient
from tests.helpers import FakeEmbedder, publish, settings_for


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path)


@pytest.fixture
def client(settings: Settings, app_client: AppClient) -> TestClient:
    publish(settings, FakeEmbedder(), "one")
    return app_client(settings)


def test_every_response_has_a_request_id_and_the_log_line_carries_it(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cultureqa.access"):
        response = client.post("/ask", json={"question": "food"})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cultureqa.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "POST",
        "/ask",
        "/ask",
        200,
    )
    assert line["duration_ms"] > 0


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123", True),
        ("trace:01HF.x_y", True),
        ("x" * 129, False),
        ("has space", False),
        ("<script>", False),
        ("", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_others_replaced(
    client: TestClient, given: str, kept: bool
) -> None:
    response = client.get("/health", headers={"X-Request-ID": given})
    assert (response.headers["X-Request-ID"] == given) is kept
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", ["/health", "/ready", "/openapi.json", "/docs", "/nowhere"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_html_gets_a_csp_without_inline_script_unless_it_has_its_own(
    client: TestClient,
) -> None:
    from fastapi.responses import HTMLResponse

    from cultureqa.http.middleware.request import DEFAULT_CSP

    app = client.app
    assert hasattr(app, "get")

    @app.get("/plain-page")  # type: ignore[untyped-decorator]
    def plain() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    @app.get("/framed-page")  # type: ignore[untyped-decorator]
    def framed() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>", headers={"Content-Security-Policy": "frame-ancestors *"})

    plain_policy = client.get("/plain-page").headers["Content-Security-Policy"]
    assert plain_policy == DEFAULT_CSP
    assert "script-src 'self'" in plain_policy
    assert "unsafe-inline" not in plain_policy.split("script-src")[1].split(";")[0]
    assert client.get("/framed-page").headers["Content-Security-Policy"] == "frame-ancestors *"
    assert "Content-Security-Policy" not in client.get("/health").headers  # JSON: no CSP


def test_docs_are_served_locally_with_no_inline_script(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # only <script src=...>
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    for src in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/start.js"):
        assert src in page.text
        asset = client.get(src)
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc needs a CDN: off


def test_openapi_pages_can_be_turned_off(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(tmp_path, docs_enabled=False)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
    assert client.post("/ask", json={"question": "food"}).status_code == 200
