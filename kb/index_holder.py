"""The build an index folder serves: the current one while it is whole, else the last good one; and the truth
about it for a health check."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.index import BUILDS, CURRENT, Damaged, OpenIndex, check_files, code_version, open_build, probe

PROBE_SECONDS = 1.0  # how long a health check's proof by search stands (files are checked on every call)
CHECK_SECONDS = 1.0  # how often a request compares the served build's files with what was built
UNPREPARED = "it cannot be prepared to answer"  # why a build whose files are whole is not served


@dataclass(frozen=True)
class Health:
    """The truth about an index folder for a health check: whether its current build works, and why not."""

    ok: bool
    reason: str = ""
    meta: dict[str, Any] | None = None


class IndexHolder:
    """The current build of a folder, reopened when a build swaps in a new one (a cheap readlink).

    A build that cannot be opened, or is found damaged later, is never served again: the holder logs why and
    falls back to the newest whole build this code made (the last good one), or to nothing (pages answer 503).
    """

    def __init__(self, root: Path | str, log: logging.Logger | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 prepare: Callable[[OpenIndex], None] | None = None) -> None:
        self.root = Path(root)
        self.prepare = prepare  # run on each build opened, before it is served (kb.warm: no slow first question)
        self.log = log or logging.getLogger(__name__)
        self.clock = clock
        self._checked = 0.0  # when the served build's files were last compared with what was built
        self._lock = threading.Lock()
        self._open: OpenIndex | None = None
        self._bad: dict[str, str] = {}
        # The files of the served build as last checked (name, size, mtime, inode): rehashed only on a change.
        self._seen: tuple[str, tuple[tuple[str, int, int, int], ...]] | None = None
        self._probed: tuple[str, float] | None = None  # the build last proven by a search, and when

    def _open_build(self, target: str) -> OpenIndex:
        """open_build, then prepare: a build that fails to prepare is as damaged as one that fails to open."""
        opened = open_build(self.root, target)
        if self.prepare is not None:
            try:
                self.prepare(opened)
            except Exception as exc:  # noqa: BLE001 - whatever a damaged build raises, the reason is its type
                raise Damaged(f"{UNPREPARED} ({type(exc).__name__})") from None
        return opened

    def _target(self) -> str | None:
        try:
            return os.readlink(self.root / CURRENT)
        except OSError:
            return None

    def get(self) -> OpenIndex | None:
        """The build to serve: the current one when whole, else the last good one, else None (a 503)."""
        target = self._target()
        current = self._open
        if current is not None and current.path == target:
            now = self.clock()
            if now - self._checked < CHECK_SECONDS:
                return current
            # Once a second, the served build's files against the manifest (a few stats; a hash on a change):
            # a build damaged under a running server stops being served even if its searches still "work".
            self._checked = now
            reason = self._check(current)
            if reason is None:
                return current
            with self._lock:
                if self._open is current:
                    self._give_up(target, reason)
                return self._open
        if target is None:
            # The current link is gone (the index folder deleted?): serve what is open while its files are there.
            return current if current is not None and (self.root / current.path).is_dir() else None
        if target in self._bad:
            now = self.clock()
            if now - self._checked >= CHECK_SECONDS:
                self._checked = now
                self._retry(target)  # once a second: a fault that has passed ends without a health check
            return self._open
        with self._lock:
            if self._open is not None and self._open.path == target:
                return self._open
            if target in self._bad:
                return self._open
            try:
                self._open = self._open_build(target)
                self._checked = self.clock()
            except Damaged as exc:
                self._give_up(target, str(exc))
            return self._open

    def health(self) -> Health:
        """Whether the current build works now: its files as built, a searcher that answers a fixed query."""
        target = self._target()
        if target is None:
            return Health(False, "there is no current index build (the index folder is missing or was never built)")
        if target in self._bad:
            self._retry(target)
        served = self.get()
        if served is None or served.path != target:
            return Health(False, self._unusable(target, served))
        reason = self._check(served) or self._probe(served)
        if reason:
            with self._lock:
                if self._open is served:
                    self._give_up(target, reason)
            return Health(False, self._unusable(target, self._open))
        return Health(True, meta=served.meta)

    def recover(self, failed: OpenIndex) -> OpenIndex | None:
        """After a search on `failed` raised: the same build when it is whole (the fault is elsewhere), else the
        build now served instead (the last good one, or None)."""
        reason = check_files(self.root / failed.path, failed.meta) or probe(failed)
        if reason is None:
            return failed
        with self._lock:
            if self._open is failed:
                self._give_up(failed.path, reason)
            return self._open

    def _retry(self, target: str) -> None:
        """Open a build found unusable once more: a fault that has passed (files restored) ends here. A build whose
        files are whole but that could not be prepared is not tried again (each try would cost seconds, every
        second): the next build replaces it."""
        with self._lock:
            if self._bad.get(target, "").startswith(UNPREPARED):
                return
            try:
                opened = self._open_build(target)
            except Damaged as exc:
                self._bad[target] = str(exc)
                return
            del self._bad[target]
            self._open, self._seen, self._probed = opened, None, None
            self.log.warning("index build %s is whole again and served", target)

    def _probe(self, served: OpenIndex) -> str | None:
        """probe() at most once a second per build: a flood of health checks must not cost a searcher each."""
        now = self.clock()
        if self._probed is not None and self._probed[0] == served.path and now - self._probed[1] < PROBE_SECONDS:
            return None
        reason = probe(served)
        self._probed = None if reason else (served.path, now)
        return reason

    def _check(self, served: OpenIndex) -> str | None:
        """The served build's files against its manifest, rehashed only when one was replaced or rewritten."""
        folder = self.root / served.path
        try:
            seen = (served.path, tuple(
                (name, st.st_size, st.st_mtime_ns, st.st_ino)
                for name in sorted(served.meta.get("files") or {}) for st in [os.stat(folder / name)]
            ))
        except OSError as exc:
            return f"a file of the build cannot be read ({type(exc).__name__})"
        if seen == self._seen:
            return None
        reason = check_files(folder, served.meta)
        if reason is None:
            self._seen = seen
        return reason

    def _unusable(self, target: str, served: OpenIndex | None) -> str:
        reason = self._bad.get(target, "it is not open")
        instead = f"serving the last good build {served.path}" if served else "no whole build to serve"
        return f"the current build {target} cannot be used: {reason}; {instead}"

    def _give_up(self, target: str, reason: str) -> None:
        """Never serve target again; fall back to the newest whole build of this code. Called under the lock."""
        self._bad[target] = reason
        self.log.error("index build %s cannot be used: %s", target, reason)
        current = self._open
        self._open, self._seen, self._probed = None, None, None
        builds = self.root / BUILDS
        try:
            names = sorted((p.name for p in builds.iterdir() if p.is_dir()), reverse=True)
        except OSError:
            names = []
        for name in names:
            candidate = f"{BUILDS}/{name}"
            if candidate in self._bad or candidate == target:
                continue
            if current is not None and current.path == candidate and check_files(builds / name, current.meta) is None:
                self._open = current
                break
            try:
                opened = self._open_build(candidate)
            except Damaged:
                continue  # not remembered: it may be a build still being written, soon current and whole
            if opened.meta.get("code") == code_version():
                self._open = opened
                break
        if self._open is not None:
            self.log.warning("serving the last good index build %s until kb build replaces %s", self._open.path,
                             target)
        else:
            self.log.error("no whole index build to serve: pages answer 503 until kb build succeeds")
