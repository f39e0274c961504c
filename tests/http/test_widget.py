"""The widget in a real browser: Debian's Chromium driven by Playwright, against a real
`cultureqa serve` (real model, real index) on loopback, embedded in host pages served from two
other loopback origins: one the server allows (CORS and frame-ancestors), one it does not.

One server, one browser and the two host sites are shared by the whole module. Screenshots go
to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Route,
    expect,
    sync_playwright,
)

from cultureqa.testing import ServerProcess, free_port, running_server
from tests.helpers import REPO

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
NOODLES = "What cold noodle dish is Hamhung known for?"
NOODLE_SECTION = "/articles/hamhung-culture#the-contrast-of-modernity-and-tradition"

# A host page that does its worst to every element it can reach.
HOSTILE_CSS = """
* { font-family: "Comic Sans MS", cursive !important; color: #f0f !important;
    font-size: 30px !important; line-height: 3 !important; letter-spacing: 4px !important; }
button, input, a { display: none !important; }
div, section, p, form, header { display: inline !important; background: yellow !important; }
"""


@dataclass
class HostSite:
    """A static site on its own loopback origin, serving the pages a test puts in `pages`."""

    origin: str
    pages: dict[str, str]


class _HostHandler(BaseHTTPRequestHandler):
    site_pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.site_pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host_ports() -> tuple[int, int]:
    return free_port(), free_port()


def _host_site(port: int) -> Iterator[HostSite]:
    pages: dict[str, str] = {}

    class Handler(_HostHandler):
        # Each site its own pages; a class attribute is how http.server handlers get state.
        site_pages = pages

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostSite(f"http://127.0.0.1:{port}", pages)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def allowed_site(host_ports: tuple[int, int]) -> Iterator[HostSite]:
    yield from _host_site(host_ports[0])


@pytest.fixture(scope="module")
def other_site(host_ports: tuple[int, int]) -> Iterator[HostSite]:
    yield from _host_site(host_ports[1])


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("widget-feedback") / "feedback.jsonl"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    places_corpus: Path,
    host_ports: tuple[int, int],
    feedback_file: Path,
) -> Iterator[ServerProcess]:
    """`cultureqa serve` over Hamhung, Kyoto and the markup-laden article; only the first host
    site may call it from the browser or frame /embed."""
    tmp = tmp_path_factory.mktemp("widget-server")
    allowed = f"http://127.0.0.1:{host_ports[0]}"
    env = {
        "CULTUREQA_CORS_ORIGINS": allowed,
        "CULTUREQA_FRAME_ANCESTORS": f"'self' {allowed}",
        "CULTUREQA_FEEDBACK_PATH": str(feedback_file),
    }
    args = ["--index-dir", str(tmp / "index"), "--corpus-dir", str(places_corpus)]
    with running_server(args, tmp / "server.log", cwd=REPO, env=env) as up:
        yield up


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any dialog (alert) or uncaught script error."""
    opened = context.new_page()
    problems: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    opened.on("dialog", on_dialog)
    opened.on("pageerror", on_error)
    yield opened
    assert problems == []


def host_page(site: HostSite, server: ServerProcess, *, attributes: str = "", css: str = "") -> str:
    """Put a course page with the script embed on `site`; returns its URL."""
    name = f"/course-{len(site.pages)}.html"
    site.pages[name] = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Korean culture, week 3</title><style>{css}</style></head>
<body>
<h1>Korean culture, week 3</h1>
<p>Read the article on Hamhung, then ask the assistant about it.</p>
<p><a href="#reading">Reading list</a></p>
<script src="{server.url}/widget.js" async data-title="Ask about culture" {attributes}></script>
</body></html>"""
    return site.origin + name


def shadow_focus(page: Page) -> str:
    """What has the keyboard focus inside the widget: tag and class, or '' when outside it."""
    return str(
        page.evaluate(
            """() => {
                const host = document.activeElement;
                if (!host || host.tagName !== 'CULTUREQA-CHAT') return '';
                const el = host.shadowRoot.activeElement;
                return el ? el.tagName.toLowerCase() + '.' + el.className : '';
            }"""
        )
    )


FOLLOW_UP = "And what do people eat there?"


def logged(database: Path, query: str, *params: object) -> list[dict[str, Any]]:
    """Rows of the server's question log (SQLite), waiting up to 10 s for the writer."""
    deadline = time.monotonic() + 10
    while True:
        with contextlib.closing(sqlite3.connect(database)) as connection:
            connection.row_factory = sqlite3.Row
            try:
                found = [dict(row) for row in connection.execute(query, params)]
            except sqlite3.OperationalError:  # not migrated yet
                found = []
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def ask(page: Page, question: str) -> None:
    page.get_by_role("textbox", name="Your question").fill(question)
    page.get_by_role("button", name="Send").click()


