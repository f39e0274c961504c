"""Issue 14's acceptance, in Chromium: 30 questions through the widget (10 that no article
answers), 5 of them rated thumbs down, then the owner signs in to /admin/insights and sees 30
asks, 10 unanswered, the unanswered grouped by meaning, the thumbs-down list and the charts;
the CSV export has the same counts. The real model, a real server, a real browser."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from cultureqa.testing import ServerProcess, running_server
from tests.helpers import REPO
from tests.http.test_widget import (  # noqa: F401 - fixtures, found by name
    ask,
    browser,
    context,
    last_answer,
    page,
    screenshot,
)

pytestmark = pytest.mark.slow

KEY = "insights-admin-key-" + "x" * 16
ANSWERED = [
    "What cold noodle dish is Hamhung known for?",
    "What do people eat in Kyoto?",
    "How many Buddhist temples does Kyoto have?",
    "What is Fushimi Inari known for?",
    "When is the Gion Matsuri held in Kyoto?",
    "What does the Aoi Matsuri recreate?",
    "What street food is sold at Nishiki Market?",
    "Which festival fills Kyoto's streets with wooden floats?",
    "How long was Kyoto the capital of Japan?",
    "What is kaiseki in Kyoto?",
    "What do families in Kyoto share in winter?",
    "How many Shinto shrines are in Kyoto?",
    "What is the future of Hamhung?",
    "What is yuba in Kyoto?",
    "What happens at the Lantern Festival of Velmora?",
    "What are the paper lanterns on the river in Velmora?",
    "What is the resilience of Hamhung's people?",
    "What regional specialties does Hamhung have?",
    "What are the torii gates at Fushimi Inari?",
    "What is the Gion Matsuri?",
]
# No article covers these places; three themes come back more than once.
UNANSWERED = [
    "What do people eat in Lima?",
    "What food is typical in Lima?",
    "What dishes do people in Lima cook?",
    "How do people celebrate New Year in Scotland?",
    "How is New Year celebrated in Edinburgh?",
    "What music is popular in Havana?",
    "What music do people play in Havana?",
    "What is the main religion in Nepal?",
    "What language is spoken in Quebec?",
    "What sport is popular in New Zealand?",
]
THUMBS_DOWN = ANSWERED[:5]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, places_corpus: Path
) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("insights-server")
    env = {
        "CULTUREQA_ADMIN_KEYS": json.dumps([KEY]),
        "CULTUREQA_FEEDBACK_PATH": str(tmp / "feedback.jsonl"),
        "CULTUREQA_RATE_LIMIT_PER_MINUTE": "0",
    }
    args = ["--index-dir", str(tmp / "index"), "--corpus-dir", str(places_corpus)]
    with running_server(args, tmp / "server.log", cwd=REPO, env=env) as up:
        yield up


def test_thirty_questions_then_the_insights_page(page: Page, server: ServerProcess) -> None:  # noqa: F811
    ordered = ANSWERED[:10] + UNANSWERED[:5] + ANSWERED[10:] + UNANSWERED[5:]
    page.goto(f"{server.url}/embed")
    unanswered_seen = 0
    for question in ordered:
        # "New conversation" between questions: each is asked on its own, not as a follow-up.
        page.get_by_role("button", name="New conversation").click()
        ask(page, question)
        answer = last_answer(page)
        if question in UNANSWERED:
            expect(answer.locator(".nothing")).to_be_visible()
            unanswered_seen += 1
        else:
            expect(answer.locator(".answer-text")).to_be_visible()
        if question in THUMBS_DOWN:
            answer.get_by_role("button", name="Not helpful", exact=True).click()
            expect(answer.get_by_text("Thanks for your feedback.")).to_be_visible()
    assert unanswered_seen == 10

    page.goto(f"{server.url}/admin/insights")
    page.get_by_label("Admin key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#asks")).to_have_text("30")
    expect(page.locator("#unanswered")).to_have_text("10")
    expect(page.locator("svg[role=img]")).to_have_count(2)
    expect(page.locator("svg rect.bar").first).to_be_attached()
    expect(page.locator("#thumbs-down tr.thumbs-down")).to_have_count(5)
    for question in THUMBS_DOWN:
        expect(page.locator("#thumbs-down")).to_contain_text(question)
    # 15 questions (10 unanswered, 5 thumbs down) in fewer groups: Lima's food together.
    groups = page.locator("#gaps tr.gap")
    sizes = [int(size) for size in groups.locator("td:first-child").all_inner_texts()]
    assert sum(sizes) == 15 and len(sizes) < 15
    lima = groups.filter(has_text="Lima")
    expect(lima).to_have_count(1)
    expect(lima.locator("td").first).to_have_text("3")
    screenshot(page, "insights.png")

    # The CSV export, with the session the form set (the browser's cookie), has the same counts.
    cookies = {
        c["name"]: c["value"] for c in page.context.cookies() if c["name"] == "cultureqa_admin"
    }
    exported = httpx.get(
        f"{server.url}/admin/insights/export", params={"format": "csv"}, cookies=cookies, timeout=30
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    summary = next(row for row in rows if row["table"] == "summary")
    assert (summary["count"], summary["unanswered"]) == ("30", "10")
    assert sum(1 for row in rows if row["table"] == "thumbs_down") == 5
    assert sum(int(row["count"]) for row in rows if row["table"] == "gap") == 15
