"""Reading grants (http/grants.py): in key mode a citation's page link opens its article's
page without a key, that article of that collection only, until it expires."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from cultureqa.http.grants import ArticleGrants
from tests.conftest import AppClient
from tests.helpers import COURSE_KEY, FakeClock, FakeEmbedder, publish, settings_for


def test_a_grant_opens_its_article_of_its_collection_until_it_expires() -> None:
    clock = FakeClock()
    grants = ArticleGrants(b"k" * 32, seconds=60, clock=clock)
    grant = grants.issue("course", "lima")

    assert grants.valid(grant, "course", "lima")
    assert not grants.valid(grant, "course", "cusco")
    assert not grants.valid(grant, "default", "lima")
    assert not ArticleGrants(b"x" * 32, clock=clock).valid(grant, "course", "lima")
    expires, mac = grant.split(".")
    assert not grants.valid(f"{int(expires) + 3600}.{mac}", "course", "lima")  # stretched
    for malformed in (None, "", "abc", "12.", ".ff", "-5.ff", "9" * 40 + ".ff"):
        assert not grants.valid(malformed, "course", "lima")
    clock.now += 61
    assert not grants.valid(grant, "course", "lima")


def test_the_grant_goes_before_the_anchor() -> None:
    grants = ArticleGrants(b"k" * 32)
    page = grants.page_with_grant("/articles/lima?collection=course#food", "course", "lima")
    path, _, anchor = page.partition("#")
    assert anchor == "food"
    query = parse_qs(urlsplit(path).query)
    assert query["collection"] == ["course"] and grants.valid(query["grant"][0], "course", "lima")
    assert "?grant=" in grants.page_with_grant("/articles/lima", "default", "lima")


def pages_of(answer: dict[str, object]) -> list[str]:
    passages = answer["passages"]
    assert isinstance(passages, list) and passages
    return [p["citation"]["page"] for p in passages]


def test_a_key_holders_citations_open_without_the_key(scoped: TestClient) -> None:
    asked = scoped.post(
        "/ask",
        json={"question": "What is City 1 known for?", "collection": "course"},
        headers={"Authorization": f"Bearer {COURSE_KEY}"},
    )
    assert asked.status_code == 200
    pages = pages_of(asked.json())
    for page in pages:
        assert "grant=" in page and "collection=course" in page
        assert scoped.get(page).status_code == 200  # a followed link: no key sent

    page = pages[0].partition("#")[0]
    grant = parse_qs(urlsplit(page).query)["grant"][0]
    article = urlsplit(page).path.rsplit("/", 1)[1]
    other = next(f"city{n}" for n in range(5) if f"city{n}" != article)
    # The grant opens its own article of its own collection, nothing else.
    assert scoped.get(f"/articles/{other}?collection=course&grant={grant}").status_code == 401
    assert scoped.get(f"/articles/{article}?grant={grant}").status_code == 401  # the default's
    assert scoped.get(f"/articles/{article}?collection=course").status_code == 401
    tampered = grant[:-1] + ("0" if grant[-1] != "0" else "1")
    assert scoped.get(f"/articles/{article}?collection=course&grant={tampered}").status_code == 401


def test_without_keys_pages_carry_no_grant(tmp_path: Path, app_client: AppClient) -> None:
    settings = settings_for(tmp_path)
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    asked = client.post("/ask", json={"question": "What is City 1 known for?"})
    assert asked.status_code == 200
    for page in pages_of(asked.json()):
        assert "grant=" not in page
        assert client.get(page).status_code == 200
