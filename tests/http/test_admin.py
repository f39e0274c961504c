"""The admin API: keys, uploads that cannot escape their directory, background re-index jobs."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cultureqa.http.app import create_app
from cultureqa.index.store import VERSIONS_DIR, current_version, load_index
from cultureqa.settings import Settings
from tests.conftest import AppClient
from tests.helpers import REPO, FakeEmbedder, publish, write_articles

KEY = "k" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
ARTICLE = b"---\nid: lima\n---\n# Lima\n\nCeviche is raw fish cured in lime juice.\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "indexes",
        collections_dir=tmp_path / "collections",
        reload_interval=0.05,
        admin_keys=[KEY, "second-key-" + "x" * 20],
    )


@pytest.fixture
def client(settings: Settings, app_client: AppClient) -> TestClient:
    publish(settings, FakeEmbedder(), "one")
    return app_client(settings)


def wait_for_job(client: TestClient, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/admin/jobs/{job['id']}", headers=AUTH).json()
    return job


ADMIN_CALLS = [
    ("GET", "/admin/collections"),
    ("GET", "/admin/collections/course/articles"),
    ("PUT", "/admin/collections/course/articles/lima.md"),
    ("DELETE", "/admin/collections/course/articles/lima.md"),
    ("POST", "/admin/collections/course/reindex"),
    ("GET", "/admin/jobs/job-1"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Bearer wrong-key-wrong-key-wrong-key"}, 403),
        ({"Authorization": f"Bearer {KEY[:-1]}"}, 403),
    ],
)
def test_admin_refuses_missing_and_wrong_keys(
    client: TestClient,
    settings: Settings,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
) -> None:
    response = client.request(method, path, headers=headers, content=ARTICLE)
    assert response.status_code == status
    assert response.json()["error"]["code"] == {401: "unauthorized", 403: "forbidden"}[status]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert not (settings.collections_dir / "course").exists()


def test_admin_is_off_without_keys(tmp_path: Path, app_client: AppClient) -> None:
    settings = Settings(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i")
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    response = client.get("/admin/collections", headers=AUTH)
    assert response.status_code == 403
    assert "no admin keys are configured" in response.json()["error"]["message"]


def test_short_admin_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 24 characters"):
        Settings(admin_keys=["short"])


def test_upload_reindex_ask_delete(client: TestClient, settings: Settings) -> None:
    assert client.post("/ask", json={"question": "ceviche", "collection": "course"}).json()[
        "error"
    ] == {
        "code": "unknown_collection",
        "message": "unknown collection 'course'; known collections: default",
    }
    stored = client.put("/admin/collections/course/articles/lima.md", content=ARTICLE, headers=AUTH)
    assert stored.status_code == 201
    assert stored.json() == {
        "collection": "course",
        "file": "lima.md",
        "bytes": len(ARTICLE),
        "articles": 1,
    }
    assert (settings.collections_dir / "course" / "lima.md").read_bytes() == ARTICLE
    listed = client.get("/admin/collections/course/articles", headers=AUTH).json()
    assert listed == {"collection": "course", "files": ["lima.md"], "other_sources": []}

    started = client.post("/admin/collections/course/reindex", headers=AUTH)
    assert started.status_code == 202
    job = wait_for_job(client, started.json())
    assert job["state"] == "succeeded", job
    assert (job["embedded"], job["to_embed"]) == (1, 1)
    assert "Indexed 1 articles as 1 passages" in job["summary"]

    answer = client.post("/ask", json={"question": "ceviche lime", "collection": "course"})
    assert answer.status_code == 200
    assert answer.json()["collection"] == "course"
    assert answer.json()["passages"][0]["citation"]["article_id"] == "lima"
    names = [c["name"] for c in client.get("/admin/collections", headers=AUTH).json()]
    assert names == ["course", "default"]

    assert (
        client.delete("/admin/collections/course/articles/lima.md", headers=AUTH).status_code == 204
    )
    assert (
        client.delete("/admin/collections/course/articles/lima.md", headers=AUTH).status_code == 404
    )
    failed = wait_for_job(
        client, client.post("/admin/collections/course/reindex", headers=AUTH).json()
    )
    assert failed["state"] == "failed"
    assert "no passages found" in failed["error"]
    # A failed build publishes nothing: the last good version keeps answering.
    again = client.post("/ask", json={"question": "ceviche", "collection": "course"})
    assert again.json()["passages"][0]["citation"]["article_id"] == "lima"


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "..%2F..%2Fescape.md",
        "%2E%2E%2Fescape.md",
        "..%5Cescape.md",
        "escape.md%00.txt",
        ".hidden.md",
        "%2Fetc%2Fpasswd.md",
        "sub%2Fdir.md",
        "notes.exe",
    ],
)
def test_upload_paths_cannot_escape(client: TestClient, settings: Settings, name: str) -> None:
    response = client.put(
        f"/admin/collections/course/articles/{name}", content=ARTICLE, headers=AUTH
    )
    assert 400 <= response.status_code < 500
    assert response.status_code != 201
    everything = [p for p in settings.collections_dir.parent.rglob("*") if p.is_file()]
    assert not any(p.name.endswith(("escape.md", "passwd.md", "dir.md")) for p in everything)
    assert not (settings.collections_dir / "course").exists()


@pytest.mark.parametrize("collection", ["..", "UPPER", "a b", "x" * 65])
def test_bad_collection_names(client: TestClient, collection: str) -> None:
    response = client.put(
        f"/admin/collections/{collection}/articles/a.md", content=ARTICLE, headers=AUTH
    )
    assert response.status_code in (404, 422)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\x00\x01", "binary file"),
        (b"---\n: [\n---\nx\n", "front matter is not valid YAML"),
    ],
)
def test_bad_uploads_are_refused(client: TestClient, content: bytes, message: str) -> None:
    response = client.put("/admin/collections/course/articles/a.md", content=content, headers=AUTH)
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_upload_size_limit(tmp_path: Path, app_client: AppClient) -> None:
    settings = Settings(
        corpus_dir=tmp_path / "c",
        index_dir=tmp_path / "i",
        collections_dir=tmp_path / "cols",
        admin_keys=[KEY],
        max_upload_bytes=100,
    )
    publish(settings, FakeEmbedder(), "one")
    client = app_client(settings)
    big = b"# Big\n\n" + b"word " * 100
    response = client.put("/admin/collections/c/articles/big.md", content=big, headers=AUTH)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (
            b'{"data": [{"title": "Lima", "paragraphs": [{"context": "Ceviche is raw fish."}]}]}',
            201,
        ),
        (b'{"not": "an article"}', 422),
        (b"{broken", 422),
    ],
)
def test_json_articles_are_parsed_by_their_content(
    client: TestClient, content: bytes, status: int
) -> None:
    # .json is a SQuAD file or a Factbook profile: the content says which (as the CLI reads it).
    response = client.put(
        "/admin/collections/course/articles/lima.json", content=content, headers=AUTH
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"


def test_an_upload_is_parsed_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release, order = threading.Event(), threading.Event(), []

    def slow_store(*args: object) -> int:  # parsing a large page
        started.set()
        release.wait(timeout=10)
        order.append("stored")
        return 1

    monkeypatch.setattr("cultureqa.http.admin.store_article", slow_store)
    path = "/admin/collections/course/articles/big.md"
    upload = threading.Thread(target=lambda: client.put(path, content=ARTICLE, headers=AUTH))
    upload.start()
    assert started.wait(timeout=10)
    # Were the parse on the event loop, /health would wait for it (10 s), and come second.
    assert client.get("/health").status_code == 200
    order.append("health")
    release.set()
    upload.join(timeout=10)
    assert order == ["health", "stored"]


KILLED_REINDEX = """
import sys, time
from pathlib import Path
from fastapi.testclient import TestClient
from cultureqa.http.app import create_app
from cultureqa.settings import Settings
from tests.helpers import FakeEmbedder

