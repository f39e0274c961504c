"""The red-team cases of issue 13, each reproduced through the real app: what an attacker (or a
confused client) tried, and what the server must answer now. Earlier fixes of the same issue
have their regression tests beside the code they cover (test_ratelimit.py, test_feedback.py,
test_admin.py, test_e2e.py); the ones here were red on 2ad84a3."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from fastapi.testclient import TestClient

from cultureqa.corpus import load_corpus
from cultureqa.http.app import create_app
from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings
from cultureqa.testing import ServerProcess, running_server
from tests.conftest import AppClient
from tests.helpers import (
    COURSE_KEY,
    OPEN_KEY,
    REPO,
    FakeEmbedder,
    publish,
    settings_for,
    write_articles,
)

ADMIN_KEY = "a" * 32
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`cultureqa serve` on loopback (the seed corpus, the real model), for the holes that only
    a real HTTP server shows: what is read from a connection before the app answers."""
    tmp = tmp_path_factory.mktemp("attacks")
    env = {
        "CULTUREQA_ADMIN_KEYS": json.dumps([ADMIN_KEY]),
        "CULTUREQA_COLLECTIONS_DIR": str(tmp / "collections"),
        "CULTUREQA_FEEDBACK_PATH": str(tmp / "feedback.jsonl"),
        "CULTUREQA_HEADER_TIMEOUT": "1",
        "CULTUREQA_BODY_TIMEOUT": "1",
        "CULTUREQA_MAX_HEADER_BYTES": "8192",
    }
    args = ["--index-dir", str(tmp / "index")]
    with running_server(args, tmp / "server.log", cwd=REPO, env=env) as up:
        yield up


def connect(server: ServerProcess) -> socket.socket:
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname or "", address.port or 80), timeout=10)
    sock.settimeout(10)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection or stops for 10 s."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, collections_dir=tmp_path / "collections", admin_keys=[ADMIN_KEY])


@pytest.fixture
def client(settings: Settings, app_client: AppClient) -> TestClient:
    publish(settings, FakeEmbedder(), "one")
    return app_client(settings)


@pytest.mark.parametrize(
    "path", ["/", "/embed", "/widget.js", "/static/page.css", "/articles/city0", "/health"]
)
def test_head_is_answered_wherever_get_is(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]
    assert head.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("PUT", "/ask", "POST"), ("HEAD", "/ask", "POST"), ("DELETE", "/health", "GET, HEAD")],
)
def test_a_wrong_method_is_a_405_that_says_what_is_allowed(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    if method != "HEAD":
        assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "question", ["\x00", "\x00\x00\x00", "\u200b\u200b", " \u200b\u200d ", "\ufeff", "\x1b\x07"]
)
def test_a_question_of_only_invisible_characters_is_a_422(
    client: TestClient, question: str
) -> None:
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "control or zero-width" in error["message"]


@pytest.mark.parametrize("question", ["food\u200b", "caf\u00e9?", "\u200bCity 1 music"])
def test_a_question_with_visible_text_is_answered(client: TestClient, question: str) -> None:
    assert client.post("/ask", json={"question": question}).status_code == 200


def test_a_bug_is_the_documented_json_500_with_the_request_id(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    publish(settings, FakeEmbedder(), "one")

    def broken(*args: object) -> list[str]:
        raise KeyError("json")  # what the admin API's parser lookup once raised

    monkeypatch.setattr("cultureqa.http.admin.article_files", broken)
    app = create_app(settings, embedder=FakeEmbedder())
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.INFO, logger="cultureqa.access"),
    ):
        response = client.get("/admin/collections/c/articles", headers=ADMIN)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    request_id = response.headers["X-Request-ID"]
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert request_id in error["message"]
    assert "KeyError" not in response.text and "Traceback" not in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cultureqa.access"]
    assert [(line["request_id"], line["status"]) for line in lines] == [(request_id, 500)]


