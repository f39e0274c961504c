"""The LTI tests' fixtures: the platform emulator, and an app (fake embedder, fast) with three
collections (two courses' and the default), on SQLite and on PostgreSQL, the emulator
registered through the admin API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import URL

from cultureqa.http.app import create_app
from cultureqa.http.state import AppState
from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings
from tests.helpers import FakeEmbedder, settings_for
from tests.lti.platform import Emulator, running_platform
from tests.store.conftest import (  # noqa: F401 - fixtures, found by name
    backend,
    database_url,
    empty_engine,
    engine,
    postgres_admin,
    postgres_admin_url,
)

ADMIN_KEY = "lti-admin-key-0123456789abcdef"
TOOL = "https://testserver"
ARTICLES = {
    "history-101": "# The Hanseatic League\n\nThe Hanseatic League traded along the Baltic Sea "
    "from Lübeck.\n\n## Decline\n\nThe league declined in the seventeenth century.\n",
    "geo-201": "# Kilimanjaro\n\nMount Kilimanjaro is the highest mountain in Africa, in "
    "Tanzania.\n\n## Glaciers\n\nIts glaciers are shrinking fast.\n",
    "default": "# Hamhung\n\nHamhung is known for cold noodles.\n",
}


@pytest.fixture
def platform() -> Iterator[Emulator]:
    with running_platform() as emulator:
        emulator.tool_url = TOOL
        yield emulator


def lti_settings(tmp_path: Path, database: URL | str) -> Settings:
    settings = settings_for(
        tmp_path,
        admin_keys=[ADMIN_KEY],
        database_url=database.render_as_string(hide_password=False)
        if isinstance(database, URL)
        else database,
    )
    embedder = FakeEmbedder()
    for name, text in ARTICLES.items():
        corpus = tmp_path / "articles" / name
        corpus.mkdir(parents=True)
        (corpus / f"{name}.md").write_text(text, encoding="utf-8")
        ingest([corpus], settings.index_dir / name, embedder)
    return settings


@pytest.fixture
def client(
    tmp_path: Path,
    database_url: URL,  # noqa: F811 - the fixture imported above
    platform: Emulator,
) -> Iterator[TestClient]:
    """The app over https://testserver (the state cookie is Secure), the emulator registered."""
    app = create_app(lti_settings(tmp_path, database_url), embedder=FakeEmbedder())
    with TestClient(app, base_url=TOOL) as test_client:
        answer = test_client.post(
            "/admin/lti/platforms",
            json=platform.registration(),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert answer.status_code == 201, answer.text
        yield test_client


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app.state.cultureqa  # type: ignore[attr-defined]
    return state


@dataclass
class Lms:
    """Drives the tool as the platform and the browser would, one step at a time."""

    client: TestClient
    platform: Emulator

    def login(
        self,
        *,
        user: str = "learner-1",
        course: str = "course-history",
        role: str = "learner",
        deep_linking: bool = False,
    ) -> tuple[str, str]:
        """The third-party initiated login (GET): the state and nonce the tool sent on."""
        query = self.platform.login_query(
            user=user, course=course, role=role, deep_linking=deep_linking
        )
        answer = self.client.get(f"/lti/login?{query}", follow_redirects=False)
        assert answer.status_code == 302, answer.text
        sent = parse_qs(urlsplit(answer.headers["location"]).query)
        return sent["state"][0], sent["nonce"][0]

    def launch(self, id_token: str, state: str) -> httpx2.Response:
        return self.client.post("/lti/launch", data={"id_token": id_token, "state": state})

    def launch_as(
        self,
        *,
        user: str = "learner-1",
        course: str = "course-history",
        role: str = "learner",
        deep_linking: bool = False,
    ) -> httpx2.Response:
        """The whole dance, signed by the platform's current key."""
        state, nonce = self.login(user=user, course=course, role=role, deep_linking=deep_linking)
        claims = self.platform.launch_claims(
            nonce, user=user, course=course, role=role, deep_linking=deep_linking
        )
        return self.launch(self.platform.sign(claims), state)

    def place(self, course: str, collection: str, **options: str) -> httpx2.Response:
        """An instructor adds the chat to the course, choosing the collection."""
        picker = self.launch_as(
            user="teacher-1", course=course, role="instructor", deep_linking=True
        )
        assert picker.status_code == 200, picker.text
        return self.client.post(
            "/lti/deep-link",
            data={"session": hidden(picker.text, "session"), "collection": collection, **options},
        )


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no hidden field {name} in the page"
    return found.group(1)


def session_token(page: str) -> str:
    found = re.search(r'data-token="([^"]+)"', page)
    assert found, "no session token in the page"
    return found.group(1)


@pytest.fixture
def lms(client: TestClient, platform: Emulator) -> Lms:
    return Lms(client, platform)