class Slow(FakeEmbedder):
    def embed(self, texts, *, batch_size=64, progress=False):
        time.sleep(0.01 * len(texts))
        return super().embed(texts)

root = Path(sys.argv[1])
settings = Settings(
    corpus_dir=root / "corpus", index_dir=root / "indexes", collections_dir=root / "collections",
    admin_keys=["k" * 32], reload_interval=0.05, feedback_path=root / "feedback.jsonl",
)
with TestClient(create_app(settings, embedder=Slow())) as client:
    auth = {"Authorization": "Bearer " + "k" * 32}
    job = client.post("/admin/collections/course/reindex", headers=auth)
    assert job.status_code == 202, job.text
    print("started", flush=True)  # the parent's clock starts here
    time.sleep(60)
"""


@pytest.mark.slow
def test_an_admin_re_index_killed_at_random_moments_leaves_a_whole_version(
    tmp_path: Path,
) -> None:
    fake = FakeEmbedder()
    articles, index_dir = tmp_path / "collections" / "course", tmp_path / "indexes" / "course"
    rng = random.Random(20261202)  # noqa: S311 - reproducible moments, not security
    published, killed_mid_build = set(), 0
    for run in range(20):
        write_articles(articles, f"run-{run}", count=60)
        start = current_version(index_dir)
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_REINDEX, str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.0, 3.0))  # embedding 120 passages sleeps 1.2 s, and more
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        after = current_version(index_dir)
        killed_mid_build += after == start  # nothing published: killed during the build
        if after is None:
            continue  # killed before the collection's first version was published
        loaded = load_index(index_dir, model=fake.name, dimension=fake.dimension)
        published.add(loaded.manifest.version)
        salts = {p.text.rsplit("version ", 1)[-1] for p in loaded.passages}
        assert len(salts) == 1  # a whole version of one build, never a mix
    assert published  # some builds got through
    assert killed_mid_build >= 5
    # A server started afterwards serves the last whole version and clears what was left.
    settings = Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "indexes",
        collections_dir=tmp_path / "collections",
        admin_keys=[KEY],
        feedback_path=tmp_path / "feedback.jsonl",
    )
    with TestClient(create_app(settings, embedder=fake)) as client:
        job = wait_for_job(
            client, client.post("/admin/collections/course/reindex", headers=AUTH).json()
        )
        assert job["state"] == "succeeded", job
        answer = client.post("/ask", json={"question": "food", "collection": "course"})
        assert answer.status_code == 200
    leftovers = [p.name for p in (index_dir / VERSIONS_DIR).iterdir() if p.name.startswith(".")]
    assert leftovers == []
