"""Live reload and its faults: new versions are picked up, broken or partial ones never served."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cultureqa.embedding.base import Embedder
from cultureqa.index.store import VECTORS_FILE, VERSIONS_DIR, current_version, load_index
from cultureqa.search.library import Library
from tests.conftest import AppClient
from tests.helpers import REPO, FakeEmbedder, publish, settings_for, write_articles


def test_new_version_is_picked_up_and_broken_ones_refused(tmp_path: Path) -> None:
    settings, fake = settings_for(tmp_path), FakeEmbedder()
    first = publish(settings, fake, "one")
    library = Library(settings, fake)
    library.refresh()
    assert library.answerer().index.manifest.version == first

    for damage in (b"garbage", None):  # garbage, then a truncated file
        broken = publish(settings, fake, f"broken-{damage!r}")
        vectors = settings.index_dir / "default" / VERSIONS_DIR / broken / VECTORS_FILE
        vectors.write_bytes(damage or vectors.read_bytes()[:100])
        library.refresh()
        assert library.answerer().index.manifest.version == first  # still the last good one
        [status] = library.status()
        assert status.version == first
        assert status.problem is not None
        assert f"version {broken} refused" in status.problem
        assert VECTORS_FILE in status.problem
        assert f"still serving version {first}" in status.problem

    good = publish(settings, fake, "three")
    library.refresh()
    assert library.answerer().index.manifest.version == good
    assert library.status()[0].problem is None


def test_ready_reports_a_refused_version(tmp_path: Path, app_client: AppClient) -> None:
    # No reloading in the background (an hour between looks): the background thread could
    # otherwise load version "two" in the moment between its publication and its damage.
    # GET /admin/collections makes the server look now.
    admin = {"Authorization": "Bearer " + "k" * 32}
    quick = settings_for(tmp_path, admin_keys=["k" * 32])
    settings = quick.model_copy(update={"reload_interval": 3600.0})
    fake = FakeEmbedder()
    first = publish(settings, fake, "one")
    client = app_client(settings, embedder=fake)
    broken = publish(settings, fake, "two")
    path = settings.index_dir / "default" / VERSIONS_DIR / broken / VECTORS_FILE
    path.write_bytes(b"garbage")
    assert client.get("/admin/collections", headers=admin).status_code == 200
    ready = client.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["index_version"] == first
    assert "refused" in ready["collections"][0]["problem"]
    assert client.post("/ask", json={"question": "food"}).status_code == 200


KILLED_INGEST = """
import sys, time
from pathlib import Path
from cultureqa.index.ingest import ingest
from tests.helpers import FakeEmbedder

class Slow(FakeEmbedder):
    def embed(self, texts, *, batch_size=64, progress=False):
        time.sleep(0.01 * len(texts))
        return super().embed(texts)

print("imported", flush=True)  # the parent's clock starts here, not at interpreter start-up
ingest([Path(sys.argv[1])], Path(sys.argv[2]), Slow())
"""


def test_ingest_killed_at_random_moments_never_breaks_the_index(tmp_path: Path) -> None:
    settings, fake = settings_for(tmp_path), FakeEmbedder()
    index_dir = settings.index_dir / "default"
    published = {publish(settings, fake, "start")}
    rng = random.Random(20261129)  # noqa: S311 - reproducible moments, not security
    killed_mid_build = 0
    for run in range(20):
        write_articles(settings.corpus_dir, f"run-{run}", count=60)
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_INGEST, str(settings.corpus_dir), str(index_dir)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "imported"
        # Embedding 120 passages sleeps 1.2 s: most moments fall inside the build, some
        # late ones land while the new version is written and published.
        time.sleep(rng.uniform(0.0, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        if process.returncode == -signal.SIGKILL:
            killed_mid_build += 1
        version = current_version(index_dir)
        assert version is not None
        # Whatever CURRENT names is whole: checksums and counts verified on load.
        loaded = load_index(index_dir, model=fake.name, dimension=fake.dimension)
        published.add(loaded.manifest.version)
        salts = {p.text.rsplit("version ", 1)[-1] for p in loaded.passages}
        assert len(salts) == 1  # never a mix of two builds
        library = Library(settings, fake)
        library.refresh()
        assert library.answerer().ask("food", 3).passages
    assert killed_mid_build >= 10  # most kills landed while the build was running
    # The next build is not blocked by a dead writer and clears what the dead ones left.
    final = publish(settings, fake, "final")
    leftovers = [p.name for p in (index_dir / VERSIONS_DIR).iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert current_version(index_dir) == final


@pytest.mark.slow
def test_eight_threads_asking_during_ten_reindexes(tmp_path: Path, real_embedder: Embedder) -> None:
    settings = settings_for(tmp_path)
    published = [publish(settings, real_embedder, "v0")]
    library = Library(settings, real_embedder)
    library.start()
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def ask_forever() -> None:
        while not stop.is_set():
            try:
                result = library.answerer().ask("What is the city known for?", 3)
                salts = {p.text.rsplit("version ", 1)[-1] for p in result.passages}
                assert len(salts) == 1, salts  # one version's passages, never a mix
                seen.add(result.index_version)
            except BaseException as exc:  # every failure counts, assertion or not
                errors.append(exc)

    threads = [threading.Thread(target=ask_forever) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for n in range(1, 11):
            published.append(publish(settings, real_embedder, f"v{n}"))
            time.sleep(0.1)
    finally:
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join()
        library.stop()
    assert errors == []
    assert seen <= set(published)
    assert len(seen) >= 3  # the askers really saw the versions change under them
