"""Build the search index as a build artifact, swap it in atomically, and open the current one."""

from __future__ import annotations

import fcntl
import hashlib
import json
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
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

from kb.model import Content

CURRENT = "current"
KINDS = ("section", "legislation", "reference", "glossary")
LIST_MARK = re.compile(r"^- ", re.M)  # list bullets in plain text: not for snippets
BUILDS = "builds"
META = "meta.json"
SNAPSHOT = "content.pickle"
LEARNED = "model.json"
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
    for name in ("model.py", "parse.py", "index.py", "rank.py", "learn.py", "urgency.py"):
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
        if is_current(root, content.digest, training) and not force:
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
        for writer in writers.values():
            writer.commit()
        (target / SNAPSHOT).write_bytes(pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL))
        learned: dict[str, Any] = {}
        if learn is not None:
            learned = learn(open_build(target, str(Path(BUILDS) / target.name)))
        (target / LEARNED).write_text(json.dumps(learned), encoding="utf-8")
        meta = {
            "content": content.digest,
            "built": stamp.isoformat(timespec="seconds"),
            "sections": count,
            "code": code_version(),
            "training": training,
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


@dataclass(frozen=True)
class OpenIndex:
    """An opened index, the content snapshot it was built from, and what was learned with it."""

    path: str
    indexes: dict[str, Any]
    content: Content
    meta: dict[str, Any]
    learned: dict[str, Any] = field(default_factory=dict)
    memo: Memo = field(default_factory=Memo, compare=False, repr=False)


def open_build(folder: Path, path: str) -> OpenIndex:
    """Open every part of one build folder (raises when any part is missing or damaged)."""
    indexes = {kind: index.open_dir(str(folder), indexname=kind) for kind in KINDS}
    content = pickle.loads((folder / SNAPSHOT).read_bytes())  # noqa: S301 - our own build artifact
    meta_file = folder / META
    meta = dict(json.loads(meta_file.read_text(encoding="utf-8"))) if meta_file.exists() else {}
    learned_file = folder / LEARNED
    learned = dict(json.loads(learned_file.read_text(encoding="utf-8"))) if learned_file.exists() else {}
    return OpenIndex(path=path, indexes=indexes, content=content, meta=meta, learned=learned)


class IndexHolder:
    """The current index of a folder, reopened when a build swaps in a new one (a cheap readlink)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._open: OpenIndex | None = None
        self._checked = 0.0

    def _target(self) -> str | None:
        try:
            return os.readlink(self.root / CURRENT)
        except OSError:
            return None

    def get(self) -> OpenIndex | None:
        """The current index, or None when there is no usable one (the caller answers 503)."""
        target = self._target()
        current = self._open
        if current is not None and (target is None or current.path == target):
            return current
        if target is None:
            return current
        with self._lock:
            if self._open is not None and self._open.path == target:
                return self._open
            try:
                # Open every part through the target already read: a swap meanwhile cannot mix two builds.
                opened = open_build(self.root / target, target)
                if not opened.meta:
                    raise ValueError("no metadata")
            except Exception:  # noqa: BLE001 - a damaged index must not take the site down
                return self._open
            self._open = opened
            self._checked = time.monotonic()
            return self._open
