"""The web side for browsers: the widget's files, the iframe embed, the educators' page and the
article pages that citations link to. Pages, not API operations: kept out of the OpenAPI
schema, whose clients (and schemathesis) expect JSON."""

from __future__ import annotations

from importlib.resources import files
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from cultureqa.http.articles import find_article
from cultureqa.http.pages import (
    csp,
    embed_options,
    html_page,
    render_article,
    render_educators_page,
    render_embed,
    render_not_found,
)
from cultureqa.http.state import PageAnswererDep, SettingsDep, check_article_access

# The only files /static/ serves, with their media types: nothing else in the package leaks.
STATIC_FILES = {
    "widget.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}


def _static(name: str) -> Response:
    content = (files("cultureqa") / "static" / name).read_bytes()
    return Response(
        content,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


router = APIRouter(include_in_schema=False)


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def snippet_base(request: Request, public_url: str | None) -> str | None:
    """The base URL the snippets on / are filled in with: CULTUREQA_PUBLIC_URL, else the
    request's own URL when its Host names this server (a loopback name, or the address the
    connection came in on), else None. Any other Host is the client's word: a page built from
    it could carry a stranger's address into a cache or a copied snippet."""
    if public_url:
        return public_url
    try:
        named = urlsplit(f"//{request.headers.get('host', '')}")
        host, port = named.hostname, named.port
    except ValueError:
        return None
    server = request.scope.get("server")
    default_port = 443 if request.url.scheme == "https" else 80
    if host in LOOPBACK_NAMES or (
        server is not None and host == server[0] and (port or default_port) == server[1]
    ):
        return str(request.base_url).rstrip("/")
    return None


@router.get("/", response_class=HTMLResponse)
def educators(request: Request, settings: SettingsDep) -> HTMLResponse:
    base = snippet_base(request, settings.public_url)
    return html_page(render_educators_page(base, settings.frame_ancestors))


@router.get("/embed", response_class=HTMLResponse)
def embed(request: Request, settings: SettingsDep) -> HTMLResponse:
    options = embed_options(dict(request.query_params))
    return html_page(render_embed(options), policy=csp(settings.frame_ancestors))


@router.get("/widget.js")
def widget() -> Response:
    return _static("widget.js")


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return html_page(render_not_found(f"No file {name}."), status=404)
    return _static(name)


# Key mode: whole articles are no more public than the answers quoting them (a key, or the
# reading grant of a citation's link: grants.py).
@router.get(
    "/articles/{article_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(check_article_access)],
)
def article(article_id: str, answerer: PageAnswererDep) -> HTMLResponse:
    # No index loaded: the answerer dependency raises the 503 the error handler explains.
    found = find_article(answerer.index.passages, article_id)
    if found is None:
        missing = render_not_found(f"There is no article {article_id!r} in the index.")
        return html_page(missing, status=404)
    return html_page(render_article(found))
