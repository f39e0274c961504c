"""GET /admin/insights through the real app: the login form (HttpOnly, SameSite=Strict session
cookie, CSRF on its forms) or a Bearer admin key; per-day counts and SVG charts, content gaps,
most-cited passages, the thumbs-down list with the passage shown; the CSV and JSON export. On
SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import URL

from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings
from tests.conftest import AppClient
from tests.helpers import CORPUS, WIDGET_CORPUS, FakeEmbedder, settings_for

KEY = "a" * 32
BEARER = {"Authorization": f"Bearer {KEY}"}
ANSWERABLE = ["What do people eat in Kyoto?", "Which festivals does Kyoto hold?"]
UNANSWERABLE = [
    "How tall is the Eiffel tower in Paris?",
    "How tall is the Eiffel tower?",
    "What is the capital of Peru?",
]


def app_settings(tmp_path: Path, **extra: object) -> Settings:
    settings = settings_for(tmp_path, rate_limit_per_minute=0, admin_keys=[KEY], **extra)
    settings.corpus_dir.mkdir(parents=True)
    for article in (CORPUS / "hamhung-culture.md", WIDGET_CORPUS / "kyoto-culture.md"):
        shutil.copy(article, settings.corpus_dir)
    ingest([settings.corpus_dir], settings.index_dir / "default", FakeEmbedder())
    return settings


def ask_all(client: TestClient) -> list[dict[str, Any]]:
    answers = [client.post("/ask", json={"question": q}).json() for q in ANSWERABLE + UNANSWERABLE]
    for answer in answers:
        if answer["question"] in UNANSWERABLE[:2] or answer["question"] == ANSWERABLE[0]:
            verdict = {"rating": "down", "question": answer["question"], "ask_id": answer["ask_id"]}
            verdict["passage_id"] = answer["passages"][0]["id"]
            assert client.post("/feedback", json=verdict).status_code == 201
    question_log = client.app.state.cultureqa.question_log  # type: ignore[attr-defined]
    assert question_log.wait_until_ready(20) and question_log.flush(20)
    return answers


@pytest.fixture
def client(tmp_path: Path, database_url: URL, app_client: AppClient) -> TestClient:
    url = database_url.render_as_string(hide_password=False)
    return app_client(app_settings(tmp_path, database_url=url))


def test_the_page_with_a_bearer_key(client: TestClient) -> None:
    answers = ask_all(client)
    unanswered = sum(1 for a in answers if a["answer"] is None)

    page = client.get("/admin/insights", headers=BEARER)

    assert page.status_code == 200, page.text
    text = page.text
    assert f'<strong id="asks">{len(answers)}</strong>' in text
    assert f'<strong id="unanswered">{unanswered}</strong>' in text
    assert text.count("<svg") == 2 and 'class="bar"' in text
    assert text.count('class="thumbs-down"') == 3
    assert "<script" not in text
    assert "nonce-" in page.headers["content-security-policy"]
    shown = answers[0]["passages"][0]["id"]
    assert shown in text  # the passage shown with the thumbs down, and its text
    assert "<blockquote>" in text


def test_content_gaps_group_questions_by_meaning(client: TestClient) -> None:
    ask_all(client)

    found = client.get("/admin/insights/export?format=json", headers=BEARER).json()

    gaps = found["gaps"]
    assert sum(gap["size"] for gap in gaps) == found["unanswered"] + 3
    eiffel = [gap for gap in gaps if any("Eiffel" in e for e in gap["examples"])]
    assert len(eiffel) == 1 and eiffel[0]["size"] >= 2  # the two Eiffel questions, together
    assert all(len(gap["examples"]) <= 3 for gap in gaps)


def test_the_exports_agree(client: TestClient) -> None:
    answers = ask_all(client)

    as_json = client.get("/admin/insights/export?format=json&since=7d", headers=BEARER)
    as_csv = client.get("/admin/insights/export?format=csv&since=7d", headers=BEARER)

    assert as_json.status_code == as_csv.status_code == 200
    data = as_json.json()
    assert data["asks"] == len(answers) and len(data["days"]) == 7
    assert data["unanswered"] == sum(1 for a in answers if a["answer"] is None)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    summary = next(row for row in rows if row["table"] == "summary")
    assert (int(summary["count"]), int(summary["unanswered"])) == (data["asks"], data["unanswered"])
    assert sum(1 for row in rows if row["table"] == "thumbs_down") == 3
    assert sum(int(row["count"]) for row in rows if row["table"] == "day") == data["asks"]
    cited = {row["key"]: int(row["count"]) for row in rows if row["table"] == "article"}
    assert cited == {item["id"]: item["count"] for item in data["articles"]}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_login_form_sets_a_strict_session_cookie(client: TestClient) -> None:
    anonymous = client.get("/admin/insights")
    assert anonymous.status_code == 401
    assert '<input type="password" name="key"' in anonymous.text
    token = csrf_of(anonymous.text)

    forged = client.post(
        "/admin/insights/login", data={"key": KEY, "csrf": "x" * 20}, follow_redirects=False
    )
    wrong = client.post(
        "/admin/insights/login", data={"key": "b" * 32, "csrf": token}, follow_redirects=False
    )
    assert forged.status_code == 403 and wrong.status_code == 403
    token = csrf_of(wrong.text)
    signed_in = client.post(
        "/admin/insights/login", data={"key": KEY, "csrf": token}, follow_redirects=False
    )

    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert "cultureqa_admin=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/admin/insights")
    assert page.status_code == 200 and "<svg" in page.text
    assert client.get("/admin/insights/export?format=csv").status_code == 200
    # Signing out needs the page's CSRF token.
    refused = client.post("/admin/insights/logout", data={"csrf": "nope"}, follow_redirects=False)
    assert refused.status_code == 403
    out = client.post(
        "/admin/insights/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert client.get("/admin/insights").status_code == 401


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer " + "z" * 32}, 403),
        ({"Cookie": "cultureqa_admin=1.2.3"}, 401),
    ],
)
def test_the_export_needs_an_admin(
    headers: dict[str, str], status: int, tmp_path: Path, app_client: AppClient
) -> None:
    client = app_client(app_settings(tmp_path))

    assert client.get("/admin/insights/export", headers=headers).status_code == status


@pytest.mark.parametrize(
    "query", ["since=yesterday", "since=2026-12-01&until=2026-11-01", "collection=../x"]
)
def test_bad_ranges_and_names_are_refused(
    query: str, tmp_path: Path, app_client: AppClient
) -> None:
    client = app_client(app_settings(tmp_path))

    refused = client.get(f"/admin/insights/export?{query}", headers=BEARER)

    assert refused.status_code == 422, refused.text


@pytest.mark.parametrize(
    ("peer", "forwarded_proto", "secure"),
    [
        ("10.0.0.5", "https", True),  # the trusted proxy ended TLS
        ("10.0.0.5", "http", False),
        ("10.0.0.5", None, False),
        ("192.0.2.9", "https", False),  # anyone else's header says nothing
    ],
)
def test_the_session_cookie_is_secure_behind_a_tls_proxy(
    tmp_path: Path,
    database_url: URL,
    app_client: AppClient,
    peer: str,
    forwarded_proto: str | None,
    secure: bool,
) -> None:
    url = database_url.render_as_string(hide_password=False)
    settings = app_settings(tmp_path, database_url=url, trusted_proxies=["10.0.0.0/8"])
    client = app_client(settings, client=(peer, 50000))
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    token = csrf_of(client.get("/admin/insights", headers=headers).text)

    signed_in = client.post(
        "/admin/insights/login",
        data={"key": KEY, "csrf": token},
        headers=headers,
        follow_redirects=False,
    )

    assert signed_in.status_code == 303
    assert ("; secure" in signed_in.headers["set-cookie"].lower()) is secure
