"""The HTML of the LTI pages: the course's chat (and, for instructors, the course's insights),
the deep-linking picker, the form that posts the response back to the platform, and the error
page. Every value is escaped; the only scripts are the server's own files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

from cultureqa.http import insights_page
from cultureqa.http.pages import WIDGET_OPTIONS
from cultureqa.store.insights import Insights

# Options an instructor may set when placing the chat, passed on to the widget.
PICKED_OPTIONS = ("title", "greeting", "suggestions", "accent", "lang", "placeholder")
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #111; }
main.lti { max-width: 60rem; margin: 0 auto; padding: 0 1rem 2rem; }
main.lti h1 { font-size: 1.3rem; } .chat { height: 440px; border: 1px solid #d0d5dd;
  border-radius: 8px; overflow: hidden; margin-bottom: 1.5rem; } .chat.full { height: 92vh; }
label { display: block; margin: .6rem 0; } label input[type=text], label select {
  display: block; width: 100%; max-width: 32rem; padding: .3rem; margin-top: .2rem; }
form.dates label { display: inline-block; margin-right: 1rem; }
.error { border-left: 4px solid #b91c1c; padding: .2rem 1rem; } .muted { color: #555; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem .5rem;
  border-bottom: 1px solid #ddd; vertical-align: top; } .num { text-align: right; }
.summary span { margin-right: 1.5rem; } svg { max-width: 100%; height: auto; }
blockquote { margin: .2rem 0; color: #333; border-left: 3px solid #ccc; padding-left: .5rem; }
"""


def policy(nonce: str, frame_ancestors: Iterable[str], form_targets: Iterable[str] = ()) -> str:
    """The LTI pages' Content-Security-Policy: the server's own scripts, styles by nonce, forms
    to this server (and the platform's return URL), framed by the platforms."""
    targets = " ".join(["'self'", *form_targets])
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
        f"img-src 'self'; connect-src 'self'; base-uri 'none'; form-action {targets}; "
        f"frame-ancestors {' '.join(frame_ancestors)}"
    )


def _page(title: str, body: str, nonce: str, scripts: Sequence[str] = ()) -> str:
    tags = "".join(f'<script src="{escape(src, quote=True)}" async></script>\n' for src in scripts)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="stylesheet" href="/static/page.css">\n'
        f'<style nonce="{nonce}">{STYLE}</style>\n{tags}'
        f'</head>\n<body>\n<main class="lti">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _chat(collection: str, token: str, options: Mapping[str, str], full: bool) -> str:
    known = {o.name for o in WIDGET_OPTIONS if not o.script_only}
    data = {k: v[:500] for k, v in options.items() if k in known and k != "collection"}
    data |= {"collection": collection, "token": token, "target": "#cultureqa", "api": ""}
    attributes = "".join(
        f' data-{escape(k)}="{escape(v, quote=True)}"' for k, v in sorted(data.items())
    )
    return (
        f'<div id="cultureqa" class="chat{" full" if full else ""}"></div>\n'
        f'<script src="/widget.js" async{attributes}></script>'
    )


def course_page(
    course_title: str,
    collection: str,
    token: str,
    options: Mapping[str, str],
    insights: Insights | None,
    nonce: str,
) -> str:
    """A learner's page is the chat alone; an instructor's adds the course's insights, with a
    form to change the dates that carries the session (no cookie)."""
    if insights is None:
        body = _chat(collection, token, options, full=True)
        return _page(options.get("title") or course_title, body, nonce)
    parts = [
        f"<h1>{escape(course_title)}: the course's chat</h1>",
        _chat(collection, token, options, full=False),
        f'<h1 id="insights">What the course asks ({escape(collection)})</h1>',
        insights_form(token, insights),
        *insights_page.report(insights),
    ]
    return _page(course_title, "\n".join(parts), nonce)


def insights_form(token: str, insights: Insights) -> str:
    return (
        '<form class="dates" method="post" action="/lti/insights">'
        f'<input type="hidden" name="session" value="{escape(token, quote=True)}">'
        f'<label>From <input type="date" name="since" value="{insights.since.isoformat()}">'
        f'</label><label>to <input type="date" name="until" value="{insights.until.isoformat()}">'
        '</label><button type="submit">Show</button></form>'
    )


