"""Build the search index as a build artifact, swap it in atomically, and open a build whole (every file as
built, a searcher proven) or find why it cannot be served."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import index
from whoosh import query as Q

from kb.index_schema import KINDS, documents, schema
from kb.model import Content
from kb.tuning import DEFAULT, Tuning

CURRENT = "current"
BUILDS = "builds"
META = "meta.json"
SNAPSHOT = "content.pickle"
LEARNED = "model.json"
TUNING = "tuning.json"


class BuildStep:
    """Named points in a build where a test can stop the process (KB_BUILD_STOP_AT=step)."""

    STEPS = ("locked", "writing", "committed", "swapping", "swapped")

    @staticmethod
    def reach(step: str) -> None:
        """Stop this process here when a test asked for it: proves a kill at any step is safe."""
        if os.environ.get("KB_BUILD_STOP_AT") == step:
            os.kill(os.getpid(), signal.SIGSTOP)


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    """One build at a time per index folder (an OS lock, released if the process dies)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# The code that shapes an index: how content is read into the snapshot, what is indexed and how, what is learned,
# and the tuning it is built with.
SHAPING = ("model.py", "content.py", "parse.py", "parse_article.py", "parse_data.py", "parse_signals.py",
           "roles.py", "tools/model.py", "tools/parse.py", "index.py", "index_schema.py", "analysis.py", "spelling.py",
           "retrieve.py", "retrieve_leaves.py", "understand.py", "memory.py", "rank.py", "rank_fit.py", "classify.py",
           "learn.py", "urgency.py", "urgency_text.py", "tuning.py", "budget.py", "forkmap.py", "coverage.py",
           "encoder.py", "semantic.py", "ranked.py", "probe.py")