def test_a_refused_cors_preflight_is_json(client: TestClient) -> None:
    response = client.options(
        "/ask",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "cors_refused"
    assert "origin" in error["message"]
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("evil.example", None),
        ("testserver:8080", None),  # this server's name on another port
        ("bad host:x", None),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost:8000", "http://localhost:8000"),
        ("[::1]:8000", "http://[::1]:8000"),
        ("testserver", "http://testserver"),  # the address the connection came in on
    ],
)
def test_the_snippets_on_the_page_never_carry_a_stranger_s_host(
    client: TestClient, host: str, base: str | None
) -> None:
    html = client.get("/", headers={"host": host}).text
    assert "evil" not in html
    if base is None:
        assert "src=&quot;https://YOUR-CULTUREQA-SERVER/widget.js&quot;" in html
        assert "CULTUREQA_PUBLIC_URL" in html
    else:
        assert f"src=&quot;{base}/widget.js&quot;" in html
        assert "YOUR-CULTUREQA-SERVER" not in html


def test_the_public_url_wins_over_any_host(settings: Settings, app_client: AppClient) -> None:
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings, public_url="https://qa.example.edu")
    html = client.get("/", headers={"host": "evil.example"}).text
    assert "src=&quot;https://qa.example.edu/widget.js&quot;" in html
    assert "evil" not in html


@pytest.mark.slow
def test_admin_answers_401_before_reading_the_upload(server: ServerProcess) -> None:
    # Declares 9 MB (under the upload cap) and sends 1 KB: the 401 must not wait for the rest.
    with connect(server) as sock:
        sock.sendall(
            b"PUT /admin/collections/course/articles/a.md HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 9000000\r\nConnection: close\r\n\r\n" + b"x" * 1024
        )
        started = time.monotonic()
        head = sock.recv(65536)
        waited = time.monotonic() - started
        head += read_response(sock)
    assert head.startswith(b"HTTP/1.1 401 "), head[:200]
    assert b'"code":"unauthorized"' in head
    assert waited < 5


@pytest.mark.slow
def test_a_connection_that_sends_no_request_is_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert read_response(sock) == b""
        assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_head_trickled_a_byte_at_a_time_is_cut_off(server: ServerProcess) -> None:
    # Slowloris: each byte comes before any idle timer would fire, the head never ends.
    with connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        closed_after = None
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b"X")
            except OSError:
                closed_after = time.monotonic() - started
                break
            time.sleep(0.2)
        assert closed_after is not None and closed_after < 5


@pytest.mark.slow
@pytest.mark.parametrize("whole", [False, True])
def test_a_head_over_the_cap_is_a_431(server: ServerProcess, whole: bool) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000
    with connect(server) as sock:
        sock.sendall(head + (b"\r\n\r\n" if whole else b""))
        if not whole:  # keeps coming: never held in memory past the cap
            for _ in range(20):
                try:
                    sock.sendall(b"a" * 4096)
                except OSError:
                    break
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code": "headers_too_large"' in answer


@pytest.mark.slow
def test_a_head_under_the_cap_is_answered_and_the_connection_kept(server: ServerProcess) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 6000 + b"\r\n\r\n"
    with connect(server) as sock:
        for _ in range(2):
            sock.sendall(request)
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 ")
            time.sleep(0.5)  # the next head has a deadline of its own


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/ask", "POST", b"Content-Type: application/json\r\n"),
        (
            "/admin/collections/course/articles/a.md",
            "PUT",
            f"Authorization: Bearer {ADMIN_KEY}\r\n".encode(),
        ),
    ],
)
def test_a_body_that_does_not_arrive_in_time_is_a_408(
    server: ServerProcess, path: str, method: str, headers: bytes
) -> None:
    with connect(server) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
            + headers
            + b"Content-Length: 1000\r\nConnection: close\r\n\r\n"
            + b'{"question": "'
        )
        started = time.monotonic()
        answer = read_response(sock)
        assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b'"code":"body_timeout"' in answer


def upload(client: TestClient, name: str, content: bytes) -> Any:
    """The response of an upload to the collection 'course' (TestClient's own Response type)."""
    return client.put(f"/admin/collections/course/articles/{name}", content=content, headers=ADMIN)


