"""The health check tells the truth (issue 16): a damaged or deleted index answers 503 with a logged reason, a
worker that cannot open the current build serves the last good one, and `kb build` repairs without --force."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

import web.engine
from app import create_app
from kb import IndexHolder, build_index
from kb.cli import main
from kb.index import SNAPSHOT, damage
from kb.model import Content


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Path:
    """An index folder of two whole builds: an older one (without the last article), then the current one."""
    root = tmp_path_factory.mktemp("health") / "index"
    build_index(replace(content, digest="0" * 16, articles=content.articles[:-1]), root)
    build_index(content, root)
    return root


@pytest.fixture
def index(tmp_path: Path, two_builds: Path) -> Path:
    """A copy of the two builds that a test may damage (the current link stays a relative link)."""
    return Path(shutil.copytree(two_builds, tmp_path / "index", symlinks=True))


@pytest.fixture
def make(content_path: Path) -> Callable[[Path], Flask]:
    """A fresh app (a worker that starts now) on an index folder."""

    def make_app(root: Path) -> Flask:
        return create_app({"TESTING": True, "INDEX_DIR": str(root), "CONTENT_DIR": str(content_path),
                           "BUILD_ON_START": False})

    return make_app


def current(root: Path) -> Path:
    return root / os.readlink(root / "current")


def damage_segments(root: Path) -> None:
    """Overwrite a stretch in the middle of every segment of the current build, keeping the sizes."""
    for segment in current(root).glob("*.seg"):
        data = bytearray(segment.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 2048] = bytes(range(256)) * 8
        segment.write_bytes(bytes(data))


def kb_build(root: Path, content_path: Path) -> str:
    """`kb build` without --force; its output."""
    result = CliRunner().invoke(main, ["build", "--content", str(content_path), "--index", str(root)])
    assert result.exit_code == 0, result.output
    return result.output


def unhealthy(client: FlaskClient, caplog: pytest.LogCaptureFixture, *words: str) -> None:
    """/healthz answers 503, and the log says why (every word given appears in one line)."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(all(w in line for w in words) for line in lines), lines


