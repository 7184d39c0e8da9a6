"""In a real browser: accessible, private, CSP-clean, printable, usable by keyboard, at 320px, without JS."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page

# tests/browser/conftest.py's `open_context`: a browser context of a test's own, with motion reduced.
OpenContext = Callable[..., BrowserContext]

# tests/browser/conftest.py's `screenshots`: saves a screenshot when KB_SCREENSHOTS=1.
Shoot = Callable[..., None]

LAW_QUESTION = "Which law makes it a crime to share a nude image of a child?"
PAGE_TYPES = {
    "home": "/",
    "home-for-a-role": "/?audience=dsl",
    "search-form": "/search",
    "search-results": "/search?q=nudes",
    "search-corrected": "/search?q=sextign",
    "search-no-results": "/search?q=zxqvbnm+qwzzy&spell=0",
    "ask-form": "/ask",
    "ask-answer": "/ask?q=" + quote("What should I do with a nude image?"),
    "ask-law-choose-nation": "/ask?q=" + quote(LAW_QUESTION),
    "ask-law-one-nation": "/ask?nation=scotland&q=" + quote(LAW_QUESTION),
    "ask-urgent": "/ask?q=" + quote("A pupil has just told me she is going to kill herself tonight"),
    "ask-not-covered": "/ask?q=" + quote("Can you give me a recipe for banana bread?"),
    "ask-young-person": "/ask?q=" + quote("someone has my nudes and says he'll post them tonight"),
    "ask-thread": "/ask?t=" + quote("what do I do?") + "&t=" + quote("Should I look at the image?") + "&q="
                  + quote(LAW_QUESTION) + "&nation=wales&danger=no",
    "ask-guided-result": "/ask?q=" + quote("what do I do?") + "&danger=no&adult=yes&coerced=no&content=no"
                         "&under-13=no&harm=no&shared=yes&nation=scotland",
    "article": "/articles/what-to-do-with-an-image",
    "article-law": "/articles/the-law",
    "legislation": "/legislation",
    "legislation-nation": "/legislation/northern-ireland",
    "references": "/references",
    "contacts": "/contacts",
    "glossary": "/glossary",
    "about": "/about",
    "accessibility": "/accessibility",
    "privacy": "/privacy",
    "changes": "/changes",
    "report-a-mistake": "/report-a-mistake",
    "not-found": "/articles/no-such-page",
    "bad-request": "/search?q=x&nation=mars",
}
STATUS = {"not-found": 404, "bad-request": 400}


def visit(page: Page, name: str) -> None:
    response = page.goto(PAGE_TYPES[name])
    assert response is not None, name
    assert response.status == STATUS.get(name, 200), (name, response.status)


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_each_page_type_stays_on_the_site_passes_axe_and_fits_320_pixels(
        reused_page: Page, reused_csp: Callable[[], list[str]], request_log: list[str], base_url: str, name: str,
        screenshots: Shoot, assert_accessible: Callable[[Page], None], assert_fits: Callable[[Page, str], None]
) -> None:
    # One load per page type for the three checks: a browser context and a page load cost more than a check.
    page = reused_page
    visit(page, name)
    page.wait_for_load_state("load")
    assert request_log, "the page itself is recorded"
    assert all(url.startswith(base_url + "/") for url in request_log), request_log
    assert any("/static/site.css" in url for url in request_log)
    assert reused_csp() == []
    screenshots(page, f"{name}")
    assert_accessible(page)
    # The layout answers to the width through CSS alone (site.js reads no size), so a resize is a phone's view.
    page.set_viewport_size({"width": 320, "height": 640})
    if name in ("home", "article", "ask-answer", "ask-thread", "search-results", "legislation-nation"):
        screenshots(page, f"{name}-320")
    assert_fits(page, name)


def test_axe_finds_nothing_on_the_unavailable_page(open_context: OpenContext, unavailable_url: str, screenshots: Shoot,
                                                   assert_accessible: Callable[[Page], None]) -> None:
    context = open_context(base_url=unavailable_url)
    try:
        page = context.new_page()
        response = page.goto("/")
        assert response is not None and response.status == 503
        assert "999" in page.inner_text(".emergency") and "0808 800 5000" in page.inner_text("main")
        screenshots(page, "unavailable")
        assert_accessible(page)
    finally:
        context.close()


def test_the_csp_listener_catches_a_violation(page: Page, csp_violations: Callable[[], list[str]]) -> None:
    page.goto("/")
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
                  " document.body.appendChild(s); }")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.x") is None
    assert "script-src" in csp_violations()[0]


def test_a_shared_page_starts_each_test_clean(shared_page: Callable[[], Any]) -> None:
    # The page-type tests share one page: what one test left (a violation reported, a phone's width) is gone for
    # the next, which gets the same page back.
    first = shared_page()
    width = first.page.viewport_size
    first.page.goto("/")
    first.page.set_viewport_size({"width": 320, "height": 640})
    first.page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
                        " document.body.appendChild(s); }")
    first.page.wait_for_function("window.__csp.length > 0")
    assert first.csp()
    following = shared_page()
    assert following.page is first.page
    assert following.page.viewport_size == width and width != {"width": 320, "height": 640}
    following.page.goto("/contacts")
    assert following.csp() == []


def test_the_accessibility_check_catches_a_violation_in_a_later_state(
        page: Page, assert_accessible: Callable[[Page], None]) -> None:
    page.goto("/")
    assert_accessible(page)
    # The same document in a new state (axe already injected): an image with no text alternative.
    page.evaluate("() => { const i = document.createElement('img'); i.src = '/static/favicon.svg';"
                  " document.querySelector('main').appendChild(i); }")
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_the_width_check_catches_a_page_that_scrolls_sideways(
        page: Page, assert_fits: Callable[[Page, str], None]) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/")
    assert_fits(page, "home")
    page.evaluate("() => { const d = document.createElement('div'); d.style.width = '2000px';"
                  " d.textContent = 'wide'; document.querySelector('main').appendChild(d); }")
    with pytest.raises(AssertionError, match="scrolls sideways at 320px"):
        assert_fits(page, "home")


def test_journey_with_javascript_off(open_context: OpenContext, base_url: str, screenshots: Shoot) -> None:
    context = open_context(java_script_enabled=False, base_url=base_url)
    try:
        page = context.new_page()
        page.goto("/")
        page.fill("#q", "what to do with a nude image")
        page.click("main button[type=submit]")
        page.wait_for_url("**/search?q=what+to+do+with+a+nude+image")
        first = page.locator(".result__title a").first
        heading = first.inner_text()
        first.click()
        page.wait_for_url(re.compile(r".*/articles/[a-z0-9-]+#[a-z0-9-]+$"))
        assert page.locator("h1").count() == 1
        assert page.locator(f"h2:has-text({heading!r}), h3:has-text({heading!r})").count() >= 1
        assert page.locator("[data-print]").is_hidden(), "the print button needs JavaScript"
        page.click("nav[aria-label=Main] >> text=Ask a question")
        page.wait_for_url("**/ask")
        page.fill("#q", LAW_QUESTION)
        page.click(".ask-form button[type=submit]")
        page.wait_for_url("**/ask?q=*#turn-1")
        assert page.locator("#turn-1-answer").is_visible()
        assert page.locator("#turn-1-law").inner_text() == "The law depends on where you work"
        page.fill("#q", "and in Scotland?")
        page.click(".ask-form button[type=submit]")
        page.wait_for_url("**/ask?t=*&q=and+in+Scotland*#turn-2")
        assert page.locator("#turn-2-law").inner_text() == "The law in Scotland"
        screenshots(page, "journey-no-js-follow-up")
    finally:
        context.close()


def test_print_hides_navigation_and_shows_where_the_paper_came_from(page: Page, screenshots: Shoot) -> None:
    page.goto("/articles/the-law")
    assert page.locator(".print-footer").is_hidden()
    page.emulate_media(media="print")
    assert page.evaluate("matchMedia('print').matches")
    for selector in ("nav[aria-label=Main]", ".header__search", "nav.contents", ".footer nav", ".skip-link"):
        assert page.locator(selector).is_hidden(), selector
    footer = page.locator(".print-footer")
    assert footer.is_visible()
    printed = r"Printed \d{1,2} \w+ \d{4} from http://127\.0\.0\.1:\d+/articles/the-law"
    assert re.search(printed, footer.inner_text())
    assert "Check online for the latest version" in footer.inner_text()
    shown = page.evaluate("""() => getComputedStyle(
        document.querySelector('main a[href^="https://"]'), '::after').content""")
    assert "https://" in shown, "link addresses are printed after links"
    screenshots(page, "article-print")
    assert page.pdf()[:4] == b"%PDF"


def test_keyboard_reaches_the_skip_link_and_search(page: Page) -> None:
    page.goto("/articles/when-to-refer")
    page.keyboard.press("Tab")
    skip = page.evaluate("() => [document.activeElement.className,"
                         " document.activeElement.getAttribute('href')]")
    assert skip == ["skip-link", "#main_content"]
    box = page.locator(".skip-link").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is on screen"
    assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") == "rgb(255, 221, 0)"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main_content"
    page.goto("/articles/when-to-refer")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "header_q":
            break
    assert page.evaluate("document.activeElement.id") == "header_q"
    page.keyboard.type("referral")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=referral")
    assert page.locator(".result").count() > 0


def test_focus_is_visible_on_links_and_inputs(page: Page) -> None:
    page.goto("/")
    page.focus("#q")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineColor") == "rgb(255, 221, 0)"
    page.focus(".task-list__link")
    assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") == "rgb(255, 221, 0)"


def test_reduced_motion_is_respected(page: Page) -> None:
    page.emulate_media(reduced_motion="no-preference")
    page.goto("/")
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "smooth"
    page.emulate_media(reduced_motion="reduce")
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "auto"


def test_print_button_works_with_javascript_on(page: Page) -> None:
    page.goto("/articles/the-law")
    assert page.locator("[data-print]").is_visible()
