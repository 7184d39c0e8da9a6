"""Real-browser fixtures: Debian's chromium driven by Playwright against the site on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.base import AxeResults
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
# axe at WCAG 2.2 AA: every tag, since wcag22aa alone holds only one rule.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
               "resultTypes": ["violations"]}
# Collects CSP violations from the first moment of each document (init scripts are not subject to the CSP).
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="session")
def assert_accessible() -> Callable[[Page], None]:
    """A check that axe finds no WCAG 2.2 AA violation on a page (its report is the failure message)."""
    axe = Axe()

    def check(page: Page) -> None:
        # axe-core (500 KB) is injected once per document: a page checked in several states runs it again only.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe.axe_script)
        result = AxeResults(page.evaluate(f"axe.run(document, {json.dumps(AXE_OPTIONS)})"))
        assert result.violations_count == 0, result.generate_report()

    return check


@pytest.fixture(scope="session")
def assert_fits() -> Callable[[Page, str], None]:
    """A check that a page does not scroll sideways at its current width (the label names it in a failure)."""

    def check(page: Page, label: str) -> None:
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        width = page.viewport_size["width"] if page.viewport_size else "?"
        assert size[0] <= size[1], f"{label} scrolls sideways at {width}px: {size}"

    return check


@dataclass
class CspWatch:
    """The CSP violations of a page: those its document recorded and those the console reported (since the last
    clear)."""

    page: Page
    messages: list[str] = field(default_factory=list)

    def __call__(self) -> list[str]:
        return [*self.page.evaluate("window.__csp"), *self.messages]

    def clear(self) -> None:
        """Forget the console's reports so far (a new document starts its own record)."""
        self.messages.clear()


