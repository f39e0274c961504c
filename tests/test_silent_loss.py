"""Issue 13's three ways articles silently disappeared from answers, each replayed through the
real `cultureqa` command and a real server: every article is still answered from."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cultureqa.testing import running_server
from tests.helpers import REPO, SHARED, cultureqa, require_shared

pytestmark = pytest.mark.slow

ADMIN_KEY = "k" * 32
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PROFILES = ("south-america/uy.json", "south-america/pa.json")  # Uruguay, Paraguay


def ask(url: str, question: str, collection: str | None = None) -> dict[str, Any]:
    body = {"question": question, "top_k": 3} | ({"collection": collection} if collection else {})
    response = httpx.post(f"{url}/ask", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_serve_from_the_repository_keeps_a_default_collection_ingested_from_elsewhere(
    tmp_path: Path,
) -> None:
    factbook = tmp_path / "factbook"
    factbook.mkdir()
    for profile in PROFILES:
        shutil.copy(require_shared(SHARED / "data" / "factbook" / profile), factbook)
    index = tmp_path / "index"
    done = cultureqa("ingest", str(factbook), "--format", "factbook", "--index-dir", str(index))
    assert done.returncode == 0, done.stderr
    built = json.loads(cultureqa("collections", "--json", "--index-dir", str(index)).stdout)[0]
    # From the repository, where ./corpus holds the seed article, as the user did.
    with running_server(["--index-dir", str(index)], tmp_path / "serve.log", cwd=REPO) as up:
        ready = httpx.get(f"{up.url}/ready", timeout=10).json()
        assert (ready["index_version"], ready["passages"]) == (built["version"], built["passages"])
        cited = ask(up.url, "What languages are spoken in Paraguay?")["passages"][0]["citation"]
        assert cited["article_id"] == "pa"
    assert "built from" in up.log() and "serving it as it is" in up.log()


def wait_for(url: str, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(600):
        job = httpx.get(f"{url}/admin/jobs/{job['id']}", headers=ADMIN, timeout=10).json()
        if job["state"] in {"succeeded", "failed"}:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['state']}")


def test_an_upload_and_re_index_keep_the_articles_ingested_from_the_command_line(
    tmp_path: Path,
) -> None:
    mine = tmp_path / "my-articles"
    mine.mkdir()
    (mine / "montevideo.md").write_text(
        "# Montevideo\n\n## Music\n\nCandombe drums fill the streets of Montevideo.\n"
    )
    index, uploads = tmp_path / "index", tmp_path / "collections"
    env = {
        "CULTUREQA_COLLECTIONS_DIR": str(uploads),
        "CULTUREQA_ADMIN_KEYS": json.dumps([ADMIN_KEY]),
        "CULTUREQA_FEEDBACK_PATH": str(tmp_path / "feedback.jsonl"),
    }
    done = cultureqa(
        "ingest", str(mine), "--collection", "geo-201", "--index-dir", str(index), env=env
    )
    assert done.returncode == 0, done.stderr
    # Outside the repository, without a corpus: it serves what it has.
    args = ["--index-dir", str(index)]
    with running_server(args, tmp_path / "serve.log", cwd=tmp_path, env=env) as up:
        ready = httpx.get(f"{up.url}/ready", timeout=10).json()
        assert ready["status"] == "ready"
        assert "the default collection cannot answer: no index in" in ready["reason"]
        assert [c["version"] is not None for c in ready["collections"]] == [False, True]
        listed = httpx.get(
            f"{up.url}/admin/collections/geo-201/articles", headers=ADMIN, timeout=10
        ).json()
        assert (listed["files"], listed["other_sources"]) == ([], ["my-articles"])
        lima = b"# Lima\n\n## Food\n\nCeviche is the dish of Lima, raw fish in lime juice.\n"
        put = httpx.put(
            f"{up.url}/admin/collections/geo-201/articles/lima.md",
            content=lima,
            headers=ADMIN,
            timeout=30,
        )
        assert put.status_code == 201, put.text
        job = httpx.post(
            f"{up.url}/admin/collections/geo-201/reindex", headers=ADMIN, timeout=30
        ).json()
        assert wait_for(up.url, job)["state"] == "succeeded"
        time.sleep(2)  # the server picks the new version up within its reload interval
        drums = ask(up.url, "Which drums fill the streets?", "geo-201")["passages"][0]
        dish = ask(up.url, "What is the dish of Lima?", "geo-201")["passages"][0]
        assert drums["citation"]["article_id"] == "montevideo"
        assert dish["citation"]["article_id"] == "lima"
    assert "Traceback" not in up.log()