def last_answer(page: Page) -> Any:
    answer = page.locator(".turn").last.locator(".msg.a")
    expect(answer.locator(".answer-text, .nothing, .error")).to_be_visible(timeout=30_000)
    return answer


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_script_embed_answers_with_a_citation_to_the_section(
    page: Page, server: ServerProcess, allowed_site: HostSite, feedback_file: Path
) -> None:
    page.goto(host_page(allowed_site, server, css=HOSTILE_CSS))
    launcher = page.get_by_role("button", name="Ask about culture")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    panel = page.get_by_role("dialog", name="Ask about culture")
    expect(panel).to_be_visible()
    # The host page's styles do not reach inside.
    font_size = page.locator(".send").evaluate("el => getComputedStyle(el).fontSize")
    assert font_size == "15px"

    ask(page, NOODLES)
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("naengmyeon")
    citation = answer.locator("a.cite").first
    expect(citation).to_have_attribute("href", server.url + NOODLE_SECTION)
    expect(citation).to_have_attribute("target", "_blank")
    expect(citation).to_have_attribute("rel", "noopener noreferrer")
    expect(citation).to_contain_text("[1]")
    screenshot(page, "widget-hostile-page.png")

    # The other passages, on request, each numbered with its citation.
    toggle = answer.locator(".more-toggle")
    expect(toggle).to_have_text("Show 4 more passages")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_text("Hide the other passages")
    expect(answer.locator(".more a.cite")).to_have_count(4)
    expect(answer.locator(".more a.cite").first).to_contain_text("[2]")

    # The citation opens the cited section of the served article, in a new tab.
    with page.context.expect_page() as opened:
        citation.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url == server.url + NOODLE_SECTION
    expect(article.locator("#the-contrast-of-modernity-and-tradition")).to_have_text(
        "The Contrast of Modernity and Tradition"
    )
    article.close()

    # Thumbs up lands in the question log, linked to the ask it rates.
    answer.get_by_role("button", name="Helpful", exact=True).click()
    expect(answer.get_by_text("Thanks for your feedback.")).to_be_visible()
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    database = feedback_file.parent / "cultureqa.db"
    record = logged(database, "SELECT * FROM feedback WHERE question = ?", NOODLES)[-1]
    assert record["rating"] == "up"
    assert record["passage_id"] == "hamhung-culture#the-contrast-of-modernity-and-tradition"
    assert record["origin"] == allowed_site.origin
    rated = logged(database, "SELECT * FROM asks WHERE id = ?", record["ask_id"])
    assert rated[0]["question"] == NOODLES

    # The conversation survives a reload for the page session, on the server too.
    page.reload()
    expect(page.get_by_role("dialog", name="Ask about culture")).to_be_visible()
    expect(page.locator(".turn .msg.q")).to_contain_text(NOODLES)
    expect(page.locator("a.cite").first).to_have_attribute("href", server.url + NOODLE_SECTION)
    ask(page, FOLLOW_UP)
    expect(page.locator(".turn")).to_have_count(2)
    expect(last_answer(page).locator("a.cite").first).to_be_visible()
    follow_up = logged(database, "SELECT * FROM asks WHERE question = ?", FOLLOW_UP)[-1]
    assert follow_up["conversation_id"] == rated[0]["conversation_id"]