def watch_csp(page: Page) -> CspWatch:
    """Watch a page for CSP violations from its first navigation on; call the result to read them."""
    watch = CspWatch(page)
    page.on("console", lambda m: watch.messages.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(CSP_LISTENER)
    return watch


@pytest.fixture
def csp_violations(page: Page) -> Callable[[], list[str]]:
    """The test page's CSP violations (see watch_csp)."""
    return watch_csp(page)


@pytest.fixture(scope="session")
def csp_watch() -> Callable[[Page], Callable[[], list[str]]]:
    """watch_csp, for a page a test makes in a context of its own."""
    return watch_csp


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Pages with motion reduced: with smooth scrolling Playwright waits for every scroll to settle before it
    acts (a second a click); test_reduced_motion_is_respected checks the smooth scrolling itself."""
    return {**browser_context_args, "reduced_motion": "reduce"}


@pytest.fixture(scope="session")
def shared_context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """One browser context for the tests of a worker that need none of their own (JavaScript on, motion
    reduced): a new context costs twice a new page, and the site leaves nothing in one for the next test to
    find (no cookie, no storage; the privacy tests prove it)."""
    context = browser.new_context(**browser_context_args)
    yield context
    context.close()


@pytest.fixture(scope="session")
def kept_pages() -> set[Page]:
    """The pages tests share (see reusing): no test's end closes them."""
    return set()


@pytest.fixture
def context(shared_context: BrowserContext, kept_pages: set[Page]) -> Iterator[BrowserContext]:
    """The worker's shared context (overrides pytest-playwright's new context a test); what a test routed or
    left open in it goes when the test ends."""
    yield shared_context
    shared_context.unroute_all(behavior="ignoreErrors")
    for left in shared_context.pages:
        if left not in kept_pages:
            left.close()


@dataclass
class Reused:
    """A page that tests share, and its CSP watch."""

    page: Page
    csp: CspWatch


@contextmanager
def reusing(context: BrowserContext, kept_pages: set[Page]) -> Iterator[Callable[[], Reused]]:
    """One page of a context for tests that only load an address and check what it shows (a new page costs three
    loads): each call gives it at the context's own width with its CSP watch cleared, and a new one if a test
    closed it. The next load starts a new document, so no test sees another's page."""
    kept: list[Reused] = []
    width: dict[str, int] = {}

    def get() -> Reused:
        if not kept or kept[0].page.is_closed():
            page = context.new_page()
            kept_pages.add(page)
            width.update(page.viewport_size or {})
            kept[:] = [Reused(page, watch_csp(page))]
        reused = kept[0]
        if width:
            reused.page.set_viewport_size({"width": width["width"], "height": width["height"]})
        reused.csp.clear()
        return reused

    yield get
    for reused in kept:
        kept_pages.discard(reused.page)
        reused.page.close()


@pytest.fixture(scope="session")
def reuse(kept_pages: set[Page]) -> Callable[[BrowserContext], AbstractContextManager[Callable[[], Reused]]]:
    """reusing, for a context a test module makes (`with reuse(context) as get: ... get().page`)."""
    return lambda context: reusing(context, kept_pages)


@pytest.fixture(scope="session")
def shared_page(shared_context: BrowserContext, kept_pages: set[Page]) -> Iterator[Callable[[], Reused]]:
    """The worker's one page in the shared context, as each test gets it (see reusing)."""
    with reusing(shared_context, kept_pages) as get:
        yield get


@pytest.fixture
def reused_page(shared_page: Callable[[], Reused]) -> Page:
    """The worker's one page in the shared context, for tests that load an address and check it (see reusing)."""
    return shared_page().page


@pytest.fixture
def reused_csp(shared_page: Callable[[], Reused]) -> CspWatch:
    """The CSP violations of reused_page in this test."""
    return shared_page().csp


@contextmanager
def _page_in(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def page_in() -> Callable[[BrowserContext], AbstractContextManager[Page]]:
    """A new page of a test's own in a context that outlives the test (`with page_in(context) as page`), closed
    when the test ends."""
    return _page_in


@pytest.fixture
def page(context: BrowserContext, page_in: Callable[[BrowserContext], AbstractContextManager[Page]]
         ) -> Iterator[Page]:
    """A new page of the test's own in the shared context (overrides pytest-playwright's)."""
    with page_in(context) as opened:
        yield opened


@pytest.fixture(scope="session")
def open_context(browser: Browser) -> Callable[..., BrowserContext]:
    """A new browser context of a test's own, with motion reduced as in browser_context_args."""
    return lambda **options: browser.new_context(reduced_motion="reduce", **options)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system chromium; a missing browser fails the run (the test command installs it)."""
    exe = shutil.which("chromium")
    if not exe:
        pytest.fail("chromium missing: apt-get install -y --no-install-recommends chromium")
    return {**browser_type_launch_args, "executable_path": exe, "args": ["--disable-gpu"]}


def serve(app: Flask) -> Iterator[str]:
    """Serve an app on a free local port for the session, then stop it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def base_url(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The site on the session's index (overrides pytest-playwright's, so page.goto("/x") works)."""
    yield from serve(make_app(LOG_REQUESTS=False))


@pytest.fixture(scope="session")
def logged_url(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The site with its request log on, as in production (to show what the log holds)."""
    yield from serve(make_app())


@pytest.fixture(scope="session")
def unavailable_url(make_app: Callable[..., Flask], tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[str]:
    """The site with no index at all: every page answers 503 with the emergency contacts."""
    empty = tmp_path_factory.mktemp("no-index")
    yield from serve(make_app(INDEX_DIR=str(empty), LOG_REQUESTS=False))


@pytest.fixture
def request_log(context: BrowserContext, base_url: str) -> Iterator[list[str]]:
    """Every request the test's pages make; anything not to the site itself is aborted and recorded."""
    seen: list[str] = []

    def only_the_site(route: Route) -> None:
        try:
            if route.request.url.startswith(base_url + "/"):
                route.continue_()
            else:
                route.abort()
        except PlaywrightError:
            pass  # the test closed its page while this request (a late favicon) was still in flight

    def record(request: Request) -> None:
        seen.append(request.url)

    context.on("request", record)
    context.route("**/*", only_the_site)
    yield seen
    # The context outlives the test: its listener goes, and a request still in flight (a late favicon) must not
    # fail the teardown.
    context.remove_listener("request", record)
    context.unroute_all(behavior="ignoreErrors")


Shoot = Callable[..., None]


@pytest.fixture(scope="session")
def screenshots() -> Shoot:
    """Save a screenshot of a page under tests/screenshots (git-ignored), for people to look at, when
    KB_SCREENSHOTS=1: a full-page screenshot costs about as much as loading the page, and no test reads them."""
    wanted = os.environ.get("KB_SCREENSHOTS") == "1"

    def shoot(page: Page, name: str, full_page: bool = True) -> None:
        if wanted:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)

    return shoot


@pytest.fixture(scope="session")
def assert_good_at_widths(assert_accessible: Callable[[Page], None], assert_fits: Callable[[Page, str], None],
                          screenshots: Shoot) -> Callable[[Page, str, str], None]:
    """A check of one address, loaded once, at the desktop's width then a phone's, where it leaves the page (the
    layout answers to the width through CSS alone): it loads, axe finds nothing and nothing scrolls sideways (the
    label names it)."""

    def check(page: Page, url: str, label: str) -> None:
        page.set_viewport_size({"width": 1280, "height": 900})
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            screenshots(page, f"{label}-{width}")
            assert_accessible(page)
            assert_fits(page, label)

    return check
