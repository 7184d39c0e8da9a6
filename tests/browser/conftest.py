"""Real-browser fixtures: Debian's chromium driven by Playwright against the site on 127.0.0.1."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Route
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


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
def unavailable_url(make_app: Callable[..., Flask], tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[str]:
    """The site with no index at all: every page answers 503 with the emergency contacts."""
    empty = tmp_path_factory.mktemp("no-index")
    yield from serve(make_app(INDEX_DIR=str(empty), LOG_REQUESTS=False))


@pytest.fixture
def request_log(context: BrowserContext, base_url: str) -> list[str]:
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

    context.on("request", lambda r: seen.append(r.url))
    context.route("**/*", only_the_site)
    return seen


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots of each page type go (git-ignored), for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
