"""The index as a build artifact (issues 3 and 7): swaps are atomic, unchanged content is a no-op, a broken
or killed or doubled rebuild never costs the last good index."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

import kb.learn
import kb.retrieve_leaves
from kb import IndexHolder, OpenIndex, answer, build_index, load_content, search, warm
from kb.index import SNAPSHOT, BuildStep
from kb.model import Content

KB = str(Path(sys.executable).with_name("kb"))


def kb_build(content_dir: Path, index: Path, *extra: str, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.Popen[str]:
    """`kb build` for a content folder and an index folder, as its own process."""
    return subprocess.Popen(
        [KB, "build", "--content", str(content_dir), "--index", str(index), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or dict(os.environ), cwd=cwd,
    )


def assert_whole(opened: OpenIndex | None) -> OpenIndex:
    """An index that opens, whose parts come from one build, and that answers a search."""
    assert opened is not None, "no usable index"
    assert opened.content.digest == opened.meta["content"], "content snapshot and metadata from different builds"
    assert opened.meta["sections"] == sum(len(a.sections) for a in opened.content.articles)
    hits = search(opened, "nudes image law referral", kind="all", limit=50).hits
    assert hits
    slugs = {a.slug for a in opened.content.articles}
    laws = {i.id for i in opened.content.legislation}
    for hit in hits:
        if hit.type == "section":
            assert hit.slug in slugs, f"a hit from another build: {hit.id}"
        if hit.type == "legislation":
            assert hit.anchor in laws, f"a hit from another build: {hit.id}"
    return opened


@pytest.fixture
def content_copy(tmp_path: Path, content_path: Path) -> Path:
    """A copy of the real content that a test may edit or break."""
    return Path(shutil.copytree(content_path, tmp_path / "content"))


def edit(content_dir: Path, note: str) -> Content:
    """A valid change to the content (a change-log entry), loaded."""
    changes = content_dir / "changes.yaml"
    changes.write_text(changes.read_text(encoding="utf-8") + f'\n- date: "2026-11-27"\n  summary: {note}\n',
                       encoding="utf-8")
    edited = load_content(content_dir)
    assert not edited.errors, edited.errors
    return edited


# ---------------------------------------------------------------- atomic swaps


def build_alternately(first: Content, second: Content, root: Path, builds: int) -> None:
    """Build second, first, second, ... into root, each swapped in."""
    for n in range(builds):
        build_index(second if n % 2 == 0 else first, root, force=True)


def test_rebuild_never_exposes_a_partial_index(tmp_path: Path, content: Content) -> None:
    # Two different contents, so a reader can tell which build it sees: B lacks the last article.
    first = content
    second = replace(content, digest="b" * 16, articles=content.articles[:-1])
    expected = {first.digest: sum(len(a.sections) for a in first.articles),
                second.digest: sum(len(a.sections) for a in second.articles)}
    root = tmp_path / "index"
    build_index(first, root, force=True)
    builds, readers = 6, 2
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[set[str]] = [set() for _ in range(readers)]

    def read(me: int) -> None:
        shared = IndexHolder(root)
        try:
            for n in range(100_000):  # bounded; ends when the builds do
                if done.is_set() and n > 0:
                    break
                # A fresh holder opens whatever is current right now; a shared one follows the swaps.
                for holder in (IndexHolder(root), shared):
                    opened = assert_whole(holder.get())
                    assert opened.meta["sections"] == expected[opened.meta["content"]]
                    seen[me].add(opened.meta["content"])
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    # The builds run in a process of their own, as `kb build` does: in a thread they would wait on the readers
    # for the interpreter lock at every write, and the test would take forty seconds instead of a few.
    builder = multiprocessing.get_context("fork").Process(target=build_alternately, args=(first, second, root, builds))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 on fork() beside threads: none run yet
        builder.start()
    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    for thread in threads:
        thread.start()
    builder.join(300)
    done.set()
    for thread in threads:
        thread.join()
    assert builder.exitcode == 0, "a build failed"
    assert not errors, errors
    assert set().union(*seen) <= set(expected)
    assert_whole(IndexHolder(root).get())


def test_a_swap_while_a_reader_opens_never_mixes_two_builds(
    tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The threaded test above leaves this interleaving to chance; here a build swaps in at the moment a
    # reader has just read the content snapshot of the index it is opening.
    root = tmp_path / "index"
    build_index(content, root, force=True)
    newer = replace(content, digest="d" * 16, articles=content.articles[:-1])
    real_read_bytes = Path.read_bytes
    fired: list[Path] = []

    def read_bytes(self: Path) -> bytes:
        data = real_read_bytes(self)
        if not fired and self.name == SNAPSHOT and root in self.parents:
            fired.append(self)
            build_index(newer, root, force=True)
        return data

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    opened = IndexHolder(root).get()
    monkeypatch.undo()
    assert fired, "the reader reads a content snapshot"
    assert_whole(opened)


def test_unchanged_content_is_a_noop(tmp_path: Path, content: Content) -> None:
    root = tmp_path / "index"
    meta = build_index(content, root)
    target = os.readlink(root / "current")
    listing = sorted(p.name for p in (root / "builds").iterdir())
    again = build_index(content, root)
    assert again == meta
    assert os.readlink(root / "current") == target
    assert sorted(p.name for p in (root / "builds").iterdir()) == listing
    changed = build_index(replace(content, digest="c" * 16), root)
    assert changed["content"] == "c" * 16 and os.readlink(root / "current") != target


# ---------------------------------------------------------------- broken, doubled and killed rebuilds


def test_broken_rebuild_keeps_serving_the_last_good_index(
    tmp_path: Path, content_copy: Path, make_app: Callable[..., Flask]
) -> None:
    index = tmp_path / "index"
    built = kb_build(content_copy, index)
    out, err = built.communicate()
    assert built.returncode == 0, err
    good = load_content(content_copy)
    client = make_app(CONTENT_DIR=str(content_copy), INDEX_DIR=str(index)).test_client()
    assert client.get("/healthz").get_json()["content"] == good.digest

    article = content_copy / "articles" / "when-to-refer.md"
    lines = article.read_text(encoding="utf-8").splitlines()
    lines.append("A [broken link](law:no-such-law) added by a test.")
    article.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for extra in ((), ("--force",)):
        broken = kb_build(content_copy, index, *extra, cwd=tmp_path)
        out, err = broken.communicate()
        assert broken.returncode == 1, (out, err)
        where = re.search(r"^(\S*articles/when-to-refer\.md):(\d+): .*no-such-law", err, re.M)
        assert where, err
        assert int(where.group(2)) == len(lines)
        assert (tmp_path / where.group(1)).resolve() == article.resolve()
        assert "Traceback" not in err

    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["content"] == good.digest
    results = client.get("/api/search?q=what+to+do+with+a+nude+image").get_json()["results"]
    assert results
    assert client.get("/articles/when-to-refer").status_code == 200
    assert b"added by a test" not in client.get("/articles/when-to-refer").data


def test_two_rebuilds_at_once_do_not_corrupt(tmp_path: Path, content_copy: Path) -> None:
    index = tmp_path / "index"
    first = kb_build(content_copy, index, "--force")
    second = kb_build(content_copy, index, "--force")
    outputs = [first.communicate(), second.communicate()]
    assert first.returncode == 0 and second.returncode == 0, outputs
    opened = assert_whole(IndexHolder(index).get())
    assert opened.meta["content"] == load_content(content_copy).digest
    target = index / os.readlink(index / "current")
    assert target.is_dir() and (target / "meta.json").is_file()
    assert not [p.name for p in index.iterdir() if p.name.startswith(".current.")], "no swap left half done"


def build_stopping_at(content: Content, index: Path, step: str) -> None:
    """A forced build that stops its own process at a step (KB_BUILD_STOP_AT), as `kb build --force` would."""
    os.environ["KB_BUILD_STOP_AT"] = step
    build_index(content, index, force=True)


@pytest.mark.parametrize("step", BuildStep.STEPS)
def test_killed_rebuild_leaves_the_old_index(tmp_path: Path, content_copy: Path, step: str) -> None:
    index = tmp_path / "index"
    old = build_index(load_content(content_copy), index)
    new = edit(content_copy, "A change a killed build was writing.")
    assert new.digest != old["content"]

    # The build runs in a process of its own (forked: a new interpreter would spend most of the test importing),
    # stops itself at the step, and is killed there.
    builder = multiprocessing.get_context("fork").Process(target=build_stopping_at, args=(new, index, step))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 on fork() beside threads
        builder.start()
    assert builder.pid is not None
    _, status = os.waitpid(builder.pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status):
        pytest.fail(f"the build never reached {step!r}: it ended with {os.waitstatus_to_exitcode(status)}")
    os.kill(builder.pid, signal.SIGKILL)
    builder.join(30)
    assert builder.exitcode == -signal.SIGKILL

    opened = assert_whole(IndexHolder(index).get())
    # Until the rename the old index is current; from the rename on, the new one is, and it is whole.
    expected = new.digest if step == "swapped" else old["content"]
    assert opened.meta["content"] == expected

    # The killed build's lock died with it: the next build (here in this process) goes ahead and is whole.
    build_index(load_content(content_copy), index)
    assert assert_whole(IndexHolder(index).get()).meta["content"] == new.digest


def test_an_index_is_warmed_when_opened(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a first question would make is made when the holder opens the build: the first visitor does not wait.
    opened = IndexHolder(index_dir, prepare=warm).get()
    assert opened is not None
    monkeypatch.setattr(kb.retrieve_leaves, "_read", lambda *_: pytest.fail("a word was read after warming"))
    monkeypatch.setattr(kb.retrieve_leaves, "_scored", lambda *_: pytest.fail("a word was read after warming"))
    monkeypatch.setattr(kb.learn, "build_engine", lambda *_: pytest.fail("the engine was made after warming"))
    assert answer(opened, "is it illegal to share a nude in Scotland").answered
    assert search(opened, "CEOP report", kind="all").hits


def test_a_build_that_cannot_be_prepared_is_not_served(index_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    tries: list[str] = []
    now = [0.0]

    def broken(opened: OpenIndex) -> None:
        tries.append(opened.path)
        raise RuntimeError("a fault")

    holder = IndexHolder(index_dir, prepare=broken, clock=lambda: now[0])
    with caplog.at_level("ERROR"):
        assert holder.get() is None
    assert "cannot be prepared to answer (RuntimeError)" in caplog.text
    assert tries
    # Its files are whole, so it is not tried again every second (each try would cost seconds): a new build replaces it.
    first = len(tries)
    for _ in range(3):
        now[0] += 2.0
        assert holder.get() is None
    assert len(tries) == first
    assert holder.health().ok is False
