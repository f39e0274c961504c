"""The server's HTML pages: the educators' page, the iframe embed, and article pages.

Every value that comes from a request or the corpus goes through `html.escape`, so it is text
in the page, never markup. Pages carry no inline script or style: the widget and the page style
are static files, which lets their Content-Security-Policy forbid everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

from cultureqa.http.articles import ArticleView

# No inline script or style anywhere: the pages load /widget.js and /static/page.css only.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)


def csp(frame_ancestors: list[str]) -> str:
    """The pages' Content-Security-Policy, framed only by `frame_ancestors`."""
    return f"{PAGE_POLICY}; frame-ancestors {' '.join(frame_ancestors)}"


OWN_PAGES_POLICY = csp(["'self'"])


def html_page(body: str, *, policy: str = OWN_PAGES_POLICY, status: int = 200) -> HTMLResponse:
    """A page as an HTML response with its own Content-Security-Policy."""
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        },
    )


@dataclass(frozen=True)
class WidgetOption:
    name: str  # query parameter of /embed; the script tag's attribute is data-<name>
    default: str
    meaning: str
    script_only: bool = False


WIDGET_OPTIONS: tuple[WidgetOption, ...] = (
    WidgetOption("title", "Ask about culture", "Heading of the chat panel."),
    WidgetOption(
        "greeting",
        "Ask a question about the articles. Answers quote them, with links to the source.",
        "First message in an empty conversation.",
    ),
    WidgetOption("placeholder", "Type your question", "Hint in the empty question box."),
    WidgetOption(
        "accent",
        "#1d4ed8",
        "Accent colour, #rgb or #rrggbb; the text on it is black or white, whichever contrasts "
        "more.",
    ),
    WidgetOption(
        "position",
        "right",
        "Corner of the launcher button: right or left (bottom of the page).",
        script_only=True,
    ),
    WidgetOption(
        "lang",
        "the page's language, else en",
        "Language of the widget's own words: en, fr, es, de, ko or ar (right to left).",
    ),
    WidgetOption(
        "suggestions",
        "(none)",
        "Suggested questions shown as buttons, separated by |.",
    ),
    WidgetOption(
        "collection", "(none)", "Collection to ask, sent as `collection` with each question."
    ),
    WidgetOption(
        "api",
        "the server the script comes from",
        "Base URL of the cultureqa server to ask.",
        script_only=True,
    ),
    WidgetOption(
        "target",
        "(none: a launcher button)",
        "CSS selector of an element to show the chat in, always open, instead of a launcher.",
        script_only=True,
    ),
)

EMBED_PARAMETERS = tuple(o.name for o in WIDGET_OPTIONS if not o.script_only)
MAX_OPTION_CHARS = 500


def _page(title: str, body: str, *, lang: str = "en", scripts: tuple[str, ...] = ()) -> str:
    script_tags = "".join(scripts)
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="stylesheet" href="/static/page.css">\n'
        f"{script_tags}</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _widget_script(src: str, attributes: Mapping[str, str]) -> str:
    data = "".join(
        f' data-{escape(name)}="{escape(value, quote=True)}"' for name, value in attributes.items()
    )
    return f'<script src="{escape(src, quote=True)}" async{data}></script>\n'


def embed_options(query: Mapping[str, str]) -> dict[str, str]:
    """The widget options given to /embed, known names only, each cut to a sane length."""
    return {
        name: query[name][:MAX_OPTION_CHARS]
        for name in EMBED_PARAMETERS
        if query.get(name, "").strip()
    }


def render_embed(options: Mapping[str, str]) -> str:
    """The chat as a whole page, for an iframe: the widget, inline, filling the window."""
    lang = options.get("lang", "en")
    script = _widget_script("/widget.js", {**options, "target": "#cultureqa", "api": ""})
    body = '<main id="cultureqa" class="embed"></main>'
    return _page(
        options.get("title", WIDGET_OPTIONS[0].default), body, lang=lang, scripts=(script,)
    )


def script_snippet(base_url: str) -> str:
    return (
        f'<script src="{base_url}/widget.js" async\n'
        '        data-title="Ask about culture"\n'
        '        data-suggestions="What is Hamhung known for?|What do people eat in Hamhung?">\n'
        "</script>"
    )


def iframe_snippet(base_url: str) -> str:
    query = urlencode({"title": "Ask about culture"})
    return (
        f'<iframe src="{base_url}/embed?{query}"\n'
        '        title="Ask about culture" width="400" height="600"\n'
        '        style="border: 1px solid #ccc; border-radius: 8px"></iframe>'
    )


