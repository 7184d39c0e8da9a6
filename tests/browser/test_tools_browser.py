"""The tools in a real browser: accessible, CSP-clean, usable by keyboard and without JavaScript, printable,
and the record sheet sends nothing anywhere."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request

ALL_NO = "danger=no&adult=no&coerced=no&content=no&under-13=no&harm=no"
PAGE_TYPES = {
    "decide-first-question": "/decide",
    "decide-criterion": "/decide?danger=no",
    "decide-no-answer": "/decide?danger=no&asked=adult",
    "decide-999": "/decide?danger=yes",
    "decide-refer": "/decide?danger=no&adult=yes&coerced=yes&content=no&under-13=no&harm=no",
    "decide-no-referral": "/decide?" + ALL_NO,
    "decide-bad-address": "/decide?danger=maybe",
    "record": "/record",
    "policy": "/policy?point=law&point=risk",
    "policy-check": "/policy/check?point=law&point=risk",
    "policy-bad-address": "/policy/check?point=nope",
}
STATUS = {"decide-bad-address": 400, "policy-bad-address": 400}
FOCUS = "rgb(255, 221, 0)"


def visit(page: Page, name: str) -> None:
    response = page.goto(PAGE_TYPES[name])
    assert response is not None, name
    assert response.status == STATUS.get(name, 200), (name, response.status)


def active(page: Page, attribute: str = "id") -> str:
    return str(page.evaluate(f"document.activeElement.getAttribute({attribute!r}) || ''"))


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching selector has focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_axe_finds_nothing_on_each_tool_page(page: Page, name: str, screenshots: Path,
                                             assert_accessible: Callable[[Page], None]) -> None:
    visit(page, name)
    page.screenshot(path=screenshots / f"tool-{name}.png", full_page=True)
    assert_accessible(page)


def test_axe_finds_nothing_with_the_details_open_and_the_sheet_filled(
        page: Page, assert_accessible: Callable[[Page], None]) -> None:
    page.goto("/decide?danger=no")
    page.click(".details__summary")
    assert page.locator("main details").get_attribute("open") is not None
    assert_accessible(page)
    page.goto("/record")
    page.fill("#record_feeling", "Upset and worried")
    page.check("#record_adult_2")
    assert_accessible(page)


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_tool_pages_request_only_the_site_and_break_no_csp_rule(
        page: Page, request_log: list[str], base_url: str, name: str, csp_violations: Callable[[], list[str]]) -> None:
    visit(page, name)
    page.wait_for_load_state("load")
    assert csp_violations() == []
    assert request_log and all(url.startswith(base_url + "/") for url in request_log), request_log


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_tool_pages_do_not_scroll_sideways_at_320_pixels(page: Page, name: str, screenshots: Path) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    visit(page, name)
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if name in ("decide-criterion", "decide-refer", "record", "policy"):
        page.screenshot(path=screenshots / f"tool-{name}-320.png", full_page=True)
    assert width[0] <= width[1], f"{name} scrolls sideways at 320px: {width}"


# ---------------------------------------------------------------- the decision aid


def test_keyboard_alone_runs_the_decision_aid_to_a_result(page: Page, screenshots: Path) -> None:
    page.goto("/decide")
    # Yes to the grooming question only: Space picks "Yes", the arrow key moves to "No" and picks it.
    choices = ["no", "no", "yes", "no", "no", "no"]
    for number, choice in enumerate(choices, 1):
        assert f"Question {number} of 6" in page.inner_text("legend")
        tab_to(page, "#answer_yes")
        label_ring = page.evaluate("getComputedStyle(document.querySelector('label[for=answer_yes]'),"
                                   " '::before').boxShadow")
        assert FOCUS in label_ring, "the focused radio shows the focus colour"
        if choice == "yes":
            page.keyboard.press("Space")
        else:
            page.keyboard.press("ArrowRight")
        assert page.is_checked(f"#answer_{choice}")
        if number == 1:
            tab_to(page, ".details__summary")
            page.keyboard.press("Enter")
            assert page.locator("main details").get_attribute("open") is not None
        tab_to(page, ".question-form button[type=submit]")
        assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") == FOCUS
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.inner_text("h1") == "Make a child protection referral"
    assert "A child may have been pressured, blackmailed or groomed" in page.inner_text(".met-list")
    assert re.search(r"coerced=yes", page.url)
    page.screenshot(path=screenshots / "tool-decide-keyboard-result.png", full_page=True)


def test_keyboard_answer_yes_to_immediate_danger_gives_999(page: Page) -> None:
    page.goto("/decide")
    tab_to(page, "#answer_yes")
    page.keyboard.press("Space")
    tab_to(page, ".question-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("h1") == "Call 999 now"
    assert page.locator("main a[href='tel:999']").first.is_visible()


def test_decision_aid_works_without_javascript_and_back_goes_back(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    try:
        page = context.new_page()
        page.goto("/decide")
        # Continue with nothing chosen: the same question, with an error to fix.
        page.click(".question-form button[type=submit]")
        page.wait_for_url("**/decide?asked=danger")
        assert page.locator(".error-summary").is_visible()
        assert page.title().startswith("Error: ")
        for choice in ("No", "No", "No", "No", "No", "No"):
            page.click(f"label:text-is('{choice}')")
            page.click(".question-form button[type=submit]")
        page.wait_for_url(re.compile(r".*harm=no.*"))
        assert page.inner_text("h1") == "None of the five referral situations applies on your answers"
        page.go_back()
        assert page.inner_text("h1") == "Has the sharing of the image put a child at immediate risk of harm?"
        page.click("label:text-is('Yes')")
        page.click(".question-form button[type=submit]")
        page.wait_for_url(re.compile(r".*harm=yes.*"))
        assert page.inner_text("h1") == "Make a child protection referral"
        page.click("a:has-text('Change your answer to: Is an adult involved in the incident?')")
        assert page.inner_text("h1") == "Is an adult involved in the incident?"
        assert "adult=" not in page.url
        page.click("a.back-link")
        assert page.inner_text("h1") == "Is a child in immediate danger?"
    finally:
        context.close()


def test_the_decision_summary_prints_the_date_and_every_answer(page: Page, screenshots: Path) -> None:
    page.goto("/decide?danger=no&adult=yes&coerced=no&content=no&under-13=no&harm=no")
    assert page.locator("[data-print]").is_visible()
    page.emulate_media(media="print")
    for selector in ("nav[aria-label=Main]", ".back-link", ".answers-list__change", ".restart",
                     ".print-action"):
        assert all(not el.is_visible() for el in page.locator(selector).all()), selector
    answers = page.inner_text(".answers-list")
    assert answers.count("Yes") == 1 and answers.count("No") == 5
    assert re.search(r"Answered on \d{1,2} \w+ \d{4}", page.inner_text(".answers"))
    assert page.locator(".print-footer").is_visible()
    page.screenshot(path=screenshots / "tool-decide-print.png", full_page=True)
    assert page.pdf()[:4] == b"%PDF"


# ---------------------------------------------------------------- the record sheet


def test_the_record_sheet_sends_nothing_that_was_typed(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    seen: list[tuple[str, str, str]] = []

    def record(r: Request) -> None:
        seen.append((r.method, r.url, r.post_data or ""))

    context.on("request", record)
    try:
        page = context.new_page()
        page.goto("/record")
        marker = f"marker{uuid.uuid4().hex[:12]}"
        fields = page.locator("main textarea, main input[type=text]").all()
        assert len(fields) >= 10
        for i, field in enumerate(fields):
            field.fill(f"{marker} field {i}")
            field.press("Enter")
        for box in page.locator("main input[type=checkbox], main input[type=radio]").all():
            box.check()
        # Making the paper copy (a PDF here) is the browser's own work and sends nothing either.
        page.emulate_media(media="print")
        page.pdf()
        page.emulate_media(media="screen")
        page.click("nav[aria-label=Main] >> text=Home")
        page.wait_for_url(base_url + "/")
        page.go_back()
        page.wait_for_url(base_url + "/record")
        assert seen, "the requests were recorded"
        assert all(method == "GET" for method, _, _ in seen), seen
        leaks = [(url, body) for _, url, body in seen if marker in url or marker in body]
        assert leaks == []
        # Coming back shows a clean sheet: the browser was not allowed to keep what was typed.
        texts = page.locator("main textarea, main input[type=text]").all()
        choices = page.locator("main input[type=checkbox], main input[type=radio]").all()
        assert all(field.input_value() == "" for field in texts)
        assert not any(choice.is_checked() for choice in choices)
    finally:
        context.close()


def test_the_record_sheet_prints_what_was_typed_and_lines_for_the_rest(page: Page, screenshots: Path) -> None:
    page.goto("/record")
    assert page.locator("[data-print]").is_visible()
    story = "\n".join(f"{i}. An action taken, and who took it" for i in range(1, 13))
    page.fill("#record_actions", story)
    page.fill("#record_role", "Youth worker")
    page.check("#record_kind_2")
    page.emulate_media(media="print")
    assert page.evaluate("matchMedia('print').matches")
    for selector in ("nav[aria-label=Main]", ".print-action", ".skip-link", ".footer nav", ".record-privacy"):
        assert page.locator(selector).is_hidden(), selector
    assert page.locator(".callout--warning").is_visible()
    assert "Never view, copy, print or share the image" in page.inner_text(".callout--warning")
    sizes = page.evaluate("(() => { const t = document.querySelector('#record_actions');"
                          " return [t.scrollHeight, t.clientHeight]; })()")
    assert sizes[0] <= sizes[1] + 1, f"all of the typed text shows on paper: {sizes}"
    blank = page.evaluate("getComputedStyle(document.querySelector('#record_feeling')).backgroundImage")
    assert "repeating-linear-gradient" in blank, "a blank box is ruled for writing"
    underline = page.evaluate("getComputedStyle(document.querySelector('#record_role')).borderBottomStyle")
    assert underline == "solid"
    assert page.input_value("#record_role") == "Youth worker" and page.is_checked("#record_kind_2")
    assert page.locator(".print-footer").is_visible()
    page.screenshot(path=screenshots / "tool-record-print.png", full_page=True)
    assert page.pdf()[:4] == b"%PDF"


# ---------------------------------------------------------------- the policy checklist


def test_policy_checklist_without_javascript_checks_and_downloads(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=base_url, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto("/policy")
        page.click("label:text-is('What the law says about sexting')")
        page.click("label:text-is('Assessing risk')")
        page.click("button:text-is('Check my policy')")
        page.wait_for_url("**/policy/check?point=law&point=risk")
        assert "cover 2 of the 10 points" in page.inner_text("main")
        assert page.locator("[data-print]").is_hidden(), "the print button needs JavaScript"
        with page.expect_download() as info:
            page.click("a:text-is('Download as text')")
        download = info.value
        assert re.fullmatch(r"policy-checklist-\d{4}-\d{2}-\d{2}\.md", download.suggested_filename)
        text = Path(download.path()).read_text(encoding="utf-8")
        assert "- [x] What the law says about sexting" in text and "- [ ] What sexting is" in text
        page.click("a.back-link")
        assert page.is_checked("#point_law") and page.is_checked("#point_risk")
        assert not page.is_checked("#point_why")
    finally:
        context.close()