def test_damaged_segments_give_503_with_a_logged_reason_and_kb_build_repairs_them(
    index: Path, content: Content, content_path: Path, make: Callable[[Path], Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make(index).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/search?q=nudes").status_code == 200
    damaged = current(index).name
    damage_segments(index)
    unhealthy(client, caplog, "health check failed", damaged, ".seg does not match")
    # The worker serves the last good build meanwhile: searches answer, never a 500.
    assert any("serving the last good index build" in r.getMessage() for r in caplog.records)
    assert client.get("/api/search?q=what+to+do+with+a+nude+image").status_code == 200
    assert damage(index) is not None

    output = kb_build(index, content_path)
    assert "cannot be used" in output and "rebuilding" in output
    assert current(index).name != damaged
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["content"] == content.digest


def test_a_search_that_fails_on_a_damaged_build_answers_503_not_500(
    tmp_path: Path, content: Content, make: Callable[[Path], Flask], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "index"
    build_index(content, root)  # one build: nothing to fall back to
    client = make(root).test_client()
    assert client.get("/api/search?q=nudes+image").status_code == 200
    for segment in current(root).glob("*.seg"):
        segment.write_bytes(segment.read_bytes()[:1000])

    # The opened index keeps what its searches read (warmed when opened), so a damaged file shows when a read
    # of it fails: as Whoosh's reads of a cut-short segment fail, every search and answer here raises.
    def reading_fails(*_: object, **__: object) -> None:
        raise ValueError("a read past the end of a segment")

    monkeypatch.setattr(web.engine, "search", reading_fails)
    monkeypatch.setattr(web.engine, "answer", reading_fails)
    with caplog.at_level(logging.INFO):
        codes = {client.get(url).status_code for url in ("/api/search?q=sexting+law", "/search?q=referral+police",
                                                          "/ask?q=who+do+I+tell", "/api/ask?q=delete+image")}
    assert codes == {503}
    lines = [r.getMessage() for r in caplog.records]
    assert any("cannot be used" in line and ".seg does not match" in line for line in lines), lines
    assert any("no whole index build to serve" in line for line in lines), lines
    assert not any("last good" in line for line in lines), "never claims a last good index when there is none"
    assert client.get("/contacts").status_code == 200


def test_a_deleted_index_gives_503_with_a_logged_reason_and_kb_build_repairs_it(
    index: Path, content: Content, content_path: Path, make: Callable[[Path], Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make(index).test_client()
    assert client.get("/api/search?q=nudes").status_code == 200
    shutil.rmtree(index)
    unhealthy(client, caplog, "health check failed", "no current index build")
    assert client.get("/api/search?q=a+new+question").status_code == 503
    assert client.get("/").status_code == 503

    kb_build(index, content_path)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["content"] == content.digest
    assert client.get("/api/search?q=a+new+question").status_code == 200


def test_a_restarted_worker_that_cannot_open_the_current_build_serves_the_last_good_one(
    index: Path, content: Content, content_path: Path, make: Callable[[Path], Flask], caplog: pytest.LogCaptureFixture
) -> None:
    running = make(index).test_client()
    assert running.get("/healthz").get_json()["content"] == content.digest
    snapshot = current(index) / SNAPSHOT
    snapshot.write_bytes(snapshot.read_bytes()[:-100])
    with caplog.at_level(logging.INFO):
        restarted = make(index).test_client()
        page = restarted.get("/api/search?q=nudes")
    assert page.status_code == 200, "the restarted worker serves the last good build, not 503"
    lines = [r.getMessage() for r in caplog.records]
    assert any("cannot be used" in line and SNAPSHOT in line for line in lines), lines
    assert any("serving the last good index build" in line for line in lines), lines
    # Both workers tell the same truth about the current build: no flipping between 200 and 503.
    for client in (running, restarted, running, restarted):
        unhealthy(client, caplog, "health check failed", SNAPSHOT)

    kb_build(index, content_path)
    for client in (running, restarted):
        health = client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["content"] == content.digest


def test_a_build_damaged_under_a_running_server_stops_being_served_within_a_second(
    index: Path, make: Callable[[Path], Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make(index)
    now = [100.0]
    app.extensions["kb"].clock = lambda: now[0]
    client = app.test_client()
    assert client.get("/api/search?q=nudes").status_code == 200
    newest = current(index).name
    damage_segments(index)  # the searches still run: the damage is found by the files, not by an error
    now[0] += 1.0
    with caplog.at_level(logging.INFO):
        assert client.get("/api/search?q=sexting+law").status_code == 200
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"{newest} cannot be used" in line for line in lines), lines
    assert any("serving the last good index build" in line for line in lines), lines


def test_kb_build_leaves_a_whole_current_build_alone(index: Path, content_path: Path) -> None:
    before = current(index)
    output = kb_build(index, content_path)
    assert "cannot be used" not in output
    assert current(index) == before


def test_a_build_restored_after_a_fault_is_served_again(index: Path, make: Callable[[Path], Flask]) -> None:
    client = make(index).test_client()
    segment = next(current(index).glob("section_*.seg"))
    saved = segment.read_bytes()
    segment.write_bytes(saved[:100])
    assert client.get("/healthz").status_code == 503
    segment.write_bytes(saved)
    assert client.get("/healthz").status_code == 200


def test_broken_content_with_no_index_never_claims_a_last_good_one(
    tmp_path: Path, content_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Path(shutil.copytree(content_path, tmp_path / "content"))
    law = broken / "legislation.yaml"
    law.write_text(law.read_text(encoding="utf-8") + "\n- id: broken\n  title: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index"), "CONTENT_DIR": str(broken),
                             "BUILD_ON_START": True}).test_client()
    lines = [r.getMessage() for r in caplog.records]
    assert not any("keeps serving the last good index" in line for line in lines), lines
    assert any("no good index to serve" in line for line in lines), lines
    assert client.get("/healthz").status_code == 503


def test_a_holder_reports_health_without_an_app(index: Path) -> None:
    holder = IndexHolder(index)
    assert holder.health().ok
    shutil.rmtree(current(index))
    health = holder.health()
    assert not health.ok and "cannot be used" in health.reason


def test_a_fault_that_passes_ends_without_a_health_check(index: Path, make: Callable[[Path], Flask]) -> None:
    app = make(index)
    holder = app.extensions["kb"]
    now = [100.0]
    holder.clock = lambda: now[0]
    client = app.test_client()
    assert client.get("/api/search?q=nudes").status_code == 200
    newest = f"builds/{current(index).name}"
    segment = next(current(index).glob("section_*.seg"))
    saved = segment.read_bytes()
    segment.write_bytes(saved[:100])
    now[0] += 1
    assert client.get("/api/search?q=law").status_code == 200
    assert holder.get().path != newest, "the last good build is served meanwhile"
    segment.write_bytes(saved)
    now[0] += 1
    assert holder.get().path == newest