def code_version() -> str:
    """A hash of the code that shapes an index, so a code change makes the old index stale."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in SHAPING:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


def is_current(root: Path | str, content_digest: str, training: str = "", tuning: Tuning = DEFAULT) -> bool:
    """True when the index under root was built from this content and training data, with this tuning, by this
    code."""
    meta = current_meta(Path(root))
    return bool(meta and meta.get("content") == content_digest and meta.get("code") == code_version()
                and meta.get("training", "") == training and meta.get("tuning") == tuning.digest())


def current_meta(root: Path) -> dict[str, Any] | None:
    """The metadata of the index now current under root, or None."""
    try:
        return dict(json.loads((root / CURRENT / META).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


Learner = Callable[["OpenIndex"], dict[str, Any]]


def build_index(content: Content, root: Path | str, force: bool = False, learn: Learner | None = None,
                training: str = "", tuning: Tuning = DEFAULT) -> dict[str, Any]:
    """Write a new index beside the old one and swap it in; a no-op when content, training and tuning are unchanged.

    `learn` fits the learned ranking on the freshly written index (its result is stored with it as model.json);
    `training` is a digest of the data it learns from, so new training data makes the index stale; `tuning` is
    stored with the index (tuning.json), which learns and is served with it."""
    root = Path(root)
    if content.errors:
        raise ValueError("content has errors; fix them before building")
    with _lock(root):
        BuildStep.reach("locked")
        # A current build is kept only when it is whole: a damaged one is rebuilt without --force.
        if is_current(root, content.digest, training, tuning) and not force and damage(root) is None:
            return current_meta(root) or {}
        builds = root / BUILDS
        builds.mkdir(exist_ok=True)
        stamp = datetime.now(UTC)
        target = builds / f"{stamp:%Y%m%dT%H%M%S%f}-{content.digest}"
        target.mkdir()
        BuildStep.reach("writing")
        counts = _write(target, content)
        (target / SNAPSHOT).write_bytes(pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL))
        (target / TUNING).write_text(json.dumps(tuning.as_dict()), encoding="utf-8")
        learned = learn(open_unchecked(target, str(Path(BUILDS) / target.name))) if learn is not None else {}
        (target / LEARNED).write_text(json.dumps(learned), encoding="utf-8")
        meta = {
            "content": content.digest,
            "built": stamp.isoformat(timespec="seconds"),
            "sections": counts["section"],
            "code": code_version(),
            "training": training,
            "tuning": tuning.digest(),
            "documents": counts,
            # What every file the site loads holds, so that a damaged build is found and never served.
            "files": {path.name: [path.stat().st_size, _file_digest(path)] for path in _loaded_files(target)},
        }
        (target / META).write_text(json.dumps(meta), encoding="utf-8")
        BuildStep.reach("committed")
        _swap(root, target)
        _prune(builds, keep={target.name})
        return meta


def _write(target: Path, content: Content) -> dict[str, int]:
    """Write every document into the build folder; how many of each kind."""
    # One Whoosh index per kind of document, side by side in the build folder: a search of sections (the
    # common case) then walks only the sections' postings.
    writers = {kind: index.create_in(str(target), schema(), indexname=kind).writer() for kind in KINDS}
    counts = dict.fromkeys(KINDS, 0)
    for doc in documents(content):
        writers[doc.type].add_document(**doc.fields())
        counts[doc.type] += 1
    for writer in writers.values():
        writer.commit()
    return counts


def _swap(root: Path, target: Path) -> None:
    """Make target the current build."""
    # Swap by renaming a fresh symlink over the old: readers see the old index or the new, never half.
    link = root / f".{CURRENT}.{os.getpid()}"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(Path(BUILDS) / target.name)
    BuildStep.reach("swapping")
    os.replace(link, root / CURRENT)
    BuildStep.reach("swapped")


def _prune(builds: Path, keep: set[str], spare: int = 2) -> None:
    """Remove old builds, keeping the newest few so open searchers can finish."""
    old = sorted((p for p in builds.iterdir() if p.is_dir() and p.name not in keep), key=lambda p: p.name)
    for path in old[:-spare] if spare else old:
        shutil.rmtree(path, ignore_errors=True)


class Memo:
    """Values worked out once per opened index (vocabulary, filter sets, the ranking engine), safe across threads."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}
        # Re-entrant: making one value (the engine) may need another (the vocabulary) from the same thread.
        self._lock = threading.RLock()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        """The value under key, made by make() the first time (under a lock: made once, never half-seen)."""
        try:
            return self._values[key]
        except KeyError:
            pass
        with self._lock:
            if key not in self._values:
                self._values[key] = make()
            return self._values[key]


def _loaded_files(folder: Path) -> list[Path]:
    """The files of a build that the site reads: Whoosh's tables of contents and segments, the snapshot."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != META and not p.name.endswith("_WRITELOCK"))


def _file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class OpenIndex:
    """An opened index, the content snapshot it was built from, and what was learned with it."""

    path: str
    indexes: dict[str, Any]
    # The content and the learned models stay out of the repr (hundreds of kilobytes, megabytes): a failing test's
    # arguments are printed by Hypothesis, which warns (an error here) above 30 kB and hides the failure.
    content: Content = field(repr=False)
    meta: dict[str, Any] = field(repr=False)
    learned: dict[str, Any] = field(default_factory=dict, repr=False)
    tuning: Tuning = DEFAULT
    memo: Memo = field(default_factory=Memo, compare=False, repr=False)
    folder: Path | None = None  # the build's folder: the encoder and the bank's vectors are read from it

    def tuned(self, tuning: Tuning) -> OpenIndex:
        """The same build served with another tuning (and a memo of its own: what is worked out depends on it).
        The learned model stays the one fitted with the build's tuning: to fit under another, build with it."""
        return OpenIndex(self.path, self.indexes, self.content, self.meta, self.learned, tuning, folder=self.folder)


def open_unchecked(folder: Path, path: str) -> OpenIndex:
    """Open every part of a build folder still being written (for the learning step, before its manifest)."""
    indexes = {kind: index.open_dir(str(folder), indexname=kind) for kind in KINDS}
    content = pickle.loads((folder / SNAPSHOT).read_bytes())  # noqa: S301 - our own build artifact
    meta_file = folder / META
    meta = dict(json.loads(meta_file.read_text(encoding="utf-8"))) if meta_file.exists() else {}
    learned = _json(folder / LEARNED)
    return OpenIndex(path=path, indexes=indexes, content=content, meta=meta, learned=learned,
                     tuning=Tuning.from_dict(_json(folder / TUNING)), folder=folder)


