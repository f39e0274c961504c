"""The OpenAPI page (/docs), with Swagger UI served from this server, not a CDN: it works
offline and under a Content-Security-Policy with no inline script (its start-up code is a
file, /docs/assets/start.js)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount

# fastapi-offline ships Swagger UI 5 (which reads OpenAPI 3.1, as FastAPI writes it); only its
# files are used here, not its app class, whose page starts Swagger UI with an inline script.
SWAGGER_UI_DIR = Path(str(files("fastapi_offline") / "static"))

ASSETS = "/docs/assets"

# Swagger UI styles parts of the page from its script: inline styles, never inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cultureqa API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/start.js"></script>
</body>
</html>
"""

_START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true
  });
});
"""


router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": DOCS_CSP})


@router.get(f"{ASSETS}/start.js")
def start() -> Response:
    return Response(_START, media_type="text/javascript; charset=utf-8")


def docs_routes() -> list[BaseRoute]:
    """GET /docs and its assets. Only served when the OpenAPI pages are on."""
    assets = Mount(ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    return [*router.routes, assets]
