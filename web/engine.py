"""The index behind each request: opened once per request, recovered when a build is damaged, and one result
cache for searches and answers (stored without the question text)."""

from __future__ import annotations

import hashlib
import json
import traceback
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g

from kb.answering import Answer, answer
from kb.cache import ResultCache
from kb.content import load_content
from kb.index import OpenIndex
from kb.index_holder import IndexHolder
from kb.learn import build, up_to_date
from kb.model import SOURCE_DOCUMENT, Contact, Content, SourceDocument
from kb.searching import SearchResult, search
from kb.warming import warm

T = TypeVar("T")

# Only if contacts.yaml cannot be read: the numbers must show even when everything else is broken.
FALLBACK_CONTACTS = (
    Contact(id="emergency", name="Police emergency", phone="999",
            when="Call the police on 999 straight away if a child is in immediate danger."),
    Contact(id="nspcc-helpline", name="NSPCC Helpline", phone="0808 800 5000", email="help@nspcc.org.uk",
            when="Adults worried about a child can phone or email for advice."),
    Contact(id="childline", name="Childline", phone="0800 1111", audience="young-people",
            when="Children and young people can get free, confidential help."),
)
UNAVAILABLE = "The guidance is not available right now."


@dataclass(frozen=True)
class Site:
    """What the site knows without an index: the contacts and the source document, read at start."""

    contacts: tuple[Contact, ...]
    source: SourceDocument | None
    static_version: str


def request_id() -> str:
    """This request's id: in its log lines and its X-Request-Id header, so a report can be matched to a log."""
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex[:12]
    return cast(str, g.request_id)


