"""Issue 16's acceptance in Chromium, with third-party cookies blocked: the emulated LMS
(http://localhost:PORT) frames the tool (http://127.0.0.1:PORT, another site); the OIDC login,
the platform's form post and the launch happen inside the iframe. An instructor places the
chat by deep linking (the platform verifies the signed response), a learner asks and is
answered from the course's collection only, and the instructor then sees the course's
insights. The real model, a real `cultureqa serve`, a real browser.

With CULTUREQA_DOCS_SCREENSHOTS=1 the screenshots are also written to docs/images/ (the
README's)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Frame,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from cultureqa.embedding.base import Embedder
from cultureqa.index.ingest import ingest
from cultureqa.testing import ServerProcess, running_server
from tests.helpers import CORPUS, REPO, WIDGET_CORPUS
from tests.lti.conftest import ADMIN_KEY
from tests.lti.platform import Emulator, running_platform

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as it will be for everyone: third-party cookies blocked.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--test-third-party-cookie-phaseout",
]
ARTIFACTS = REPO / "test-artifacts"
DOCS_IMAGES = REPO / "docs" / "images"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_platform() as platform:
        yield platform


@pytest.fixture(scope="module")
def tool(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder, emulator: Emulator
) -> Iterator[ServerProcess]:
    """`cultureqa serve` with two courses' collections (Hamhung's article; Kyoto's) and the
    emulated platform registered through the admin API."""
    tmp = tmp_path_factory.mktemp("lti-server")
    for name, article in [
        ("korea-101", CORPUS / "hamhung-culture.md"),
        ("japan-201", WIDGET_CORPUS / "kyoto-culture.md"),
    ]:
        (tmp / "articles" / name).mkdir(parents=True)
        shutil.copy(article, tmp / "articles" / name)
        ingest([tmp / "articles" / name], tmp / "index" / name, real_embedder)
    env = {"CULTUREQA_ADMIN_KEYS": f'["{ADMIN_KEY}"]'}
    args = ["--index-dir", str(tmp / "index"), "--corpus-dir", str(CORPUS)]
    with running_server(args, tmp / "server.log", cwd=REPO, env=env) as up:
        emulator.tool_url = up.url
        added = httpx.post(
            f"{up.url}/admin/lti/platforms",
            json=emulator.registration(),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
        )
        assert added.status_code == 201, added.text
        yield up


class _Probe(BaseHTTPRequestHandler):
    """A third party on the tool's site: sets a plain (unpartitioned) SameSite=None cookie,
    then shows which cookies came back."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/set":
            self.send_response(302)
            self.send_header("Set-Cookie", "probe=1; SameSite=None; Secure; Path=/")
            self.send_header("Location", "/read")
            self.end_headers()
            return
        body = f"<p id='cookies'>{self.headers.get('Cookie') or 'none'}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def probe() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 900, "height": 760})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def tool_frame(page: Page) -> Frame:
    frame = page.frame(name="tool")
    assert frame is not None
    return frame


