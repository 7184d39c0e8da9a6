"""Build the search index as a build artifact, swap it in atomically, and open the current one."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import fields, index
from whoosh import query as Q
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

from kb.model import Content

CURRENT = "current"
KINDS = ("section", "legislation", "reference", "glossary")
LIST_MARK = re.compile(r"^- ", re.M)  # list bullets in plain text: not for snippets
BUILDS = "builds"
META = "meta.json"
SNAPSHOT = "content.pickle"
LEARNED = "model.json"
PROBE_SECONDS = 1.0  # how long a health check's proof by search stands (files are checked on every call)
CHECK_SECONDS = 1.0  # how often a request compares the served build's files with what was built
# Words are letters and digits; an apostrophe splits them ("she's" -> "she", "s"), and single letters drop out.
TOKEN = r"[^\W_]+"
# Common words that say nothing about the topic. Kept on purpose: "not", "no", "under", "over", "before",
# "after", "need", "must": they change what a question means in this domain.
STOP_WORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or so that the this to was were will with"
    " i me my we our us you your he she they them their his her him there here do does did doing done been being"
    " which who whom what whats when where how why would should could shall may might am if then than into about"
    " also just can cant don doesn didn isn aren wasn won wouldn shouldn couldn ll ve re im ive id"
    " any some all more most very really please thanks thank hi hello okay ok"
    " want wants wanted say says said saying tell told know get gets got getting go goes going went".split()
)
# Corrections to the Porter stemmer where it joins words of different meaning or splits words of one meaning.
STEM_FIXES = {"referr": "refer", "referenc": "reference", "prosecutor": "prosecut"}
# Words Porter joins although they mean different things here: "response" (what to do) and "responsible" (criminal
# responsibility) both stem to "respons". These keep a stem of their own, which the stemmer leaves alone.
WORD_FIXES = {"responsible": "responsib", "responsibility": "responsib", "responsibilities": "responsib",
              "irresponsible": "irresponsib"}
UNSTEMMED = frozenset({"reference", "references", *WORD_FIXES.values()})


class WordFixFilter(Filter):  # type: ignore[misc]  # whoosh ships no types
    """Give a few whole words a stem of their own before stemming (see WORD_FIXES)."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = WORD_FIXES.get(token.text, token.text)
            yield token


