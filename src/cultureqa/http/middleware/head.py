"""HEAD on every GET route: answered as the GET would be, headers and all, without the body.

FastAPI's routes answer only the methods they name, so uptime and link checkers (which send
HEAD) would get 405 from `/`, `/embed`, `/widget.js` and the article pages.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadMiddleware:
    """Run a HEAD request as a GET and drop the body it sends (Content-Length is kept, as the
    GET's). A path with no GET answers 405, whose Allow lists the methods it has."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # The scope itself, not a copy: the router records the matched route in it, which the
        # request log and the metrics read afterwards (as a HEAD, once this returns).
        scope["method"] = "GET"
        try:
            await self.app(scope, receive, send_headers_only)
        finally:
            scope["method"] = "HEAD"