# In the snippets when the server cannot tell its own public address (see web.snippet_base).
PLACEHOLDER_BASE = "https://YOUR-CULTUREQA-SERVER"
UNKNOWN_BASE_NOTE = (
    "<p>Replace <code>YOUR-CULTUREQA-SERVER</code> with this server's public address, or set "
    "<code>CULTUREQA_PUBLIC_URL</code> to have it filled in here.</p>"
)


def render_educators_page(base_url: str | None, frame_ancestors: list[str]) -> str:
    """GET /: a live demo over this server's corpus, the snippets to copy, and every option.
    Without a base URL the snippets carry a placeholder and the page says how to fill it in."""
    unknown_base = "" if base_url is not None else UNKNOWN_BASE_NOTE
    base_url = base_url or PLACEHOLDER_BASE
    rows = "".join(
        "<tr>"
        f"<td><code>data-{escape(o.name)}</code></td>"
        f"<td>{'(script only)' if o.script_only else f'<code>{escape(o.name)}</code>'}</td>"
        f"<td>{escape(o.default)}</td><td>{escape(o.meaning)}</td>"
        "</tr>"
        for o in WIDGET_OPTIONS
    )
    ancestors = ", ".join(f"<code>{escape(a)}</code>" for a in frame_ancestors)
    demo = _widget_script(
        "/widget.js",
        {
            "target": "#demo",
            "api": "",
            "title": "Ask about culture",
            "suggestions": "What is Hamhung known for?|What do people eat in Hamhung?",
        },
    )
    launcher = _widget_script("/widget.js", {"api": "", "title": "Ask about culture"})
    body = f"""<header class="masthead">
<h1>cultureqa: a chat about culture for your course pages</h1>
<p>Readers ask a question; the answer quotes the articles, with numbered links to the section it
came from. Paste one of the snippets below into a course page (Moodle, Canvas, a static site).</p>
{unknown_base}</header>
<main class="educators">
<section aria-labelledby="demo-heading">
<h2 id="demo-heading">Try it</h2>
<p>The chat below asks this server. The button at the bottom corner is the same widget as it
appears with the script snippet.</p>
<div id="demo" class="demo"></div>
</section>
<section aria-labelledby="script-heading">
<h2 id="script-heading">Embed it with a script tag</h2>
<p>Adds a launcher button at the bottom of the page that opens the chat. Add
<code>data-target="#some-id"</code> to show it inside an element instead.</p>
<pre><code>{escape(script_snippet(base_url))}</code></pre>
<p>Pages on other sites call this server from the browser, so their origin must be allowed by
<code>CULTUREQA_CORS_ORIGINS</code>.</p>
</section>
<section aria-labelledby="iframe-heading">
<h2 id="iframe-heading">Embed it in an iframe</h2>
<p>For sites that allow no scripts. The options are query parameters.</p>
<pre><code>{escape(iframe_snippet(base_url))}</code></pre>
<p>Only these sites may frame it (<code>CULTUREQA_FRAME_ANCESTORS</code>): {ancestors}.</p>
</section>
<section aria-labelledby="options-heading">
<h2 id="options-heading">Options</h2>
<table>
<thead><tr><th scope="col">script attribute</th><th scope="col">iframe parameter</th>
<th scope="col">default</th><th scope="col">meaning</th></tr></thead>
<tbody>{rows}</tbody>
</table>
</section>
</main>"""
    return _page("cultureqa for educators", body, scripts=(demo, launcher))


def render_article(article: ArticleView) -> str:
    """An article's sections as text, each heading carrying its section's anchor as its id."""
    parts: list[str] = [f"<h1>{escape(article.title)}</h1>"]
    where = ", ".join(p for p in (article.place, article.country) if p)
    if where:
        parts.append(f'<p class="where">{escape(where)}</p>')
    if article.source_url and article.source_url.lower().startswith(("https://", "http://")):
        url = escape(article.source_url, quote=True)
        parts.append(f'<p class="source">Source: <a href="{url}" rel="noopener">{url}</a></p>')
    shown: tuple[str, ...] = ()
    for section in article.sections:
        for depth, heading in enumerate(section.headings):
            if shown[: depth + 1] == section.headings[: depth + 1]:
                continue
            level = min(depth + 2, 6)
            own = depth == len(section.headings) - 1
            anchor = f' id="{escape(section.anchor, quote=True)}"' if own else ""
            parts.append(f"<h{level}{anchor}>{escape(heading)}</h{level}>")
        shown = section.headings
        parts.extend(f"<p>{escape(text)}</p>" for text in section.paragraphs)
    body = '<main class="article" dir="auto">\n' + "\n".join(parts) + "\n</main>"
    return _page(article.title, body)


def render_not_found(what: str) -> str:
    return _page(
        "Not found", f'<main class="article"><h1>Not found</h1><p>{escape(what)}</p></main>'
    )
