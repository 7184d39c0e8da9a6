"""Issue 13 in a real browser: the header and emergency strip fit a phone, the menu holds the tools, a result shows
before scrolling, highlights are light, printed links are absolute, the nation follows a whole journey, and axe
finds nothing on the new page states."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

# tests/browser/conftest.py's `open_context`: a browser context of a test's own, with motion reduced.
OpenContext = Callable[..., BrowserContext]

# tests/browser/conftest.py's `screenshots`: saves a screenshot when KB_SCREENSHOTS=1.
Shoot = Callable[..., None]

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
HEADER_PAGES = ["/", "/search?q=who+do+I+tell", "/articles/when-to-refer", "/legislation/scotland", "/decide",
                "/ask"]


@pytest.fixture(scope="module", params=[True, False], ids=["js", "no-js"])
def phone_context(request: pytest.FixtureRequest, open_context: OpenContext, base_url: str
                  ) -> Iterator[BrowserContext]:
    """A 390px-wide browser context, with JavaScript on and off, for this module's phone tests (a context costs
    twice a page; the site leaves nothing in one for the next test)."""
    context: BrowserContext = open_context(viewport=PHONE, base_url=base_url, java_script_enabled=request.param)
    yield context
    context.close()


@pytest.fixture(scope="module")
def phone_pages(phone_context: BrowserContext, reuse: Callable[[BrowserContext], AbstractContextManager[Any]]
                ) -> Iterator[Callable[[], Any]]:
    """The one page of each phone context that this module's tests share (tests/browser/conftest.py's reusing)."""
    with reuse(phone_context) as get:
        yield get


@pytest.fixture
def phone(phone_pages: Callable[[], Any]) -> Page:
    """A 390px-wide page, shared by this module's tests: each loads its own address first."""
    page: Page = phone_pages().page
    return page


@pytest.mark.parametrize("url", HEADER_PAGES)
def test_the_header_and_emergency_strip_are_at_most_200px_tall_on_a_phone(phone: Page, url: str) -> None:
    phone.goto(url)
    bottom = phone.evaluate("document.querySelector('.emergency').getBoundingClientRect().bottom")
    assert bottom <= 200, f"{url}: the header and the emergency strip end at {bottom}px"
    assert phone.locator(".emergency").inner_text().count("999") == 1


def test_the_menu_opens_on_a_phone_and_holds_the_tools(phone: Page) -> None:
    phone.goto("/articles/the-law")
    links = phone.locator("nav[aria-label=Main] a")
    assert not links.first.is_visible(), "the menu starts closed on a phone"
    phone.locator(".menu__toggle").focus()
    phone.keyboard.press("Enter")
    for name in ("Decision aid", "Record sheet", "Policy checklist", "Ask a question", "The law", "Contacts"):
        assert phone.locator("nav[aria-label=Main]").get_by_role("link", name=name).is_visible(), name
    assert phone.locator("#header_q").is_visible()
    phone.locator("nav[aria-label=Main]").get_by_role("link", name="Record sheet").click()
    phone.wait_for_url("**/record")


def test_on_a_wide_screen_the_menu_is_shown_without_a_button(open_context: OpenContext, base_url: str) -> None:
    context = open_context(viewport=WIDE, base_url=base_url)
    try:
        page = context.new_page()
        page.goto("/articles/the-law")
        assert page.locator(".menu__toggle").is_hidden()
        nav = page.locator("nav[aria-label=Main]")
        for name in ("Home", "Decision aid", "Record sheet", "Policy checklist", "Contacts"):
            assert nav.get_by_role("link", name=name).is_visible(), name
        tops = {round(box["y"]) for box in (a.bounding_box() for a in nav.locator("a").all()) if box}
        assert len(tops) == 1, "the menu is one row on a wide screen"
        bottom = page.evaluate("document.querySelector('.emergency').getBoundingClientRect().bottom")
        assert bottom <= 240
    finally:
        context.close()