def _json(path: Path) -> dict[str, Any]:
    """A JSON object stored with a build ({} when the build has none)."""
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}


class Damaged(Exception):
    """A build that cannot be served, with the reason in plain words (file names only, never user text)."""


def check_files(folder: Path, meta: dict[str, Any], snapshot: bytes | None = None) -> str | None:
    """Why a build's files differ from its manifest (None when every file is as built)."""
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        return "it has no manifest of its files (built by an older kb): run kb build"
    for name, (size, digest) in sorted(files.items()):
        path = folder / name
        try:
            if name == SNAPSHOT and snapshot is not None:
                found_size, found = len(snapshot), hashlib.sha256(snapshot).hexdigest()
            else:
                found_size, found = path.stat().st_size, _file_digest(path)
        except OSError as exc:
            return f"{name} cannot be read ({type(exc).__name__})"
        if found_size != size or found != digest:
            return f"{name} does not match what was built"
    return None


def probe(opened: OpenIndex) -> str | None:
    """Open a searcher on every kind of document and run a fixed query; why it fails (None when it works)."""
    expected = opened.meta.get("documents") or {}
    try:
        for kind in KINDS:
            with opened.indexes[kind].searcher() as searcher:
                found = list(searcher.docs_for_query(Q.Term("type", kind)))
                if len(found) != expected.get(kind) or not all(searcher.stored_fields(n).get("id") for n in found[:1]):
                    return f"the {kind} index answers {len(found)} of its {expected.get(kind)} documents"
    except Exception as exc:  # noqa: BLE001 - whatever a damaged segment raises, the reason is its type
        return f"a search of the {kind} index fails ({type(exc).__name__})"
    if opened.content.digest != opened.meta.get("content"):
        return "its content snapshot and its metadata come from different builds"
    return None


def open_build(root: Path, target: str) -> OpenIndex:
    """Open one build whole (every file checked against the manifest, a searcher proven), or raise Damaged."""
    folder = root / target
    try:
        meta = dict(json.loads((folder / META).read_text(encoding="utf-8")))
        # The snapshot is checked and loaded from the same bytes: a swap meanwhile cannot mix two builds.
        snapshot = (folder / SNAPSHOT).read_bytes()
    except (OSError, ValueError) as exc:
        raise Damaged(f"its metadata or content snapshot cannot be read ({type(exc).__name__})") from None
    reason = check_files(folder, meta, snapshot)
    if reason:
        raise Damaged(reason)
    try:
        indexes = {kind: index.open_dir(str(folder), indexname=kind) for kind in KINDS}
        content = pickle.loads(snapshot)  # noqa: S301 - our own build artifact, checked against its manifest
    except Exception as exc:  # noqa: BLE001 - a damaged index must not take the site down
        raise Damaged(f"it cannot be opened ({type(exc).__name__})") from None
    try:
        learned = _json(folder / LEARNED)
        tuning = Tuning.from_dict(_json(folder / TUNING))
    except (OSError, ValueError, TypeError) as exc:
        raise Damaged(f"its learned model or tuning cannot be read ({type(exc).__name__})") from None
    opened = OpenIndex(path=target, indexes=indexes, content=content, meta=meta, learned=learned, tuning=tuning,
                       folder=folder)
    reason = probe(opened)
    if reason:
        raise Damaged(reason)
    return opened


def damage(root: Path | str) -> str | None:
    """Why the current build under root cannot be served (None when it is whole, or when there is none)."""
    root = Path(root)
    try:
        target = os.readlink(root / CURRENT)
    except OSError:
        return None
    try:
        open_build(root, target)
    except Damaged as exc:
        return str(exc)
    return None
