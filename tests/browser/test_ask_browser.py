"""The conversation on /ask in a real browser, with JavaScript on and off: a question, the guided facts, a
follow-up, a change of nation and starting again; accessible in every state, no request off the site, nothing
of the conversation in a log."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

# tests/browser/conftest.py's `open_context`: a browser context of a test's own, with motion reduced.
OpenContext = Callable[..., BrowserContext]

WHAT_DO_I_DO = "what do I do?"
LAW = "Which law makes it a crime to share a nude image of a child?"
URGENT = "A pupil has just told me she is going to kill herself tonight"
# The answers given to the guided questions; any other question is answered no.
ANSWERS = {"nation": "wales", "adult": "yes", "shared": "yes"}


@dataclass
class Walk:
    """A conversation walked through in a browser, and the address of every state it reached."""

    page: Page
    js: bool
    states: list[str] = field(default_factory=list)
    seen: Callable[[Page], None] = lambda page: None

    def step(self, do: Callable[[], None], fragment: str, focus: str) -> None:
        """Do something; the page lands on the fragment (no JavaScript) or moves focus to `focus`."""
        if self.js:
            do()
            expect(self.page.locator(f"#{focus}")).to_be_focused()
            expect(self.page.locator("#ask-status")).to_contain_text(self.page.inner_text(f"#{focus}").strip())
            assert self.page.evaluate("window.__same_page") == "yes", "no page load"
        else:
            with self.page.expect_navigation():
                do()
            assert urlsplit(self.page.url).fragment == fragment
            expect(self.page.locator(f"#{focus}")).to_be_visible()
        self.states.append(self.page.url)
        self.seen(self.page)

    def ask(self, question: str, turn: int) -> None:
        self.page.fill("#q", question)
        self.step(lambda: self.page.click("#ask-form button[type=submit]"), f"turn-{turn}", f"turn-{turn}-answer")


def walk(page: Page, js: bool, marker: str = "", seen: Callable[[Page], None] = lambda page: None) -> Walk:
    """Question, guided facts, follow-up, change of nation, start again."""
    w = Walk(page, js, seen=seen)
    page.goto("/ask")
    if js:
        page.evaluate("window.__same_page = 'yes'")
    w.states.append(page.url)
    seen(page)
    # A question: the first steps, and the first fact to answer.
    w.ask(WHAT_DO_I_DO, 1)
    expect(page.locator("#turn-1 .first-steps li")).not_to_have_count(0)
    # The guided facts, one at a time, until the decision aid's result.
    for _ in range(12):
        if page.locator(".guide__form").count() == 0:
            break
        name = page.locator(".guide__form input[type=radio]").first.get_attribute("name")
        assert name
        page.check(f"#guide-{name}-{ANSWERS.get(name, 'no')}")
        w.step(lambda: page.click(".guide__form button[type=submit]"), "guide-next", "guide-next")
    expect(page.locator("#guide-next")).to_have_text("Make a child protection referral")
    expect(page.locator(".guide__result")).to_contain_text("In Wales:")
    expect(page.locator(".next-steps__flagged")).to_contain_text("Get the image taken down")
    # A follow-up offered under the first answer.
    follow = page.locator("#turn-1 .followups a").first
    w.step(follow.click, "turn-2", "turn-2-answer")
    expect(page.locator(".turn")).to_have_count(2)
    # A law question, asked in the nation the facts gave.
    w.ask(f"{LAW} {marker}".strip(), 3)
    expect(page.locator("#turn-3-law")).to_have_text("The law in Wales")
    # A change of nation: the answer about where the child lives is changed (the aid's questions start again,
    # the law turn offers the nations), then a nation is chosen in the law turn.
    change = page.locator(".answers-list__change a").first
    w.step(change.click, "guide-next", "guide-next")
    expect(page.locator("#guide-next")).to_have_text("Where in the UK does the child live?")
    expect(page.locator("#turn-3-law")).to_have_text("The law depends on where you work")
    expect(page.locator("#turn-3 .law")).to_have_count(0)
    w.step(page.locator("#turn-3 .nation-choice__link", has_text="Scotland").click, "turn-3-law", "turn-3-law")
    expect(page.locator("#turn-3-law")).to_have_text("The law in Scotland")
    expect(page.locator("#guide-next")).to_have_text("Is a child in immediate danger?")
    assert ("nation", "scotland") in parse_qsl(urlsplit(page.url).query)
    # Start again: an empty page, the nation kept.
    with page.expect_navigation():
        page.click("text=Start again")
    assert urlsplit(page.url).path == "/ask" and parse_qsl(urlsplit(page.url).query) == [("nation", "scotland")]
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.locator("#nation")).to_have_value("scotland")
    w.states.append(page.url)
    seen(page)
    return w


def test_a_whole_conversation_with_javascript_on(
        open_context: OpenContext, logged_url: str, caplog: pytest.LogCaptureFixture,
        csp_watch: Callable[[Page], Callable[[], list[str]]], assert_accessible: Callable[[Page], None]) -> None:
    # One walk, on the site with its request log on as in production: accessible in every state, only the site's
    # own requests, no CSP violation, and nothing of the conversation in the log.
    marker = f"marker{uuid.uuid4().hex[:10]}"
    context = open_context(base_url=logged_url)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    try:
        page = context.new_page()
        violations = csp_watch(page)
        with caplog.at_level(logging.DEBUG):
            w = walk(page, js=True, marker=marker, seen=assert_accessible)
        assert violations() == []
    finally:
        context.close()
    assert len(w.states) >= 10, w.states
    assert all(url.startswith(logged_url + "/") for url in requests), requests
    assert any("/ask?" in url and "danger=no" in url for url in requests), "turns are fetched from the site"
    lines = [r.getMessage() for r in caplog.records if r.name == "app"]
    assert any(re.fullmatch(r"GET /ask 200 [\d.]+ms id=[0-9a-f]{12}", line) for line in lines), lines
    assert marker not in caplog.text
    assert "what do I do" not in caplog.text and "Scotland" not in caplog.text


def test_a_whole_conversation_with_javascript_off(open_context: OpenContext, base_url: str, page: Page,
                                                  assert_accessible: Callable[[Page], None]) -> None:
    context = open_context(java_script_enabled=False, base_url=base_url)
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    try:
        w = walk(context.new_page(), js=False)
    finally:
        context.close()
    assert all(url.startswith(base_url + "/") for url in seen), seen
    # axe needs JavaScript to run: every state the walk reached is checked in a page that has it.
    for state in w.states:
        page.goto(state)
        assert_accessible(page)


def test_going_back_in_history_shows_the_earlier_state(page: Page) -> None:
    page.goto("/ask")
    page.evaluate("window.__same_page = 'yes'")
    page.fill("#q", WHAT_DO_I_DO)
    page.click("#ask-form button[type=submit]")
    expect(page.locator("#turn-1-answer")).to_be_focused()
    page.fill("#q", LAW)
    page.click("#ask-form button[type=submit]")
    expect(page.locator("#turn-2-answer")).to_be_focused()
    page.go_back()
    expect(page.locator(".turn")).to_have_count(1)
    assert page.evaluate("window.__same_page") == "yes"


def test_without_a_nation_a_law_answer_is_short(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/ask?q=" + quote(LAW))
    law = page.locator("#turn-1-law").locator("xpath=..")
    box = law.bounding_box()
    assert box and box["height"] < 600, box
    expect(law.locator(".law")).to_have_count(0)
    expect(law.locator(".nation-choice__link")).to_have_count(4)


SCREENS = {
    "thread": "/ask?" + "&".join([f"t={quote(WHAT_DO_I_DO)}", "t=" + quote("Should I look at the image?"),
                                  "q=" + quote(LAW), "nation=wales", "danger=no"]),
    "guided-steps": "/ask?q=" + quote(WHAT_DO_I_DO),
    "guided-result": "/ask?q=" + quote(WHAT_DO_I_DO) + "&danger=no&adult=yes&coerced=no&content=no&under-13=no"
                     "&harm=no&shared=yes&nation=england",
    "urgent-turn": "/ask?t=" + quote(WHAT_DO_I_DO) + "&q=" + quote(URGENT) + "&danger=yes",
}


@pytest.mark.parametrize("name", SCREENS)
def test_conversation_screens_are_accessible_at_phone_and_desktop_widths(
        page: Page, name: str, assert_good_at_widths: Callable[[Page, str, str], None]) -> None:
    assert_good_at_widths(page, SCREENS[name], f"ask-{name}")