def insights_only_page(course: str, token: str, insights: Insights, nonce: str) -> str:
    parts = [
        f'<h1 id="insights">What the course asks ({escape(insights.collection)})</h1>',
        f'<p class="muted">{escape(course)}</p>',
        insights_form(token, insights),
        *insights_page.report(insights),
    ]
    return _page(f"Insights: {course}", "\n".join(parts), nonce)


def picker_page(
    course_title: str, token: str, current: str | None, free: Sequence[str], nonce: str
) -> str:
    """Deep linking: the instructor picks the course's collection (or names a new one) and the
    widget's words; the course keeps the collection it was first given."""
    if current is not None:
        choice = (
            f"<p>This course asks the collection <strong>{escape(current)}</strong>.</p>"
            f'<input type="hidden" name="collection" value="{escape(current, quote=True)}">'
        )
    else:
        options = "".join(
            f'<option value="{escape(n, quote=True)}">{escape(n)}</option>' for n in free
        )
        choice = (
            '<label>Collection <select name="collection"><option value="">(a new one, named '
            f"below)</option>{options}</select></label>"
            '<label>New collection name <input type="text" name="new_collection" '
            'pattern="[a-z0-9][a-z0-9_-]{0,63}" placeholder="history-101"></label>'
        )
    fields = "".join(
        f'<label>{escape(o.meaning)} <input type="text" name="{o.name}" '
        f'placeholder="{escape(o.default, quote=True)}"></label>'
        for o in WIDGET_OPTIONS
        if o.name in PICKED_OPTIONS
    )
    body = (
        f"<h1>Add the chat to {escape(course_title)}</h1>"
        '<form method="post" action="/lti/deep-link">'
        f'<input type="hidden" name="session" value="{escape(token, quote=True)}">'
        f"{choice}{fields}"
        '<button type="submit">Add to the course</button></form>'
    )
    return _page("Add the chat to the course", body, nonce)


def return_page(return_url: str, response_jwt: str, nonce: str) -> str:
    """The signed response, posted back to the platform by the browser."""
    body = (
        f'<form method="post" action="{escape(return_url, quote=True)}" data-autosubmit>'
        f'<input type="hidden" name="JWT" value="{escape(response_jwt, quote=True)}">'
        "<p>Returning to the course…</p>"
        '<button type="submit">Return to the course</button></form>'
    )
    return _page("Returning to the course", body, nonce, scripts=("/lti/lti.js",))


def error_page(message: str, hint: str | None, nonce: str) -> str:
    body = (
        '<h1>This launch was refused</h1><div class="error" role="alert">'
        f'<p id="reason">{escape(message)}</p>'
        + (f'<p class="muted">{escape(hint)}</p>' if hint else "")
        + "</div><p>Nobody is signed in. If this goes on, tell the site's owner the reason "
        "above.</p>"
    )
    return _page("Launch refused", body, nonce)


def storage_put_page(
    target: str, origin: str, key: str, value: str, next_url: str, nonce: str
) -> str:
    """Login, for platforms offering client-side storage: the state's binding goes into the
    platform's frame, then on to its authorization endpoint (lti.js)."""
    data = {"target": target, "origin": origin, "key": key, "value": value, "next": next_url}
    attributes = "".join(f' data-{k}="{escape(v, quote=True)}"' for k, v in data.items())
    body = f'<p id="lti-storage-put"{attributes}>Signing in…</p>'
    return _page("Signing in", body, nonce, scripts=("/lti/lti.js",))


def storage_check_page(
    target: str, origin: str, key: str, fields: Mapping[str, str], nonce: str
) -> str:
    """Launch without the state cookie, from a platform offering client-side storage: the
    binding is read back from the platform's frame and the launch posted again with it."""
    attributes = "".join(
        f' data-{k}="{escape(v, quote=True)}"'
        for k, v in {"target": target, "origin": origin, "key": key}.items()
    )
    inputs = "".join(
        f'<input type="hidden" name="{escape(k, quote=True)}" value="{escape(v, quote=True)}">'
        for k, v in fields.items()
        if k in {"id_token", "state", "lti_storage_target"}
    )
    body = (
        f'<p id="lti-storage-get"{attributes}>Signing in…</p>'
        f'<form id="lti-storage-launch" method="post" action="/lti/launch">{inputs}'
        '<input type="hidden" name="lti_storage_binding" value=""></form>'
    )
    return _page("Signing in", body, nonce, scripts=("/lti/lti.js",))
