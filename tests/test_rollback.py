"""`cultureqa collections` and `cultureqa rollback`, run as a user runs them, against a real
server that switches to the version rolled back to without a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.index.ingest import ingest
from cultureqa.testing import running_server
from tests.helpers import cultureqa, write_articles

pytestmark = pytest.mark.slow


def served_version(url: str) -> str:
    return str(httpx.get(f"{url}/ready", timeout=10).json()["index_version"])


def test_rollback_serves_the_version_before_and_the_server_switches(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus, indexes = tmp_path / "corpus", tmp_path / "indexes"
    write_articles(corpus, "one")
    first = ingest([corpus], indexes / "default", real_embedder).manifest.version
    write_articles(corpus, "two")
    second = ingest([corpus], indexes / "default", real_embedder).manifest.version
    args = ["--index-dir", str(indexes), "--corpus-dir", str(corpus)]
    env = {"CULTUREQA_RELOAD_INTERVAL": "0.1"}
    with running_server(args, tmp_path / "server.log", env=env) as server:
        assert served_version(server.url) == second

        listed = cultureqa("collections", "--index-dir", str(indexes), "--json")
        assert listed.returncode == 0, listed.stderr
        [default] = json.loads(listed.stdout)
        assert (default["name"], default["version"], default["versions"]) == (
            "default",
            second,
            [first, second],
        )
        assert default["sources"] == [str(corpus.resolve())]
        assert (default["articles"], default["warnings"]) == (3, [])

        done = cultureqa("rollback", "default", "--index-dir", str(indexes))
        assert done.returncode == 0, done.stderr
        assert f"now serves version {first}" in done.stdout
        for _ in range(100):
            if served_version(server.url) == first:
                break
            time.sleep(0.1)
        assert served_version(server.url) == first
        answer = httpx.post(f"{server.url}/ask", json={"question": "food"}, timeout=30).json()
        assert "version one" in answer["passages"][0]["text"]

        # Forward again, by name; a version that was never kept is refused and changes nothing.
        assert cultureqa("rollback", "default", second, "--index-dir", str(indexes)).returncode == 0
        missing = cultureqa("rollback", "default", "20000101T000000-x", "--index-dir", str(indexes))
        assert missing.returncode == 1
        assert "no version '20000101T000000-x'" in missing.stderr
        assert "versions kept:" in missing.stderr


def test_rollback_without_an_older_version_says_so(tmp_path: Path, real_embedder: Embedder) -> None:
    write_articles(tmp_path / "corpus", "one")
    ingest([tmp_path / "corpus"], tmp_path / "indexes" / "default", real_embedder)
    done = cultureqa("rollback", "default", "--index-dir", str(tmp_path / "indexes"))
    assert done.returncode == 1
    assert "no version older than" in done.stderr


def test_collections_warns_of_a_source_that_is_gone(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    notes = tmp_path / "notes"
    write_articles(notes, "one")
    ingest([notes], tmp_path / "indexes" / "history", real_embedder)
    (tmp_path / "uploads" / "new-course").mkdir(parents=True)
    for path in notes.iterdir():
        path.unlink()
    notes.rmdir()
    env_args = ["--index-dir", str(tmp_path / "indexes")]
    done = cultureqa(
        "collections", *env_args, env={"CULTUREQA_COLLECTIONS_DIR": str(tmp_path / "uploads")}
    )
    assert done.returncode == 0, done.stderr
    assert f"warning: source {notes.resolve()} is gone" in done.stdout
    assert "new-course" in done.stdout and "not indexed yet" in done.stdout
