"""The HTML of /admin/insights and its login form: charts drawn as SVG on the server (no
script, no CDN), every value escaped, styles allowed by a per-response nonce."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote

from cultureqa.store.insights import Day, Insights

CHART_WIDTH = 640
CHART_HEIGHT = 160
CHART_PAD = 28

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem;
  padding: 0 1rem; color: #111; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem .5rem;
  border-bottom: 1px solid #ddd; vertical-align: top; }
.num { text-align: right; } .muted { color: #555; } form.inline { display: inline; }
.summary span { margin-right: 1.5rem; } svg { max-width: 100%; height: auto; }
blockquote { margin: .2rem 0; color: #333; border-left: 3px solid #ccc; padding-left: .5rem; }
"""


def policy(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def page(title: str, body: str, nonce: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{escape(title)}</title>\n<style nonce="{nonce}">{STYLE}</style>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def login_form(csrf: str, message: str | None, nonce: str) -> str:
    note = f'<p role="alert">{escape(message)}</p>' if message else ""
    body = (
        "<h1>cultureqa insights: sign in</h1>\n"
        f"{note}"
        '<form method="post" action="/admin/insights/login">\n'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">\n'
        '<label>Admin key <input type="password" name="key" autocomplete="current-password" '
        "required></label>\n"
        '<button type="submit">Sign in</button>\n</form>'
    )
    return page("Sign in", body, nonce)


def bar_chart(
    title: str,
    days: Sequence[Day],
    values: Sequence[float],
    label: Sequence[str],
    *,
    percent: bool = False,
) -> str:
    """An SVG bar per day, its value on hover (`<title>`), and the first and last day below;
    the scale goes up to the largest value, or to 100% for `percent` values (0 to 1)."""
    top = 1.0 if percent else max(values, default=0.0) or 1.0
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(values), 1)
    bars = []
    for day, value, text in zip(days, values, label, strict=True):
        height = inner_h * value / top
        x = CHART_PAD + step * days.index(day)
        y = CHART_PAD + inner_h - height
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="#1d4ed8"><title>{escape(day.day.isoformat())}: '
            f"{escape(text)}</title></rect>"
        )
    first = escape(days[0].day.isoformat()) if days else ""
    last = escape(days[-1].day.isoformat()) if days else ""
    base = CHART_PAD + inner_h
    return (
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {CHART_WIDTH} '
        f'{CHART_HEIGHT}" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{CHART_PAD}" y1="{base}" x2="{CHART_WIDTH - CHART_PAD}" y2="{base}" '
        'stroke="#888"/>'
        f'<text x="{CHART_PAD}" y="{CHART_PAD - 8}" font-size="12">'
        f"max {escape(_short(top, percent))}</text>"
        f"{''.join(bars)}"
        f'<text x="{CHART_PAD}" y="{CHART_HEIGHT - 6}" font-size="12">{first}</text>'
        f'<text x="{CHART_WIDTH - CHART_PAD}" y="{CHART_HEIGHT - 6}" font-size="12" '
        f'text-anchor="end">{last}</text></svg>'
    )


def _short(value: float, percent: bool) -> str:
    return f"{value:.0%}" if percent else f"{value:g}"


def insights_page(
    insights: Insights, collections: Sequence[str], csrf: str | None, nonce: str
) -> str:
    parts = [
        f"<h1>Insights: {escape(insights.collection)}</h1>",
        _filter_form(insights, collections),
        _logout_form(csrf),
        *report(insights),
        _exports(insights),
    ]
    return page(f"Insights: {insights.collection}", "\n".join(parts), nonce)


def report(insights: Insights) -> list[str]:
    """The report itself, without the owner's forms and links: the summary, the charts, the
    gaps, the most cited and the thumbs down (also what an instructor sees of the course's
    collection after an LTI launch)."""
    days = insights.days
    asks_chart = bar_chart(
        "Questions per day", days, [d.asks for d in days], [f"{d.asks} questions" for d in days]
    )
    rate_chart = bar_chart(
        "No-answer rate per day",
        days,
        [d.no_answer_rate for d in days],
        [f"{d.no_answer_rate:.0%} unanswered ({d.unanswered} of {d.asks})" for d in days],
        percent=True,
    )
    return [
        '<p class="summary">'
        f'<span>Questions: <strong id="asks">{insights.asks}</strong></span>'
        f'<span>Unanswered: <strong id="unanswered">{insights.unanswered}</strong></span>'
        f"<span>Days: {escape(insights.since.isoformat())} to "
        f"{escape(insights.until.isoformat())}</span></p>",
        "<h2>Questions per day</h2>",
        asks_chart,
        "<h2>No-answer rate per day</h2>",
        rate_chart,
        _gaps(insights),
        _cited("Most-cited articles", "articles", insights.articles),
        _cited("Most-cited sections", "sections", insights.sections),
        _thumbs_down(insights),
    ]