def test_an_upload_whose_id_another_file_uses_is_a_409_naming_it(
    client: TestClient, settings: Settings
) -> None:
    assert upload(client, "Lima.md", b"# Lima\n\nLima is known for ceviche.\n").status_code == 201
    response = upload(client, "lima.md", b"# Lima\n\nLima has old churches.\n")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "'lima'" in error["message"] and "Lima.md" in error["message"]
    # The same file replaced is no collision; nothing of the refused one was stored.
    assert upload(client, "Lima.md", b"# Lima\n\nLima, again.\n").status_code == 201
    stored = client.get("/admin/collections/course/articles", headers=ADMIN).json()["files"]
    assert stored == ["Lima.md"]
    # So a re-index still works.
    job = wait_for(client, client.post("/admin/collections/course/reindex", headers=ADMIN).json())
    assert job["state"] == "succeeded", job


def test_an_upload_repeating_an_id_in_itself_is_refused(client: TestClient) -> None:
    lines = b'{"id": "a", "title": "A", "text": "x y"}\n{"id": "a", "title": "A2", "text": "z"}\n'
    response = upload(client, "d.jsonl", lines)
    assert response.status_code == 422
    assert "'a' is used twice" in response.json()["error"]["message"]
    jsonl = b'{"id": "lima", "title": "Lima", "text": "Ceviche."}\n'
    assert upload(client, "more.jsonl", jsonl).status_code == 201
    markdown = upload(client, "lima.md", b"# Lima\n\nLima.\n")
    assert markdown.status_code == 409
    assert "more.jsonl" in markdown.json()["error"]["message"]


