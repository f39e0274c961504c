"""The web routes through TestClient, with the real model over a real index of three articles:
the educators' page, /embed and its CSP, the widget's files, article pages, feedback, CORS."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cultureqa.embedding.base import Embedder
from cultureqa.http.middleware.cors import origin_pattern
from cultureqa.settings import Settings
from cultureqa.store import schema
from tests.conftest import AppClient

pytestmark = pytest.mark.slow

SITE = "https://moodle.example.edu"


@pytest.fixture(scope="module")
def feedback_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "sub" / "feedback.jsonl"


@pytest.fixture(scope="module")
def client(
    places_corpus: Path,
    places_index: Path,
    real_embedder: Embedder,
    feedback_path: Path,
    module_app_client: AppClient,
) -> TestClient:
    settings = Settings(
        corpus_dir=places_corpus,
        index_dir=places_index,
        cors_origins=[SITE, "http://localhost:*"],
        frame_ancestors=["'self'", SITE],
        feedback_path=feedback_path,
    )
    return module_app_client(settings, embedder=real_embedder)


def test_citations_carry_the_served_page_of_their_section(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "What cold noodle dish is Hamhung known for?"})
    citation = body.json()["passages"][0]["citation"]
    assert citation["page"] == "/articles/hamhung-culture#the-contrast-of-modernity-and-tradition"
    # The existing fields are unchanged.
    assert citation["link"].endswith("hamhung-culture.md#the-contrast-of-modernity-and-tradition")


def test_article_page_renders_sections_with_anchors(client: TestClient) -> None:
    response = client.get("/articles/hamhung-culture")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<h3 id="the-contrast-of-modernity-and-tradition">' in html
    assert "<h2>The Industrial Heartbeat of Hamhung</h2>" in html
    assert "Hamhung naengmyeon (a cold buckwheat noodle dish)" in html
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


def test_article_page_shows_markup_as_text(client: TestClient) -> None:
    html = client.get("/articles/lantern-festival").text
    assert "<img" not in html
    assert "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    # A javascript: source URL is not linked.
    assert 'href="javascript' not in html.lower()
    assert "Source:" not in html


def test_unknown_article_is_a_404_page(client: TestClient) -> None:
    response = client.get("/articles/%3Cb%3Enope")
    assert response.status_code == 404
    assert "&lt;b&gt;nope" in response.text
    assert "<b>" not in response.text


def test_embed_page_is_configured_by_query_and_framed_only_by_the_allowlist(
    client: TestClient,
) -> None:
    response = client.get(
        "/embed",
        params={"title": 'Ask "us" <b>', "lang": "ar", "accent": "#006400", "bogus": "x"},
    )
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {SITE}" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = response.text
    assert 'data-title="Ask &quot;us&quot; &lt;b&gt;"' in html
    assert 'data-lang="ar"' in html
    assert 'lang="ar"' in html
    assert "bogus" not in html
    # No inline script: the only script is the widget file.
    assert html.count("<script") == 1
    assert '<script src="/widget.js"' in html


def test_educators_page_has_demo_snippets_and_options(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "&lt;script src=&quot;http://testserver/widget.js&quot; async" in html
    assert "&lt;iframe src=&quot;http://testserver/embed?title=Ask+about+culture" in html
    for option in ("title", "greeting", "placeholder", "accent", "position", "lang"):
        assert f"<code>data-{option}</code>" in html
    for option in ("suggestions", "collection", "api", "target"):
        assert f"<code>data-{option}</code>" in html
    assert 'data-target="#demo"' in html
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_static_files_are_served_and_nothing_else(client: TestClient) -> None:
    widget = client.get("/widget.js")
    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in widget.text
    # The widget never parses server text as HTML.
    assert "innerHTML" not in widget.text
    assert "insertAdjacentHTML" not in widget.text
    assert client.get("/static/page.css").status_code == 200
    assert client.get("/static/__init__.py").status_code == 404
    assert client.get("/static/..%2F__init__.py").status_code == 404


def test_feedback_is_stored_in_the_question_log(client: TestClient, feedback_path: Path) -> None:
    for rating in ("up", "down"):
        response = client.post(
            "/feedback",
            json={"rating": rating, "question": "Noodles?", "passage_id": "hamhung-culture#x"},
            headers={"origin": SITE},
        )
        assert response.status_code == 201
        assert response.json() == {"status": "recorded"}
    question_log = client.app.state.cultureqa.question_log  # type: ignore[attr-defined]
    assert question_log.wait_until_ready(20) and question_log.flush(20)
    with question_log.engine.connect() as connection:
        query = select(schema.feedback).order_by(schema.feedback.c.id)
        rows = [dict(row) for row in connection.execute(query).mappings()]
    assert [row["rating"] for row in rows[-2:]] == ["up", "down"]
    assert rows[-1]["question"] == "Noodles?"
    assert rows[-1]["origin"] == SITE
    assert rows[-1]["created_at"].tzinfo is not None
    assert not feedback_path.exists()  # the old file is only read, once


@pytest.mark.parametrize(
    "payload",
    [
        {"rating": "meh", "question": "q"},
        {"rating": "up"},
        {"rating": "up", "question": ""},
        {"rating": "up", "question": "q", "extra": 1},
    ],
)
def test_bad_feedback_is_refused(client: TestClient, payload: dict[str, object]) -> None:
    response = client.post("/feedback", json=payload)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


@pytest.mark.parametrize("origin", [SITE, "http://localhost:5173", "http://localhost"])
def test_cors_preflight_from_an_allowed_origin(client: TestClient, origin: str) -> None:
    response = client.options("/ask", headers={"origin": origin, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://moodle.example.edu.evil.example",
        "http://moodle.example.edu",
        "http://127.0.0.1:8000",
        "null",
    ],
)
def test_cors_preflight_from_another_origin_is_not_allowed(client: TestClient, origin: str) -> None:
    response = client.options("/ask", headers={"origin": origin, **PREFLIGHT})
    assert "access-control-allow-origin" not in response.headers
    simple = client.post("/ask", json={"question": "Hamhung"}, headers={"origin": origin})
    assert "access-control-allow-origin" not in simple.headers


def test_history_is_accepted_and_checked(client: TestClient) -> None:
    history = [{"question": "What is Hamhung known for?", "article_id": "hamhung-culture"}]
    body = client.post(
        "/ask", json={"question": "And what do people eat there?", "history": history}
    ).json()
    assert body["passages"][0]["citation"]["article_id"] == "hamhung-culture"
    too_long = client.post("/ask", json={"question": "q", "history": history * 11})
    assert too_long.status_code == 422
    wrong = client.post("/ask", json={"question": "q", "history": [{"text": "x"}]})
    assert wrong.status_code == 422


def test_origin_pattern() -> None:
    pattern = origin_pattern(["http://localhost:*", "https://a.example"])
    assert pattern == r"^(http://localhost(:\d+)?|https://a\.example)$"
    assert origin_pattern([]) == "^$"