def _filter_form(insights: Insights, collections: Sequence[str]) -> str:
    options = "".join(
        f'<option value="{escape(name)}"{" selected" if name == insights.collection else ""}>'
        f"{escape(name)}</option>"
        for name in collections
    )
    return (
        '<form method="get" action="/admin/insights">'
        f'<label>Collection <select name="collection">{options}</select></label> '
        f'<label>From <input type="date" name="since" value="{insights.since.isoformat()}">'
        "</label> "
        f'<label>to <input type="date" name="until" value="{insights.until.isoformat()}">'
        '</label> <button type="submit">Show</button></form>'
    )


def _logout_form(csrf: str | None) -> str:
    if csrf is None:  # signed in with a Bearer key: no session to end
        return ""
    return (
        '<form class="inline" method="post" action="/admin/insights/logout">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button type="submit">Sign out</button></form>'
    )


def _gaps(insights: Insights) -> str:
    if not insights.gaps:
        return '<h2>Content gaps</h2><p class="muted">No unanswered or thumbs-down questions.</p>'
    rows = "".join(
        f'<tr class="gap"><td class="num">{gap.size}</td><td class="num">{gap.unanswered}</td>'
        f'<td class="num">{gap.thumbs_down}</td><td>'
        + "".join(f"<blockquote>{escape(example)}</blockquote>" for example in gap.examples)
        + "</td></tr>"
        for gap in insights.gaps
    )
    return (
        "<h2>Content gaps</h2>"
        '<p class="muted">Unanswered and thumbs-down questions, grouped by meaning: the '
        "articles to write next.</p>"
        '<table id="gaps"><thead><tr><th class="num">Questions</th><th class="num">Unanswered'
        '</th><th class="num">Thumbs down</th><th>Examples</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _cited(title: str, element_id: str, cited: Sequence[object]) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(getattr(item, 'id', '')))}</td>"
        f'<td class="num">{getattr(item, "count", 0)}</td></tr>'
        for item in cited
    )
    empty = '<tr><td colspan="2" class="muted">None yet.</td></tr>'
    return (
        f'<h2>{escape(title)}</h2><table id="{element_id}"><thead><tr><th>Cited</th>'
        f'<th class="num">Answers</th></tr></thead><tbody>{rows or empty}</tbody></table>'
    )


def _thumbs_down(insights: Insights) -> str:
    rows = "".join(
        '<tr class="thumbs-down">'
        f"<td>{escape(item.at.strftime('%Y-%m-%d %H:%M'))}</td>"
        f"<td>{escape(item.question or '(not kept)')}"
        + (f'<div class="muted">{escape(item.comment)}</div>' if item.comment else "")
        + f"</td><td>{escape(item.passage_id or '')}"
        + (f"<blockquote>{escape(item.passage_text)}</blockquote>" if item.passage_text else "")
        + "</td></tr>"
        for item in insights.thumbs_down
    )
    empty = '<tr><td colspan="3" class="muted">None.</td></tr>'
    return (
        '<h2>Thumbs down</h2><table id="thumbs-down"><thead><tr><th>When (UTC)</th>'
        "<th>Question</th><th>Passage shown</th></tr></thead>"
        f"<tbody>{rows or empty}</tbody></table>"
    )


def _exports(insights: Insights) -> str:
    query = (
        f"collection={escape(quote(insights.collection))}&amp;since={insights.since.isoformat()}"
        f"&amp;until={insights.until.isoformat()}"
    )
    return (
        f'<p>Export: <a href="/admin/insights/export?format=csv&amp;{query}">CSV</a> · '
        f'<a href="/admin/insights/export?format=json&amp;{query}">JSON</a></p>'
    )
