"""Running the API under uvicorn: in this process, or in N worker processes.

With workers, uvicorn starts each one fresh from an import string and calls
`create_app_from_env`; the settings reach them as CULTUREQA_* environment variables (options
given on the command line are exported first). The index is checked, and rebuilt if missing or
stale, once, here in the parent, before any worker starts.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from cultureqa.embedding.factory import load_embedder
from cultureqa.http.app import create_app
from cultureqa.http.connection import protocol_for
from cultureqa.index.collections import ensure_index
from cultureqa.runtime import configure_logging
from cultureqa.settings import Settings

APP_FACTORY = "cultureqa.http.server:create_app_from_env"


def create_app_from_env() -> FastAPI:
    """The app each worker process serves, configured from CULTUREQA_* variables."""
    configure_logging()
    return create_app(Settings())


def export_settings(overrides: dict[str, Any]) -> None:
    """Put settings given as options into the environment, where worker processes read them."""
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"CULTUREQA_{name.upper()}"] = str(value)


def serve(settings: Settings, overrides: dict[str, Any]) -> None:
    """Serve until interrupted. Our own JSON line per request replaces uvicorn's access log."""
    import uvicorn

    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 and rewrite the client
        # address before our rate limit sees it: a local client could then pick a fresh bucket
        # per request. Forwarded headers are read by access.py, from trusted proxies only.
        "proxy_headers": False,
        # httptools, with a deadline and a size cap on every request head (connection.py).
        "http": protocol_for(settings),
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings, build_missing_index=True), **common)
        return
    if settings.builder == "inline":  # else `cultureqa worker` builds it
        ensure_index(settings, load_embedder(settings), progress=True)
    export_settings({**overrides, "workers": settings.workers})
    uvicorn.run(APP_FACTORY, factory=True, workers=settings.workers, **common)
