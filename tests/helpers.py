"""What the tests share besides fixtures: paths, the fake embedder, small corpora, the CLI."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from cultureqa.embedding.base import Embedder, Vectors
from cultureqa.index.ingest import ingest
from cultureqa.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
SEED_TXT = SHARED / "seed" / "hamhung-culture.txt"
SEED_DEV = SHARED / "eval" / "seed-dev.jsonl"

# The top-level keys of POST /ask's JSON (and of `cultureqa ask --json`): the API's contract,
# written out so that dropping or renaming one fails a test.
ASK_RESPONSE_KEYS = {
    "question",
    "collection",
    "passages",
    "index_version",
    "model",
    "took_ms",
    "answer",
    "confidence",
    "no_answer_reason",
    "no_answer_code",
    "conversation_id",
    "ask_id",
}


def require_shared(path: Path) -> Path:
    """../shared is beside every checkout here and in CI; say so plainly when it is not."""
    if not path.exists():
        pytest.fail(f"{path} is missing: tests read ../shared beside the repository")
    return path


# Key mode's keys in the `scoped` fixture (conftest.py): one for the collection 'course' only,
# one for every collection.
COURSE_KEY, OPEN_KEY = "c" * 32, "o" * 32


class FakeClock:
    """A clock that moves when the test says: `clock.now += 61`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeEmbedder:
    """Bag-of-words vectors from hashed words: similar wording, similar vector. No model."""

    name = "fake-bag-of-words"
    dimension = 64
    max_tokens = 40

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> Vectors:
        return self._vectors(texts)

    def embed_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[Vectors, Vectors]:
        """The texts through embed() (which subclasses count), and each span's words alone."""
        pieces = [text[a:b] for text, own in zip(texts, spans, strict=True) for a, b in own]
        return self.embed(texts, batch_size=batch_size), self._vectors(pieces)

    def _vectors(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension  # noqa: S324
                out[row, bucket] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


WIDGET_CORPUS = REPO / "tests" / "data" / "widget-corpus"


def write_articles(corpus: Path, salt: str, count: int = 3) -> None:
    """`count` small Markdown articles whose text carries `salt` (a new salt, a new version)."""
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (corpus / f"city{i}.md").write_text(
            f"# City {i}\n\nCity {i} is known for food, version {salt}.\n\n"
            f"## Music\n\nCity {i} sings songs, version {salt}.\n",
            encoding="utf-8",
        )


def settings_for(tmp_path: Path, **extra: object) -> Settings:
    """Settings with every directory under `tmp_path` and a quick reload. The feedback file is
    there too, and so the question log's default database (cultureqa.db beside it)."""
    fields: dict[str, object] = {
        "corpus_dir": tmp_path / "corpus",
        "index_dir": tmp_path / "indexes",
        "reload_interval": 0.02,
        "feedback_path": tmp_path / "feedback.jsonl",
        **extra,
    }
    return Settings(**fields)  # type: ignore[arg-type]


def keep_data_in(settings: Settings, directory: Path) -> Settings:
    """The settings with the files a server writes (the feedback file, the question log's
    default database beside it) moved into `directory` when they are at their defaults, so
    that no test writes cultureqa.db into the working directory."""
    if settings.database_url is not None or settings.feedback_path.is_absolute():
        return settings
    return settings.model_copy(update={"feedback_path": directory / "feedback.jsonl"})


def publish(settings: Settings, embedder: Embedder, salt: str) -> str:
    """Write the small corpus with `salt` and publish it as the default collection."""
    write_articles(settings.corpus_dir, salt)
    return ingest([settings.corpus_dir], settings.index_dir / "default", embedder).manifest.version


def cultureqa(
    *args: str, cwd: Path = REPO, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `cultureqa` command of this Python, run to completion (at most 300 s), with `env`
    on top of this process's environment."""
    script = Path(sys.executable).parent / "cultureqa"
    return subprocess.run(
        [str(script), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