class StemFixFilter(Filter):  # type: ignore[misc]  # whoosh ships no types
    """Map a few stems to what they should be ("referral" and "refer" are one idea; "references" another)."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = STEM_FIXES.get(token.text, token.text)
            yield token


def analyzer() -> Any:
    """Words, lower-cased, common words dropped, English stems (with our few fixes)."""
    return (RegexTokenizer(TOKEN) | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=2)
            | WordFixFilter() | StemFilter(ignore=UNSTEMMED) | StemFixFilter())


def plain_analyzer() -> Any:
    """Words, lower-cased, kept whole: the vocabulary for spelling suggestions."""
    return RegexTokenizer(TOKEN) | LowercaseFilter()


def schema() -> fields.Schema:
    """One document per article section, law item, reference or glossary entry."""
    stem = analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        type=fields.ID(stored=True),
        title=fields.TEXT(analyzer=stem, stored=True, field_boost=1.0),
        heading=fields.TEXT(analyzer=stem, stored=True, field_boost=1.0),
        body=fields.TEXT(analyzer=stem, stored=True, phrase=True),
        keywords=fields.TEXT(analyzer=stem, stored=False),
        spell=fields.TEXT(analyzer=plain_analyzer(), stored=False, phrase=False),
        topics=fields.KEYWORD(stored=True, commas=True, scorable=False),
        nations=fields.KEYWORD(stored=True, commas=True, scorable=False),
        # The nations a section is specifically about (empty when it applies everywhere): a query naming a
        # nation lifts these, since few documents have them.
        place=fields.KEYWORD(stored=False, commas=True, scorable=True),
        url=fields.STORED(),
        source_document=fields.STORED(),
        source_section=fields.STORED(),
        source_url=fields.STORED(),
        slug=fields.STORED(),
        anchor=fields.STORED(),
    )


@dataclass(frozen=True)
class Document:
    """The fields of one index document."""

    id: str
    type: str
    title: str
    heading: str
    body: str
    keywords: str
    topics: tuple[str, ...]
    nations: tuple[str, ...]
    url: str
    source_document: str
    source_section: str = ""
    source_url: str = ""
    slug: str = ""
    anchor: str = ""
    place: tuple[str, ...] = ()


def documents(content: Content) -> Iterator[Document]:
    """Every searchable thing in the content, as index documents."""
    for article in content.articles:
        for section in article.sections:
            yield Document(
                id=f"section:{article.slug}#{section.anchor}",
                type="section",
                title=article.title,
                heading=section.heading,
                body=LIST_MARK.sub("", section.text),
                keywords=" ".join(section.keywords + article.keywords),
                topics=article.topics,
                nations=section.nations or article.nations,
                place=section.nations,
                url=f"{article.url}#{section.anchor}",
                source_document=section.provenance.document,
                source_section=section.provenance.section,
                source_url=section.provenance.url,
                slug=article.slug,
                anchor=section.anchor,
            )
    for item in content.legislation:
        yield Document(
            id=f"legislation:{item.id}",
            type="legislation",
            title=f"{item.title}, {item.provision}",
            heading=item.provision if item.current else f"{item.provision} ({item.status}: history, not current law)",
            body=" ".join(filter(None, [item.summary, item.note, item.correction])),
            keywords=" ".join(item.keywords),
            topics=item.topics,
            nations=item.nations,
            place=item.nations if len(item.nations) < 4 else (),
            url=f"/legislation#{item.id}",
            source_document=item.provenance.document,
            source_section=item.provenance.section,
            source_url=item.url,
            anchor=item.id,
        )
    for ref in content.references:
        yield Document(
            id=f"reference:{ref.id}",
            type="reference",
            title=ref.title,
            heading=f"{ref.author} ({ref.year})" if ref.year else ref.author,
            body=" ".join(filter(None, [ref.publisher, ref.note])),
            keywords="",
            topics=("resources",),
            nations=ref.nations,
            url=f"/references#{ref.id}",
            source_document="nspcc-sexting-2020" if ref.kind in ("reference", "cited", "resource") else "references",
            source_section="References and resources" if ref.kind in ("reference", "cited") else "",
            source_url=ref.url,
            anchor=ref.id,
        )
    for entry in content.glossary:
        yield Document(
            id=f"glossary:{entry.term}",
            type="glossary",
            title=entry.term,
            heading=", ".join(entry.also),
            body=entry.definition,
            keywords=" ".join(entry.means),
            topics=(),
            nations=(),
            url=f"/glossary#{entry.term.lower().replace(' ', '-')}",
            source_document=entry.source,
            source_url=entry.url,
        )


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


def code_version() -> str:
    """A hash of the code that shapes an index, so a code change makes the old index stale."""
    h = hashlib.sha256()
    shaping = ("model.py", "parse.py", "parse_article.py", "parse_data.py", "index.py", "retrieve.py", "understand.py",
               "rank.py", "learn.py", "urgency.py")
    for name in shaping:
        h.update(Path(__file__).with_name(name).read_bytes())
    return h.hexdigest()[:12]


def is_current(root: Path | str, content_digest: str, training: str = "") -> bool:
    """True when the index under root was built from this content and training data by this code."""
    meta = current_meta(Path(root))
    return bool(meta and meta.get("content") == content_digest and meta.get("code") == code_version()
                and meta.get("training", "") == training)


def current_meta(root: Path) -> dict[str, Any] | None:
    """The metadata of the index now current under root, or None."""
    try:
        return dict(json.loads((root / CURRENT / META).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


Learner = Callable[["OpenIndex"], dict[str, Any]]


def build_index(content: Content, root: Path | str, force: bool = False, learn: Learner | None = None,
                training: str = "") -> dict[str, Any]:
    """Write a new index beside the old one and swap it in; a no-op when content and training are unchanged.

    `learn` fits the learned ranking on the freshly written index (its result is stored with it as model.json);
    `training` is a digest of the data it learns from, so new training data makes the index stale."""
    root = Path(root)
    if content.errors:
        raise ValueError("content has errors; fix them before building")
    with _lock(root):
        BuildStep.reach("locked")
        # A current build is kept only when it is whole: a damaged one is rebuilt without --force.
        if is_current(root, content.digest, training) and not force and damage(root) is None:
            return current_meta(root) or {}
        builds = root / BUILDS
        builds.mkdir(exist_ok=True)
        stamp = datetime.now(UTC)
        target = builds / f"{stamp:%Y%m%dT%H%M%S%f}-{content.digest}"
        target.mkdir()
        BuildStep.reach("writing")
        # One Whoosh index per kind of document, side by side in the build folder: a search of sections (the
        # common case) then walks only the sections' postings.
        writers = {kind: index.create_in(str(target), schema(), indexname=kind).writer() for kind in KINDS}
        count = 0
        counts = dict.fromkeys(KINDS, 0)
        for doc in documents(content):
            writers[doc.type].add_document(
                id=doc.id,
                type=doc.type,
                title=doc.title,
                heading=doc.heading,
                body=doc.body,
                keywords=doc.keywords,
                spell=" ".join([doc.title, doc.heading, doc.body, doc.keywords]),
                topics=",".join(doc.topics),
                nations=",".join(doc.nations),
                place=",".join(doc.place),
                url=doc.url,
                source_document=doc.source_document,
                source_section=doc.source_section,
                source_url=doc.source_url,
                slug=doc.slug,
                anchor=doc.anchor,
            )
            count += doc.type == "section"
            counts[doc.type] += 1
        for writer in writers.values():
            writer.commit()
        (target / SNAPSHOT).write_bytes(pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL))
        learned: dict[str, Any] = {}
        if learn is not None:
            learned = learn(open_unchecked(target, str(Path(BUILDS) / target.name)))
        (target / LEARNED).write_text(json.dumps(learned), encoding="utf-8")
        meta = {
            "content": content.digest,
            "built": stamp.isoformat(timespec="seconds"),
            "sections": count,
            "code": code_version(),
            "training": training,
            "documents": counts,
            # What every file the site loads holds, so that a damaged build is found and never served.
            "files": {path.name: [path.stat().st_size, _file_digest(path)] for path in _loaded_files(target)},
        }
        (target / META).write_text(json.dumps(meta), encoding="utf-8")
        BuildStep.reach("committed")
        # Swap by renaming a fresh symlink over the old: readers see the old index or the new, never half.
        link = root / f".{CURRENT}.{os.getpid()}"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path(BUILDS) / target.name)
        BuildStep.reach("swapping")
        os.replace(link, root / CURRENT)
        BuildStep.reach("swapped")
        _prune(builds, keep={target.name})
        return meta


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
    content: Content
    meta: dict[str, Any]
    learned: dict[str, Any] = field(default_factory=dict)
    memo: Memo = field(default_factory=Memo, compare=False, repr=False)


def open_unchecked(folder: Path, path: str) -> OpenIndex:
    """Open every part of a build folder still being written (for the learning step, before its manifest)."""
    indexes = {kind: index.open_dir(str(folder), indexname=kind) for kind in KINDS}
    content = pickle.loads((folder / SNAPSHOT).read_bytes())  # noqa: S301 - our own build artifact
    meta_file = folder / META
    meta = dict(json.loads(meta_file.read_text(encoding="utf-8"))) if meta_file.exists() else {}
    learned_file = folder / LEARNED
    learned = dict(json.loads(learned_file.read_text(encoding="utf-8"))) if learned_file.exists() else {}
    return OpenIndex(path=path, indexes=indexes, content=content, meta=meta, learned=learned)


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
        learned_file = folder / LEARNED
        learned = dict(json.loads(learned_file.read_text(encoding="utf-8"))) if learned_file.exists() else {}
    except (OSError, ValueError) as exc:
        raise Damaged(f"its learned model cannot be read ({type(exc).__name__})") from None
    opened = OpenIndex(path=target, indexes=indexes, content=content, meta=meta, learned=learned)
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
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root = Path(root)
        self.log = log or logging.getLogger(__name__)
        self.clock = clock
        self._checked = 0.0  # when the served build's files were last compared with what was built
        self._lock = threading.Lock()
        self._open: OpenIndex | None = None
        self._bad: dict[str, str] = {}
        # The files of the served build as last checked (name, size, mtime, inode): rehashed only on a change.
        self._seen: tuple[str, tuple[tuple[str, int, int, int], ...]] | None = None
        self._probed: tuple[str, float] | None = None  # the build last proven by a search, and when

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
                self._open = open_build(self.root, target)
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
        """Open a build found unusable once more: a fault that has passed (files restored) ends here."""
        with self._lock:
            try:
                opened = open_build(self.root, target)
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
                opened = open_build(self.root, candidate)
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
