"""The tools in a real browser: accessible, CSP-clean, usable by keyboard and without JavaScript, printable,
and the record sheet sends nothing anywhere."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Request

# tests/browser/conftest.py's `open_context`: a browser context of a test's own, with motion reduced.
OpenContext = Callable[..., BrowserContext]

# tests/browser/conftest.py's `screenshots`: saves a screenshot when KB_SCREENSHOTS=1.
Shoot = Callable[..., None]

ALL_NO = "danger=no&adult=no&coerced=no&content=no&under-13=no&harm=no"
PAGE_TYPES = {
    "decide-first-question": "/decide",
    "decide-nation-no-answer": "/decide?asked=nation",
    "decide-danger": "/decide?nation=england",
    "decide-criterion": "/decide?nation=england&danger=no",
    "decide-no-answer": "/decide?nation=england&danger=no&asked=adult",
    "decide-999": "/decide?danger=yes",
    "decide-999-with-nation": "/decide?nation=wales&danger=yes",
    "decide-refer": "/decide?nation=scotland&danger=no&adult=no&coerced=yes",
    "decide-refer-northern-ireland": "/decide?nation=northern-ireland&danger=no&adult=yes",
    "decide-no-referral": "/decide?nation=wales&" + ALL_NO,
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
def test_each_tool_page_stays_on_the_site_passes_axe_and_fits_320_pixels(
        reused_page: Page, reused_csp: Callable[[], list[str]], request_log: list[str], base_url: str, name: str,
        screenshots: Shoot, assert_accessible: Callable[[Page], None], assert_fits: Callable[[Page, str], None]
) -> None:
    # One load per page for the three checks (as for the other page types in test_browser.py).
    page = reused_page
    visit(page, name)
    page.wait_for_load_state("load")
    assert reused_csp() == []
    assert request_log and all(url.startswith(base_url + "/") for url in request_log), request_log
    screenshots(page, f"tool-{name}")
    assert_accessible(page)
    page.set_viewport_size({"width": 320, "height": 640})
    if name in ("decide-first-question", "decide-criterion", "decide-refer", "record", "policy"):
        screenshots(page, f"tool-{name}-320")
    assert_fits(page, name)


def test_axe_finds_nothing_with_the_details_open_and_the_sheet_filled(
        page: Page, assert_accessible: Callable[[Page], None]) -> None:
    for url in ("/decide", "/decide?nation=england&danger=no"):
        page.goto(url)
        page.click(".details__summary")
        assert page.locator("main details").get_attribute("open") is not None
        assert_accessible(page)
    page.goto("/record")
    page.fill("#record_feeling", "Upset and worried")
    page.check("#record_adult_2")
    page.fill("#record_decision_reason", "An adult was involved.")
    page.check("#record_parents_told_2")
    page.fill("#record_signature", "A. Teacher")
    assert_accessible(page)


# ---------------------------------------------------------------- the decision aid


def test_keyboard_alone_runs_the_decision_aid_to_a_result(page: Page, screenshots: Shoot) -> None:
    page.goto("/decide")
    # The nation first: the arrow keys move through the four nations and pick one.
    assert "Question 1 of up to 7" in page.inner_text("legend")
    tab_to(page, "#answer_england")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#answer_scotland")
    tab_to(page, ".question-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # Then yes to the grooming question: Space picks "Yes", the arrow key moves to "No" and picks it. The aid
    # stops there, since one situation is enough to refer.
    choices = ["no", "no", "yes"]
    for number, choice in enumerate(choices, 2):
        assert f"Question {number} of up to 7" in page.inner_text("legend")
        tab_to(page, "#answer_yes")
        label_ring = page.evaluate("getComputedStyle(document.querySelector('label[for=answer_yes]'),"
                                   " '::before').boxShadow")
        assert FOCUS in label_ring, "the focused radio shows the focus colour"
        if choice == "yes":
            page.keyboard.press("Space")
        else:
            page.keyboard.press("ArrowRight")
        assert page.is_checked(f"#answer_{choice}")
        if number == 2:
            tab_to(page, ".details__summary")
            page.keyboard.press("Enter")
            assert page.locator("main details").get_attribute("open") is not None
        tab_to(page, ".question-form button[type=submit]")
        assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") == FOCUS
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.inner_text("h1") == "Make a child protection referral"
    assert "A child may have been pressured, blackmailed or groomed" in page.inner_text(".met-list")
    assert re.search(r"nation=scotland.*coerced=yes$", page.url)
    assert "Scotland" in page.inner_text(".route-nation")
    screenshots(page, "tool-decide-keyboard-result")


def test_keyboard_answer_yes_to_immediate_danger_gives_999(page: Page) -> None:
    page.goto("/decide?nation=northern-ireland")
    tab_to(page, "#answer_yes")
    page.keyboard.press("Space")
    tab_to(page, ".question-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("h1") == "Call 999 now"
    assert page.locator("main a[href='tel:999']").first.is_visible()


def test_decision_aid_works_without_javascript_and_back_goes_back(open_context: OpenContext, base_url: str) -> None:
    context = open_context(java_script_enabled=False, base_url=base_url)
    try:
        page = context.new_page()
        page.goto("/decide")
        # Continue with nothing chosen: the same question, with an error to fix.
        page.click(".question-form button[type=submit]")
        page.wait_for_url("**/decide?asked=nation")
        assert page.locator(".error-summary").is_visible()
        assert page.title().startswith("Error: ")
        page.click("label:text-is('Wales')")
        page.click(".question-form button[type=submit]")
        page.wait_for_url("**/decide?asked=nation&nation=wales")
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
        assert "adult=" not in page.url and "nation=wales" in page.url
        page.click("a.back-link")
        assert page.inner_text("h1") == "Is a child in immediate danger?"
        page.click("a.back-link")
        assert page.inner_text("h1") == "Where in the UK does the child live?"
    finally:
        context.close()


def test_the_decision_summary_prints_the_date_and_every_answer(page: Page, screenshots: Shoot) -> None:
    page.goto("/decide?nation=england&danger=no&adult=no&coerced=no&content=yes")
    assert page.locator("[data-print]").is_visible()
    page.emulate_media(media="print")
    for selector in ("nav[aria-label=Main]", ".back-link", ".answers-list__change", ".restart",
                     ".print-action"):
        assert all(not el.is_visible() for el in page.locator(selector).all()), selector
    answers = page.inner_text(".answers-list")
    assert "England" in answers and answers.count("Yes") == 1 and answers.count("No") == 3
    # The guidance's other steps are on paper too.
    assert page.locator(".next-steps").is_visible()
    assert re.search(r"Answered on \d{1,2} \w+ \d{4}", page.inner_text(".answers"))
    assert page.locator(".print-footer").is_visible()
    screenshots(page, "tool-decide-print")
    assert page.pdf()[:4] == b"%PDF"


# ---------------------------------------------------------------- the record sheet

NEW_TEXT_FIELDS = ("record_happened_on", "record_child_age", "record_recorded_by", "record_decision_reason",
                   "record_parents_when", "record_parents_not_told_why", "record_reference", "record_signature",
                   "record_signed_on")
NEW_CHOICES = ("record_decision", "record_parents_told")


def test_the_record_sheet_sends_nothing_that_was_typed(open_context: OpenContext, base_url: str) -> None:
    context = open_context(base_url=base_url)
    seen: list[tuple[str, str, str]] = []

    def record(r: Request) -> None:
        seen.append((r.method, r.url, r.post_data or ""))

    context.on("request", record)
    try:
        page = context.new_page()
        page.goto("/record")
        marker = f"marker{uuid.uuid4().hex[:12]}"
        fields = page.locator("main textarea, main input[type=text]").all()
        ids = [field.get_attribute("id") for field in fields]
        # The fields added for issue 13 are among those filled in: when, age, who, the decision and its
        # reason, the parents and why not, a reference and a signature.
        assert set(NEW_TEXT_FIELDS) <= set(ids), set(NEW_TEXT_FIELDS) - set(ids)
        assert len(fields) >= 20
        for i, field in enumerate(fields):
            field.fill(f"{marker} field {i}")
            field.press("Enter")
        for box in page.locator("main input[type=checkbox], main input[type=radio]").all():
            box.check()
        for name in NEW_CHOICES:
            assert page.locator(f"input[name={name}]:checked").count() == 1, name
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


def test_the_record_sheet_prints_what_was_typed_and_lines_for_the_rest(page: Page, screenshots: Shoot) -> None:
    page.goto("/record")
    assert page.locator("[data-print]").is_visible()
    story = "\n".join(f"{i}. An action taken, and who took it" for i in range(1, 13))
    page.fill("#record_actions", story)
    page.fill("#record_role", "Youth worker")
    page.check("#record_kind_2")
    page.fill("#record_child_age", "14")
    page.check("#record_decision_1")
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
    assert page.input_value("#record_child_age") == "14" and page.is_checked("#record_decision_1")
    signature = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('#record_signature'));"
                              " return [s.borderBottomStyle, parseFloat(s.height)]; })()")
    assert signature[0] == "solid" and signature[1] >= 40, f"a line to sign on: {signature}"
    assert page.locator(".print-footer").is_visible()
    screenshots(page, "tool-record-print")
    assert page.pdf()[:4] == b"%PDF"


# ---------------------------------------------------------------- the policy checklist


def test_policy_checklist_without_javascript_checks_and_downloads(open_context: OpenContext, base_url: str) -> None:
    context = open_context(java_script_enabled=False, base_url=base_url, accept_downloads=True)
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


# ---------------------------------------------------------------- how they look on a phone and a desktop


@pytest.mark.parametrize("width", [390, 1280])
def test_tool_pages_at_phone_and_desktop_widths(page: Page, screenshots: Shoot, width: int,
                                                 assert_accessible: Callable[[Page], None],
                                                 assert_fits: Callable[[Page, str], None]) -> None:
    """The decision aid's question and refer result and the record sheet, for people to look at."""
    page.set_viewport_size({"width": width, "height": 900})
    for name in ("decide-first-question", "decide-criterion", "decide-refer", "record"):
        visit(page, name)
        assert_fits(page, name)
        screenshots(page, f"tool-{name}-{width}")
    assert_accessible(page)