def where(exc: BaseException) -> str:
    """An exception's type and where it happened, without its message (which may hold user text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    spots = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))
    return f"{type(exc).__name__} at {spots or 'unknown'}"


def install(app: Flask, holder: IndexHolder | None = None) -> None:
    """Give the app its index holder (a shared one, or its own), its start-up state and its result cache."""
    if holder is not None and holder.root != Path(app.config["INDEX_DIR"]):
        raise ValueError(f"the index holder is of {holder.root}, not of INDEX_DIR {app.config['INDEX_DIR']}")
    app.extensions["kb"] = (holder if holder is not None
                            else IndexHolder(app.config["INDEX_DIR"], log=app.logger, prepare=warm))
    app.extensions["kb_site"] = start(app)
    # Popular questions repeat: answer them from memory (per process; emptied when the index changes).
    app.extensions["kb_cache"] = ResultCache(int(app.config["CACHE_SIZE"]))


def start(app: Flask) -> Site:
    """Read the contacts, and build the index when it is missing or stale and the content is sound."""
    content: Content | None = None
    try:
        content = load_content(app.config["CONTENT_DIR"])
    except Exception as exc:  # noqa: BLE001 - a broken content folder must not stop the site from starting
        app.logger.error("cannot read content: %s", where(exc))
    contacts: tuple[Contact, ...] = FALLBACK_CONTACTS
    if content and content.contacts and content.contacts[0].phone == "999":
        contacts = content.contacts
    source = content.source(SOURCE_DOCUMENT) if content else None
    if app.config["BUILD_ON_START"] and content is not None and not up_to_date(app.config["INDEX_DIR"], content):
        _rebuild(app, content)
    return Site(contacts=contacts, source=source, static_version=static_version(app))


def _rebuild(app: Flask, content: Content) -> None:
    """Build a stale index from sound content; from broken content say why the last good index stays."""
    if not content.errors:
        try:
            meta = build(content, app.config["INDEX_DIR"])
            app.logger.info("index %s ready: %s sections", meta.get("content"), meta.get("sections"))
        except Exception as exc:  # noqa: BLE001 - serve the last good index rather than nothing
            app.logger.error("index build failed: %s", where(exc))
        return
    for problem in content.errors:
        app.logger.error("%s", problem)
    served = cast(IndexHolder, app.extensions["kb"]).get()
    if served is not None:
        app.logger.error("content has errors: the site keeps serving the last good index (built %s)",
                         served.meta.get("built"))
    else:
        app.logger.error("content has errors and there is no good index to serve: pages answer 503 "
                         "until the content is fixed and kb build succeeds")


def static_version(app: Flask) -> str:
    """A hash of the static files, added to their URLs so they can be cached for a year."""
    h = hashlib.sha256()
    folder = Path(app.static_folder or "static")
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


def open_index(app: Flask) -> None:
    """Open and warm the index now (a server's worker, before it takes requests): no visitor waits for it."""
    cast(IndexHolder, app.extensions["kb"]).get()


def site() -> Site:
    return cast(Site, current_app.extensions["kb_site"])


def holder() -> IndexHolder:
    return cast(IndexHolder, current_app.extensions["kb"])


def current() -> OpenIndex | None:
    """The current index for this request (the holder notices a newly swapped-in build by itself)."""
    if "kb_index" not in g:
        g.kb_index = holder().get()
    return cast(OpenIndex | None, g.kb_index)


def need() -> OpenIndex:
    """The current index, or a 503 with the emergency contacts."""
    ix = current()
    if ix is None:
        abort(503, UNAVAILABLE)
    return ix


def content() -> Content:
    return need().content


def contacts() -> tuple[Contact, ...]:
    """The contacts of the current index, or those read at start."""
    ix = current()
    return ix.content.contacts if ix and ix.content.contacts else site().contacts


def run(work: Callable[[OpenIndex], T]) -> T:
    """work(index) for this request; when it raises because the build is damaged, the holder stops serving that
    build and the work runs once more on the last good one (or the request answers 503 with the contacts)."""
    ix = need()
    try:
        return work(ix)
    except Exception:
        instead = holder().recover(ix)
        if instead is ix:
            raise  # the build is whole: a fault of ours, logged as a 500
        g.kb_index = instead
        if instead is None:
            abort(503, UNAVAILABLE)
        return work(instead)


def cached(key: tuple[Hashable, ...], compute: Callable[[OpenIndex], T], keep: Callable[[T], bool]) -> T:
    """compute(index) through the app's one result cache; keep says whether a result may be stored."""
    cache = cast(ResultCache, current_app.extensions["kb_cache"])
    return run(lambda ix: cache.get(ix.path, key, lambda: compute(ix), keep=keep))


def find(q: str, **options: Any) -> SearchResult:
    """search() through the cache (stored without the query text; corrected queries not stored)."""
    key = ("search", q.lower(), *sorted(options.items()))
    result = cached(key, lambda ix: replace(search(ix, q, **options), query=""), keep=lambda r: r.corrected is None)
    return replace(result, query=q)


def reply(q: str, nation: str | None, context: str | None) -> Answer:
    """answer() through the cache (stored without the question text)."""
    key = ("ask", q.lower(), nation, context)
    result = cached(key, lambda ix: replace(answer(ix, q, nation=nation, context=context), question=""),
                    keep=lambda r: r.corrected is None)
    return replace(result, question=q)


def search_json(q: str, options: dict[str, Any]) -> str:
    """The API's search reply as JSON text; popular searches skip the encoding too (stored without the query)."""

    def encode(ix: OpenIndex) -> tuple[str | None, str]:
        result = search(ix, q, **options)
        body = json.dumps({"query": "", "corrected": result.corrected, "total": result.total,
                           "results": [h.as_dict() for h in result.hits], "urgent": result.urgent},
                          ensure_ascii=False)
        return result.corrected, body[len('{"query": ""'):]

    key = ("api-search", q.lower(), *sorted(options.items()))
    _, rest = cached(key, encode, keep=lambda value: value[0] is None)
    return '{"query": ' + json.dumps(q, ensure_ascii=False) + rest