def test_the_same_flow_with_the_keyboard_alone(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    page.goto(host_page(allowed_site, server))
    # Tab from the top of the page to the launcher.
    for _ in range(10):
        page.keyboard.press("Tab")
        if shadow_focus(page).startswith("button.launcher"):
            break
    assert shadow_focus(page).startswith("button.launcher")
    outline = page.locator(".launcher").evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"  # focus is visible

    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Ask about culture")).to_be_visible()
    assert shadow_focus(page) == "input."
    page.keyboard.type(NOODLES)
    page.keyboard.press("Enter")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("naengmyeon")
    expect(page.locator("[role=status][aria-live=polite]").first).to_contain_text("naengmyeon")

    # Back from the question box into the answer, until the citation has the focus.
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if shadow_focus(page).startswith("a.cite"):
            break
    assert shadow_focus(page).startswith("a.cite")
    href = page.evaluate(
        "() => document.activeElement.shadowRoot.activeElement.getAttribute('href')"
    )
    assert href == server.url + NOODLE_SECTION
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    opened.value.wait_for_load_state()
    assert opened.value.url == server.url + NOODLE_SECTION
    opened.value.close()

    # Escape closes the panel and gives the focus back to the launcher.
    page.bring_to_front()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Ask about culture")).to_be_hidden()
    assert shadow_focus(page).startswith("button.launcher")
    expect(page.get_by_role("button", name="Ask about culture")).to_have_attribute(
        "aria-expanded", "false"
    )


def iframe_page(site: HostSite, server: ServerProcess) -> str:
    site.pages["/iframe.html"] = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Course with an iframe</title></head>
<body><h1>Week 3</h1>
<iframe src="{server.url}/embed?title=Culture+helper&amp;suggestions=What+is+Hamhung+known+for%3F"
        title="Culture helper" width="420" height="620"></iframe>
</body></html>"""
    return site.origin + "/iframe.html"


def test_iframe_embed_works_from_an_allowed_site(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    page.goto(iframe_page(allowed_site, server))
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("region", name="Culture helper")).to_be_visible()
    # The chat fits the frame: the question box is on screen, not below the fold.
    expect(frame.get_by_role("button", name="Send")).to_be_in_viewport()
    frame.get_by_role("button", name="What is Hamhung known for?").click()
    answer = frame.locator(".turn").last.locator(".msg.a")
    expect(answer.locator(".answer-text")).to_contain_text("Hamhung", timeout=30_000)
    # The Hamhung article, at the section the answer is from.
    expect(answer.locator("a.cite").first).to_have_attribute(
        "href", re.compile(re.escape(f"{server.url}/articles/hamhung-culture") + r"(#[\w-]+)?$")
    )
    screenshot(page, "widget-iframe.png")


def test_iframe_embed_is_refused_by_csp_elsewhere(
    page: Page, server: ServerProcess, other_site: HostSite
) -> None:
    refusals: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "frame-ancestors" in message.text:
            refusals.append(message.text)

    page.on("console", on_console)
    page.goto(iframe_page(other_site, server))
    page.wait_for_load_state("load")
    child = page.frames[1]
    # Chromium replaces a refused frame with its error page: no widget inside.
    assert not child.url.startswith(server.url)
    assert refusals and "frame-ancestors" in refusals[0]


def test_markup_in_articles_is_inert_text(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    page.goto(host_page(allowed_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, "What happens at the lantern festival in Velmora?")
    answer = last_answer(page)
    expect(answer.locator("a.cite").first).to_contain_text("<script>alert('title')</script>")
    answer.get_by_role("button", name="Show 4 more passages").click()
    # The answer quotes two sentences of the passage, markup and all, as text.
    expect(answer).to_contain_text("<img src=x onerror=alert(1)>")
    expect(answer).to_contain_text("<script>alert(2)</script>")
    counts = page.evaluate(
        """() => {
            const root = document.querySelector('cultureqa-chat').shadowRoot;
            const hrefs = [...root.querySelectorAll('a')].map(a => a.href);
            return {img: root.querySelectorAll('img').length,
                    script: root.querySelectorAll('script').length,
                    bad: hrefs.filter(h => !/^https?:/.test(h)).length,
                    links: hrefs.length};
        }"""
    )
    assert counts == {"img": 0, "script": 0, "bad": 0, "links": 5}
    # Its javascript: source URL is never a link: the citation goes to the served page.
    href = answer.locator("a.cite").first.get_attribute("href")
    assert href is not None
    assert href.startswith(server.url + "/articles/lantern-festival#")
    # And the article page shows the same markup as text, too.
    page.goto(href)
    expect(page.locator("main")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator("main")).to_contain_text("[the lantern map](javascript:alert(3))")
    assert page.locator("img, main script").count() == 0
    # The page fixture fails the test on any alert() dialog or script error.


def test_a_followup_is_answered_from_the_earlier_place(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(host_page(allowed_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, "What is Hamhung known for?")
    expect(last_answer(page).locator("a.cite").first).to_contain_text("Hamhung")
    ask(page, "And what do people eat there?")
    expect(page.locator(".turn")).to_have_count(2)
    answer = last_answer(page)
    # The answer is cited to Hamhung's food section ("eat" appears in none of its sentences, so
    # the model picks the one quoted; tests/test_followup.py checks which).
    expect(answer.locator("a.cite").first).to_have_attribute("href", server.url + NOODLE_SECTION)
    screenshot(page, "widget-desktop.png")


def test_without_the_earlier_turn_the_followup_goes_elsewhere(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    # The control for the test above: alone, the same words find Kyoto's food section.
    page.goto(host_page(allowed_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, "And what do people eat there?")
    citation = last_answer(page).locator("a.cite").first
    expect(citation).to_have_attribute(
        "href", "https://example.org/articles/kyoto-culture#what-people-eat"
    )


def test_cors_preflight_from_a_disallowed_origin_gets_no_allow_origin(
    page: Page, server: ServerProcess, allowed_site: HostSite, other_site: HostSite
) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    refused = httpx.options(f"{server.url}/ask", headers={"origin": other_site.origin, **preflight})
    assert "access-control-allow-origin" not in refused.headers
    allowed = httpx.options(
        f"{server.url}/ask", headers={"origin": allowed_site.origin, **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == allowed_site.origin
    # And the browser enforces it: the widget on the other site cannot get an answer.
    page.goto(host_page(other_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, NOODLES)
    expect(last_answer(page).locator(".error")).to_contain_text("Cannot reach the server")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (None, "Cannot reach the server. Check your connection"),
        (429, "Too many questions at once"),
        (500, "The server had a problem answering"),
        (503, "The service is not ready yet"),
    ],
)
def test_errors_are_shown_in_words_with_retry(
    page: Page, server: ServerProcess, allowed_site: HostSite, status: int | None, message: str
) -> None:
    def fail(route: Route) -> None:
        if status is None:
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=status, json={"error": {"code": "x", "message": "x"}})

    page.route(f"{server.url}/ask", fail)
    page.goto(host_page(allowed_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, NOODLES)
    answer = last_answer(page)
    expect(answer.locator(".error")).to_contain_text(message)
    page.unroute(f"{server.url}/ask")
    answer.get_by_role("button", name="Try again").click()
    expect(page.locator(".turn").last.locator(".answer-text")).to_contain_text(
        "naengmyeon", timeout=30_000
    )


def test_the_answer_field_is_used_when_the_server_sends_it(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    """Responses with `answer` (a sentence and its citation), or `answer: null` when nothing
    answers, as the server will send them: the widget shows the sentence, or says so."""
    null_next = {"value": False}

    def with_answer(route: Route) -> None:
        body = route.fetch().json()
        top = body["passages"][1]
        if null_next["value"]:
            body.update(answer=None, confidence=0.1, reason="no_relevant_passage")
        else:
            body.update(
                answer={"text": "A highlighted sentence.", "citation": top["citation"]},
                confidence=0.9,
            )
        route.fulfill(json=body)

    page.route(f"{server.url}/ask", with_answer)
    page.goto(host_page(allowed_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, NOODLES)
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_have_text("A highlighted sentence.")
    expect(answer.get_by_role("button", name="Show 4 more passages")).to_be_visible()
    null_next["value"] = True
    ask(page, "What is the weather on Mars?")
    expect(last_answer(page).locator(".nothing")).to_contain_text("Nothing relevant found")


def test_phone_sized_screen_gets_a_full_screen_panel(
    browser: Browser, server: ServerProcess, allowed_site: HostSite
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.goto(host_page(allowed_site, server))
        page.get_by_role("button", name="Ask about culture").click()
        ask(page, NOODLES)
        expect(last_answer(page).locator(".answer-text")).to_contain_text("naengmyeon")
        box = page.locator(".panel").bounding_box()
        assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
        screenshot(page, "widget-phone.png")
    finally:
        context.close()


def test_right_to_left_ui(page: Page, server: ServerProcess, allowed_site: HostSite) -> None:
    page.goto(host_page(allowed_site, server, attributes='data-lang="ar"'))
    page.get_by_role("button", name="Ask about culture").click()
    root = page.locator(".root")
    expect(root).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("button", name="إرسال")).to_be_visible()
    direction = page.locator("header h2").evaluate("el => getComputedStyle(el).direction")
    assert direction == "rtl"
    # The title sits at the right of the header, as Arabic reads.
    title = page.locator("header h2").bounding_box()
    panel = page.locator(".panel").bounding_box()
    assert title is not None and panel is not None
    assert title["x"] + title["width"] > panel["x"] + panel["width"] - 30
    screenshot(page, "widget-rtl.png")


def test_educators_page_demo_answers_over_the_corpus(page: Page, server: ServerProcess) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name="Embed it with a script tag")).to_be_visible()
    expect(page.locator("pre").first).to_contain_text(f'<script src="{server.url}/widget.js"')
    demo = page.locator("#demo")
    demo.get_by_role("button", name="What do people eat in Hamhung?").click()
    answer = demo.locator(".turn").last.locator(".msg.a")
    expect(answer.locator(".answer-text")).to_contain_text("naengmyeon", timeout=30_000)
    # The launcher version is on the page too, with a conversation of its own.
    expect(page.get_by_role("button", name="Ask about culture", exact=True)).to_be_visible()
    screenshot(page, "educators-page.png")


def test_nothing_relevant_is_said_plainly(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    page.goto(host_page(allowed_site, server))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, "What is the weather on Mars?")
    answer = last_answer(page)
    expect(answer.locator(".nothing")).to_have_text(
        "Nothing relevant found in the articles. Try other words, or ask about a place they cover."
    )
    expect(answer.locator(".answer-text")).to_have_count(0)
    # The closest passages are still offered, under a heading that says they are no answer.
    expect(answer.locator(".related-heading")).to_have_text("Related reading (not an answer):")
    related = answer.locator("ol.related > li")
    expect(related.first).to_be_visible()
    assert 1 <= related.count() <= 3
    # A place no article covers is named, in plain words.
    ask(page, "What do people eat in Guatemala?")
    expect(last_answer(page).locator(".nothing")).to_have_text(
        "None of the articles covers Guatemala. Nothing relevant found in the articles. Try "
        "other words, or ask about a place they cover."
    )


def test_the_widget_sends_recent_turns_and_the_collection(
    page: Page, server: ServerProcess, allowed_site: HostSite
) -> None:
    sent: list[dict[str, Any]] = []

    def record(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        sent.append(body)
        # This server has no collections yet: pass the rest of the request on.
        forwarded = {k: v for k, v in body.items() if k != "collection"}
        route.fulfill(response=route.fetch(post_data=json.dumps(forwarded)))

    page.route(f"{server.url}/ask", record)
    page.goto(host_page(allowed_site, server, attributes='data-collection="korea"'))
    page.get_by_role("button", name="Ask about culture").click()
    for question in ("What is Hamhung known for?", "Is it industrial?", "And the food?", "Why?"):
        ask(page, question)
        # Answered, or honestly not ("Why?" may be too vague to answer): either ends the turn.
        reply = page.locator(".turn").last.locator(".answer-text, .nothing")
        expect(reply).to_be_visible(timeout=30_000)
    assert [body["collection"] for body in sent] == ["korea"] * 4
    assert "history" not in sent[0]
    assert sent[1]["history"] == [
        {"question": "What is Hamhung known for?", "article_id": "hamhung-culture"}
    ]
    # The last three turns, oldest first.
    assert [turn["question"] for turn in sent[3]["history"]] == [
        "What is Hamhung known for?",
        "Is it industrial?",
        "And the food?",
    ]


def _contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        parts = [float(p) for p in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [
            c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
            for c in parts
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("accent", ["#1d4ed8", "#ffd400", "#777777", "#006400"])
def test_text_contrast_meets_wcag_aa(
    page: Page, server: ServerProcess, allowed_site: HostSite, accent: str
) -> None:
    page.goto(host_page(allowed_site, server, attributes=f'data-accent="{accent}"'))
    page.get_by_role("button", name="Ask about culture").click()
    ask(page, NOODLES)
    last_answer(page)
    pairs = page.evaluate(
        """() => {
            const root = document.querySelector('cultureqa-chat').shadowRoot;
            const background = el => {
                for (let node = el; node; node = node.parentElement) {
                    const bg = getComputedStyle(node).backgroundColor;
                    if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg;
                }
                return 'rgb(255, 255, 255)';
            };
            const selectors = ['.launcher span', 'header h2', 'header .icon', '.msg.q p',
                '.answer-text', 'a.cite', '.more-toggle', '.send', 'input', '.greeting p'];
            return selectors.map(s => {
                const el = root.querySelector(s);
                return [s, getComputedStyle(el).color, background(el)];
            });
        }"""
    )
    for selector, foreground, background in pairs:
        ratio = _contrast(foreground, background)
        assert ratio >= 4.5, f"{selector}: {foreground} on {background} is {ratio:.2f}:1"