def test_on_a_phone_a_result_shows_before_scrolling_and_the_filters_come_after(phone: Page) -> None:
    phone.goto("/search?q=who+do+I+tell")
    first = phone.locator(".result").first.bounding_box()
    assert first and first["y"] + 60 <= PHONE["height"], f"the first result starts at {first}"
    filters = phone.locator("#filters_heading").bounding_box()
    assert filters and filters["y"] > first["y"]


def test_highlights_are_light(page: Page) -> None:
    page.goto("/search?q=grooming+blackmail")
    mark = page.locator(".result__snippet mark").first
    style = mark.evaluate("m => [getComputedStyle(m).backgroundColor, getComputedStyle(m).fontWeight]")
    assert style[0] in ("rgba(0, 0, 0, 0)", "transparent"), style
    assert int(style[1]) >= 600


def test_printed_links_within_the_site_are_absolute(page: Page, base_url: str) -> None:
    page.goto("/articles/what-to-do-with-an-image")
    page.emulate_media(media="print")
    shown = page.evaluate("""() => getComputedStyle(
        document.querySelector('main a[href^="/"]'), '::after').content""")
    href = page.evaluate("""() => document.querySelector('main a[href^="/"]').getAttribute('href')""")
    assert shown.replace('"', "") == f" ({base_url}{href})", shown


def test_the_nation_follows_a_whole_journey_without_javascript(open_context: OpenContext, base_url: str) -> None:
    context = open_context(viewport=WIDE, base_url=base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/search?q=who+do+I+tell")
        page.select_option("#filter_nation", "scotland")
        page.click("button[form=search]")
        page.wait_for_url(re.compile(r".*nation=scotland.*"))
        page.locator(".result__title a").first.click()
        page.wait_for_url(re.compile(r".*/articles/[a-z-]+\?nation=scotland#.*"))
        page.fill("#header_q", "blackmail")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/search\?q=blackmail&nation=scotland$"))
        assert page.locator("#filter_nation").input_value() == "scotland"
        page.locator("nav[aria-label=Main]").get_by_role("link", name="The law").click()
        page.wait_for_url("**/legislation/scotland")
        page.locator("nav[aria-label=Main]").get_by_role("link", name="Decision aid").click()
        page.wait_for_url("**/decide?nation=scotland")
        page.locator("nav[aria-label=Main]").get_by_role("link", name="Ask a question").click()
        page.wait_for_url("**/ask?nation=scotland")
        assert page.locator("select[name=nation]").input_value() == "scotland"
        page.goto("/legislation/scotland")
        page.select_option("#law_nation", "wales")
        page.click("button[name=show]")
        page.wait_for_url("**/legislation/wales")
        assert page.locator("h1").inner_text() == "The law in Wales"
    finally:
        context.close()


NEW_STATES = {
    "calm-search-page-2": "/search?q=nudes&page=2&nation=scotland",
    "calm-search-short-question": "/search?q=who+do+I+tell",
    "calm-article": "/articles/what-to-do-with-an-image?nation=wales",
    "calm-law-nation": "/legislation/scotland",
    "calm-law-all": "/legislation?nation=england",
    "calm-references": "/references",
}


@pytest.mark.parametrize("name", NEW_STATES)
def test_axe_finds_nothing_on_the_new_page_states(reused_page: Page, name: str, screenshots: Shoot,
                                                  assert_accessible: Callable[[Page], None],
                                                  assert_good_at_widths: Callable[[Page, str, str], None]) -> None:
    assert_good_at_widths(reused_page, NEW_STATES[name], name)
    # At a phone's width the menu opens.
    reused_page.locator(".menu__toggle").click()
    assert reused_page.locator("nav[aria-label=Main] a").first.is_visible()
    screenshots(reused_page, f"{name}-390-menu", full_page=False)
    assert_accessible(reused_page)