def wait_for(client: TestClient, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(400):
        job = client.get(f"/admin/jobs/{job['id']}", headers=ADMIN).json()
        if job["state"] in {"succeeded", "failed"}:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job still {job['state']}")


@pytest.mark.parametrize(
    "url", ["javascript:alert(document.cookie)", "data:text/html,<script>x</script>", "/etc"]
)
def test_a_source_url_that_is_not_http_is_dropped_at_ingest_with_a_warning(
    client: TestClient, url: str
) -> None:
    article = f"---\nsource_url: '{url}'\n---\n# Lima\n\nLima is known for ceviche.\n"
    assert upload(client, "lima.md", article.encode()).status_code == 201
    job = wait_for(client, client.post("/admin/collections/course/reindex", headers=ADMIN).json())
    assert job["state"] == "succeeded", job
    assert "1 warnings" in job["summary"]
    [warning] = job["warnings"]
    assert "lima.md (lima): source_url" in warning and "only http(s)" in warning
    body = client.post("/ask", json={"question": "ceviche", "collection": "course"}).json()
    citation = body["passages"][0]["citation"]
    assert citation["source_url"] is None
    assert not citation["link"].startswith(url[:5])


def test_http_source_urls_are_kept(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "title": "A", "text": "x", "url": "https://example.org/a"},
        {"id": "b", "title": "B", "text": "y", "url": "JavaScript:alert(1)"},
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
    corpus = load_corpus([tmp_path])
    assert [a.source_url for a in corpus.articles] == ["https://example.org/a", None]
    assert [w.article_id for w in corpus.warnings] == ["b"]


@pytest.mark.slow
def test_the_model_writes_nothing_outside_the_cache_dir(tmp_path: Path) -> None:
    # ONNX Runtime wrote a device id and a telemetry queue under ~/.cache/Microsoft/.
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"XDG_CACHE_HOME", "HF_HOME", "HOME"}}
    env.update(HOME=str(home), CULTUREQA_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    script = (
        "from cultureqa.settings import Settings\n"
        "from cultureqa.embedding.factory import load_embedder\n"
        "embedder = load_embedder(Settings(backend='onnx'))\n"
        "print(embedder.embed(['Where is Hamhung?']).shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "(1, 384)" in done.stdout
    assert [p for p in home.rglob("*")] == []
    assert list(cache.glob("onnx/*/model.onnx"))


def test_citations_and_admin_errors_carry_no_server_path(
    client: TestClient, settings: Settings
) -> None:
    server_path = str(settings.corpus_dir.parent)  # a temporary directory, outside the cwd
    body = client.post("/ask", json={"question": "food"}).json()
    citation = body["passages"][0]["citation"]
    assert citation["source_file"] == f"corpus/{citation['article_id']}.md"
    assert citation["link"].startswith("corpus/")
    refused = upload(client, "a.md", b"---\n: [\n---\n# A\n\nText.\n")
    assert refused.status_code == 422
    assert "course/a.md: front matter" in refused.json()["error"]["message"]
    assert (
        upload(client, "b.md", b"---\nid: b\n---\n# B\n\nText about ceviche.\n").status_code == 201
    )
    job = wait_for(client, client.post("/admin/collections/course/reindex", headers=ADMIN).json())
    assert job["state"] == "succeeded", job
    answer = client.post("/ask", json={"question": "ceviche", "collection": "course"}).json()
    assert answer["passages"][0]["citation"]["source_file"] == "course/b.md"
    for text in (json.dumps(body), refused.text, json.dumps(job), json.dumps(answer)):
        assert server_path not in text


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_collection_key_reads_its_collection_and_no_other(scoped: TestClient) -> None:
    def ask(key: str, collection: str | None) -> Any:
        body = {"question": "food"} | ({"collection": collection} if collection else {})
        return scoped.post("/ask", json=body, headers=bearer(key))

    assert ask(COURSE_KEY, "course").status_code == 200
    for collection in (None, "default", "nope"):  # the default, another, one that is not there
        refused = ask(COURSE_KEY, collection)
        assert refused.status_code == 403, collection
        assert refused.json()["error"]["code"] == "forbidden"
        assert "default" not in refused.text and "course" not in refused.text
    assert ask(OPEN_KEY, "course").status_code == 200
    assert ask(OPEN_KEY, None).status_code == 200
    page = "/articles/city0"
    assert scoped.get(f"{page}?collection=course", headers=bearer(COURSE_KEY)).status_code == 200
    assert scoped.get(page, headers=bearer(COURSE_KEY)).status_code == 403
    assert scoped.get(page, headers=bearer(OPEN_KEY)).status_code == 200
    feedback = {"rating": "up", "question": "food", "collection": "default"}
    assert scoped.post("/feedback", json=feedback, headers=bearer(COURSE_KEY)).status_code == 403


def test_collection_keys_alone_turn_key_mode_on(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(tmp_path, collection_keys={"default": [COURSE_KEY]})
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    assert client.post("/ask", json={"question": "food"}).status_code == 401
    ok = client.post("/ask", json={"question": "food"}, headers=bearer(COURSE_KEY))
    assert ok.status_code == 200
    assert client.get("/ready").json()["collections"] == []
    assert client.get("/metrics").status_code == 401


def test_an_upload_whose_id_a_command_line_source_uses_is_a_409(
    tmp_path: Path, settings: Settings, client: TestClient
) -> None:
    mine = tmp_path / "my-articles"
    write_articles(mine, "cli", count=1)  # city0.md, id city0
    ingest([mine], settings.index_dir / "course", FakeEmbedder())
    response = upload(client, "city0.md", b"# City 0\n\nAnother city zero.\n")
    assert response.status_code == 409
    assert "already used by my-articles/city0.md" in response.json()["error"]["message"]
    assert upload(client, "lima.md", b"# Lima\n\nCeviche.\n").status_code == 201


@pytest.mark.slow
def test_endless_heads_on_several_connections_hold_no_memory(server: ServerProcess) -> None:
    # The issue: 4 x 50 MB of unfinished headers added 209 MB to the server's memory.
    process = psutil.Process(server.process.pid)
    before = process.memory_info().rss
    sockets = [connect(server) for _ in range(4)]
    chunk = b"a" * 65536
    sent = [0] * len(sockets)
    for sock in sockets:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
    for _ in range(800):  # up to 50 MB a connection, until the server hangs up
        for i, sock in enumerate(sockets):
            if sent[i] >= 0:
                try:
                    sock.sendall(chunk)
                    sent[i] += len(chunk)
                except OSError:
                    sent[i] = -1
        if all(s < 0 for s in sent):
            break
    grown = process.memory_info().rss - before
    for sock in sockets:
        sock.close()
    assert all(s < 0 for s in sent)  # every connection was cut off
    assert grown < 20 * 1024 * 1024, f"the server grew by {grown / 1e6:.0f} MB"
