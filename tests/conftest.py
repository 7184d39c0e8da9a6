"""Shared fixtures: one index built from the real content per session, and the app serving it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from kb import IndexHolder, OpenIndex, load_content, warm
from kb.config import content_dir, train_file, training_bank
from kb.learn import build
from kb.model import Content
from kb.urgency import Cues


@pytest.fixture(scope="session")
def content_path() -> Path:
    """The real content folder."""
    return content_dir()


@pytest.fixture(scope="session")
def content(content_path: Path) -> Content:
    """The real content; a test run fails loudly when it has errors rather than testing around them."""
    loaded = load_content(content_path)
    if loaded.errors:
        problems = "\n".join(map(str, loaded.errors))
        pytest.fail(f"content/ has errors (run `kb check`):\n{problems}", pytrace=False)
    return loaded


@pytest.fixture(scope="session")
def cues(content: Content) -> Cues:
    """The real content's urgency cue families."""
    assert isinstance(content.cues, Cues)
    return content.cues


# The bank the real index learns from, read before any test points KB_TRAIN elsewhere.
TRAIN_FILE = train_file()


@pytest.fixture(autouse=True)
def _builds_in_tests_do_not_learn(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Builds made inside tests check how building works (locks, swaps, broken content): they skip the learning
    step, which the session's index does once (tests of learning use that index)."""
    monkeypatch.setenv("KB_TRAIN", str(tmp_path_factory.getbasetemp() / "no-training.jsonl"))


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Path:
    """An index built once per session from the real content, in a temporary folder, with the ranking learned
    from the bank's train fold (as `kb build` does)."""
    # Under pytest-xdist each worker has its own base folder inside the run's: the workers share one build there
    # (the first to take the lock builds it; the others find it current, a no-op, and open it).
    # scripts/test starts this build in the background while the static checks run (KB_TEST_INDEX, same lock):
    # the session finds it current; if that build failed or is stale, the session builds it here.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = Path(os.environ.get("KB_TEST_INDEX") or shared / "learned-index")
    with Path(f"{root}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build(content, root, bank=training_bank(TRAIN_FILE))
    return root


@pytest.fixture(scope="session")
def holder(index_dir: Path) -> IndexHolder:
    """The session index's holder, shared by the apps made on it: each opening of the index works out its
    engine again (the memory of the bank's thousands of questions, half a second)."""
    return IndexHolder(index_dir, prepare=warm)


@pytest.fixture(scope="session")
def ix(holder: IndexHolder) -> OpenIndex:
    """The session's index, opened."""
    opened = holder.get()
    assert opened is not None
    return opened


@pytest.fixture(scope="session")
def make_app(content_path: Path, index_dir: Path, holder: IndexHolder) -> Callable[..., Flask]:
    """Create an app with config overrides; on the session's index (unless INDEX_DIR says otherwise) it shares
    the session's holder. Each app has its own result cache, so no answer passes from one app to the next."""

    def make(**overrides: Any) -> Flask:
        config = {"TESTING": True, "CONTENT_DIR": str(content_path), "INDEX_DIR": str(index_dir),
                  "BUILD_ON_START": False, **overrides}
        return create_app(config, holder if Path(config["INDEX_DIR"]) == index_dir else None)

    return make


@pytest.fixture(scope="session")
def app(make_app: Callable[..., Flask]) -> Flask:
    """The site on the session's index (rate limit off, no build on start)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the session's app."""
    return app.test_client()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no learned index run first: under pytest-xdist the index builds (the costliest step of the
    run) while the workers work through them, instead of waiting for it. Of the others, the browser tests (the
    longest) come before the quick ones, so that no worker is left with a long test while the other has none."""
    items.sort(key=lambda item: ("index_dir" in getattr(item, "fixturenames", ()),
                                 not item.nodeid.startswith("tests/browser/")))