def screenshot(target: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / name))
    if os.environ.get("CULTUREQA_DOCS_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / name, DOCS_IMAGES / name)


def ask(frame: Frame, question: str) -> None:
    frame.get_by_role("textbox", name="Your question").fill(question)
    frame.get_by_role("button", name="Send").click()
    answer = frame.locator(".turn").last.locator(".msg.a")
    expect(answer.locator(".answer-text, .nothing, .error")).to_be_visible(timeout=60_000)


def test_the_browser_blocks_third_party_cookies(page: Page, emulator: Emulator, probe: str) -> None:
    """The control: in this browser a framed third party's ordinary cookie is not kept."""
    page.goto(f"{emulator.issuer}/jwks")  # a localhost page, to frame the probe from
    page.set_content(f'<iframe name="tool" src="{probe}/set"></iframe>')
    expect(tool_frame(page).locator("#cookies")).to_have_text("none", timeout=10_000)


# long: the acceptance's story in order, one browser session per role
def test_place_launch_ask_and_see_the_insights_in_an_lms_iframe(
    page: Page, emulator: Emulator, tool: ServerProcess
) -> None:
    # 1. The instructor adds the chat to the course (deep linking).
    page.goto(f"{emulator.issuer}/course?course=course-korea&role=instructor&user=t-1&deep=1")
    frame = tool_frame(page)
    expect(frame.get_by_role("heading", name="Add the chat to Course course-korea")).to_be_visible(
        timeout=30_000
    )
    frame.locator("select[name=collection]").select_option("korea-101")
    frame.get_by_label("Heading of the chat panel.").fill("Ask about Hamhung")
    screenshot(page, "lti-deep-linking.png")
    frame.get_by_role("button", name="Add to the course").click()
    expect(frame.locator("#added")).to_have_text(
        "Added to the course: Ask about Hamhung", timeout=30_000
    )
    [placed] = emulator.deep_links
    assert placed.claims["aud"] == emulator.issuer
    assert placed.items[0]["custom"] == {"title": "Ask about Hamhung"}
    assert placed.items[0]["url"] == f"{tool.url}/lti/launch"

    # 2. A learner launches it and asks: answered from the course's collection only.
    page.goto(f"{emulator.issuer}/course?course=course-korea&role=learner&user=learner-1")
    frame = tool_frame(page)
    ask(frame, "What cold noodle dish is Hamhung known for?")
    answer = frame.locator(".turn").last
    expect(answer.locator(".answer-text")).to_contain_text("noodle")
    expect(answer.locator("a[href*='/articles/hamhung-culture']").first).to_be_attached()
    # The options chosen when placing it came back, signed, with the launch.
    expect(frame.get_by_text("Ask about Hamhung")).to_be_visible()
    screenshot(page, "lti-learner.png")
    ask(frame, "What do people eat at Nishiki Market in Kyoto?")
    assert frame.locator("a[href*='kyoto']").count() == 0  # the other course's article
    # The page's session opens no other collection, even when asked by hand.
    other = frame.evaluate(
        """async () => {
            const token = document.querySelector('script[data-token]').dataset.token;
            const answer = await fetch('/ask', {method: 'POST', headers: {
                'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token},
                body: JSON.stringify({question: 'What is kaiseki?', collection: 'japan-201'})});
            return answer.status;
        }"""
    )
    assert other == 403

    # 3. The instructor launches it: the chat and the course's insights.
    page.goto(f"{emulator.issuer}/course?course=course-korea&role=instructor&user=t-1")
    frame = tool_frame(page)
    expect(frame.locator("#insights")).to_have_text(
        "What the course asks (korea-101)", timeout=30_000
    )
    expect(frame.locator("#asks")).to_have_text("2")
    frame.evaluate("document.getElementById('insights').scrollIntoView()")
    screenshot(page, "lti-instructor.png")
    # The date form posts the session, not a cookie: it works in the iframe too.
    frame.get_by_role("button", name="Show").click()
    expect(frame.locator("#asks")).to_have_text("2", timeout=30_000)


def test_a_launch_in_another_course_is_refused_until_it_is_placed(
    page: Page, emulator: Emulator, tool: ServerProcess
) -> None:
    page.goto(f"{emulator.issuer}/course?course=course-elsewhere&role=learner&user=learner-2")
    frame = tool_frame(page)

    expect(frame.get_by_role("heading", name="This launch was refused")).to_be_visible(
        timeout=30_000
    )
    expect(frame.locator("#reason")).to_have_text("this course has no collection yet")
    assert frame.locator("[data-token]").count() == 0
    screenshot(page, "lti-refused.png")


@pytest.fixture(scope="module")
def cookieless_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium for a browser that keeps no cookie in the iframe: the tests strip the tool's
    Set-Cookie with Playwright's routing, whose answers Chromium takes for a public server's,
    so its local-network checks are off here (everything is on loopback anyway)."""
    args = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"]
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
    yield launched
    launched.close()


@pytest.fixture
def cookieless_page(cookieless_browser: Browser) -> Iterator[Page]:
    context = cookieless_browser.new_context(viewport={"width": 900, "height": 760})
    opened = context.new_page()
    keep_no_cookie_from_the_tool(opened)
    yield opened
    context.close()


def keep_no_cookie_from_the_tool(page: Page) -> None:
    """A browser that keeps no cookie at all in the LMS's iframe (Safari, say, which blocks
    partitioned cookies too): the login's Set-Cookie never reaches it."""

    def strip(route: Route) -> None:
        response = route.fetch(max_redirects=0)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
        route.fulfill(response=response, headers=headers)

    page.route("**/lti/login", strip)


def test_without_cookies_the_platform_storage_binds_the_login(
    cookieless_page: Page, emulator: Emulator, tool: ServerProcess
) -> None:
    """LTI Client Side postMessages: the login puts the state's binding in the platform's
    frame, the launch reads it back and posts again."""
    page = cookieless_page
    launches: list[str] = []
    page.on(
        "request", lambda r: launches.append(r.method) if r.url.endswith("/lti/launch") else None
    )

    page.goto(f"{emulator.issuer}/course?course=course-korea&role=learner&user=l-3&storage=1")
    frame = tool_frame(page)

    expect(frame.get_by_role("textbox", name="Your question")).to_be_visible(timeout=30_000)
    assert frame.locator("script[data-token]").count() == 1
    assert launches == ["POST", "POST"]  # the platform's, then the tool's own with the binding


def test_without_cookies_or_platform_storage_the_launch_is_refused(
    cookieless_page: Page, emulator: Emulator, tool: ServerProcess
) -> None:
    page = cookieless_page

    page.goto(f"{emulator.issuer}/course?course=course-korea&role=learner&user=l-4")
    frame = tool_frame(page)

    expect(frame.locator("#reason")).to_have_text(
        "this browser started no login for this launch (no state cookie)", timeout=30_000
    )
