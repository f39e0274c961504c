"""Settings come from CULTUREQA_* variables and refuse unsafe values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cultureqa.settings import Settings


def test_defaults() -> None:
    settings = Settings()
    assert settings.model == "all-MiniLM-L6-v2"
    assert (settings.corpus_dir, settings.index_dir) == (Path("corpus"), Path("embeddings"))
    assert (settings.host, settings.port, settings.default_top_k) == ("127.0.0.1", 8000, 5)


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CULTUREQA_MODEL", "/models/mine")
    monkeypatch.setenv("CULTUREQA_PORT", "9000")
    monkeypatch.setenv("CULTUREQA_INDEX_DIR", "/srv/idx")
    settings = Settings()
    assert (settings.model, settings.port, settings.index_dir) == (
        "/models/mine",
        9000,
        Path("/srv/idx"),
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"port": 70000},
        {"max_top_k": 0},
        {"default_top_k": 60},
        {"batch_size": 0},
        {"log_level": "loud"},
        {"max_question_chars": 5},
        {"cors_origins": ["*"]},
        {"cors_origins": ["https://a.example/path"]},
        {"cors_origins": ["https://*.example"]},
        {"cors_origins": ["javascript:alert(1)"]},
        {"frame_ancestors": ["https://a.example; script-src *"]},
        {"frame_ancestors": ["*"]},
        {"frame_ancestors": ["'none'", "https://a.example"]},
        {"public_url": "javascript:alert(1)"},
        {"feedback_path": "."},
    ],
)
def test_unsafe_values_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**overrides)  # type: ignore[arg-type]


def test_web_defaults_allow_the_local_demo() -> None:
    settings = Settings()
    assert settings.cors_origins == ["http://localhost:*", "http://127.0.0.1:*"]
    assert settings.frame_ancestors == ["'self'", "http://localhost:*", "http://127.0.0.1:*"]
    assert settings.feedback_path == Path("feedback.jsonl")
    assert settings.public_url is None


def test_web_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CULTUREQA_CORS_ORIGINS", "https://Moodle.example.edu/, http://localhost:*")
    monkeypatch.setenv("CULTUREQA_FRAME_ANCESTORS", "self https://canvas.example.edu")
    monkeypatch.setenv("CULTUREQA_PUBLIC_URL", "https://qa.example.edu/")
    settings = Settings()
    assert settings.cors_origins == ["https://moodle.example.edu", "http://localhost:*"]
    assert settings.frame_ancestors == ["'self'", "https://canvas.example.edu"]
    assert settings.public_url == "https://qa.example.edu"
