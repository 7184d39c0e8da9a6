"""The web site: server-rendered pages and a JSON API over the kb package (the search engine stays in kb/)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted

from kb import IndexHolder, OpenIndex
from kb import config as kb_config
from kb.answering import Answer, answer, law_dict, reference_dict
from kb.cache import ResultCache
from kb.content import load_content
from kb.learn import build, up_to_date
from kb.model import (
    LAW_GROUPS,
    NATION_NAMES,
    NATIONS,
    REFERENCE_KINDS,
    SOURCE_DOCUMENT,
    TOPICS,
    Article,
    Contact,
    Content,
    LawItem,
    Provenance,
    Reference,
    SourceDocument,
)
from kb.ratelimit import Rate, SharedLimiter
from kb.searching import SearchResult, normalise, search, validate
from kb.tools import BadState, Decision, Step, Tools, check_policy, decide, policy_markdown

log = logging.getLogger("app")
T = TypeVar("T")

SITE_NAME = "Responding to nude image sharing"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
# Pages and answers that carry what someone typed: never kept by a browser or proxy cache.
NO_STORE = frozenset({"/search", "/ask", "/api/search", "/api/ask", "/decide", "/record", "/policy",
                      "/policy/check", "/policy/download"})
# Pages that search or answer: each costs a search, so each counts against the rate limit.
LIMITED = ("/search", "/ask")
PAGE_RESULTS = 20
STATIC_MAX_AGE = 365 * 24 * 3600
# Only if contacts.yaml cannot be read: the numbers must show even when everything else is broken.
FALLBACK_CONTACTS = (
    Contact(id="emergency", name="Police emergency", phone="999",
            when="Call the police on 999 straight away if a child is in immediate danger."),
    Contact(id="nspcc-helpline", name="NSPCC Helpline", phone="0808 800 5000", email="help@nspcc.org.uk",
            when="Adults worried about a child can phone or email for advice."),
    Contact(id="childline", name="Childline", phone="0800 1111", audience="young-people",
            when="Children and young people can get free, confidential help."),
)
ROLES = {
    "school-staff": "school and college staff",
    "dsl": "designated safeguarding leads",
    "youth-and-sport": "youth and sport workers",
    "police": "police",
    "health-and-social-care": "health and social care staff",
}
TYPE_NAMES = {
    "section": "Guidance", "legislation": "Law", "reference": "References", "glossary": "Glossary",
    "all": "Everything",
}
KIND_NAMES = {
    "reference": "References listed in the 2020 guidance",
    "cited": "Works the 2020 guidance cites but does not list",
    "current-guidance": "Guidance published since 2020",
    "resource": "Services and resources the guidance names",
    "training": "Training",
}
STATUS_NAMES = {"in force": "In force", "amended": "In force, as amended", "repealed": "Repealed",
                "not yet in force": "Not yet in force"}


@dataclass(frozen=True)
class Task:
    """An entry point on the home page: what someone needs to do, and where the guidance says how."""

    label: str
    slug: str
    question: str
    href: str = ""
    hint: str = ""


TASKS = (
    Task("I have found out about an image", "what-to-do-with-an-image",
         "What should I do when I find out about a nude image?"),
    Task("A young person has told me", "talking-to-a-young-person",
         "A young person has told me about a nude image. What do I do?"),
    Task("Do I need to refer?", "when-to-refer", "When should I make a child protection referral?",
         href="/decide"),
    Task("Getting an image removed", "getting-an-image-removed", "How can a nude image be removed?"),
    Task("Our policy and procedures", "policy-and-procedures", "What should our policy cover?"),
    Task("The law where I work", "", "What is the law where I work?", href="/legislation",
         hint="The law in each UK nation today, and what has changed since 2020."),
)


@dataclass(frozen=True)
class Site:
    """What the site knows without an index: the contacts and the source document, read at start."""

    contacts: tuple[Contact, ...]
    source: SourceDocument | None
    static_version: str


class JSON(DefaultJSONProvider):
    """UTF-8 JSON, keys in the contract's order."""

    sort_keys = False
    ensure_ascii = False


class StripQueryStrings(logging.Filter):
    """Drop the query string from the development server's request lines: searches never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            line = record.args[0]
            if "?" in line:
                method, _, rest = line.partition(" ")
                target, _, protocol = rest.rpartition(" ") if rest.count(" ") else (rest, "", "")
                record.args = (f"{method} {target.split('?', 1)[0]} {protocol}".strip(), *record.args[1:])
        return True


class AsciiQueryString:
    """Percent-encode raw non-ASCII bytes in the query string, which Werkzeug would refuse to decode."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            raw = query.encode("latin-1", "replace")
            environ["QUERY_STRING"] = "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)
        return self.wsgi_app(environ, start_response)


class FromProxiesOnly:
    """Believe forwarded headers (X-Forwarded-For, -Proto, -Host) only on requests from the proxy's addresses:
    a client that reaches the app directly cannot choose the address it is counted under."""

    def __init__(self, wsgi_app: Any, hops: int, proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]):
        self.plain = wsgi_app
        self.forwarded = ProxyFix(wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        self.proxies = proxies

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return self.plain(environ, start_response)
        trusted = any(peer in network for network in self.proxies)
        return (self.forwarded if trusted else self.plain)(environ, start_response)


class OnlyTrustedHosts:
    """Put the site's own name in place of a Host header it does not answer for (and mark the request, which
    then answers 400): no page, link or redirect can ever be built from an untrusted Host."""

    def __init__(self, wsgi_app: Any, trusted: list[str]) -> None:
        self.wsgi_app = wsgi_app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not host_is_trusted(environ.get("HTTP_HOST"), self.trusted):
            environ["HTTP_HOST"] = self.trusted[0]
            environ["kb.untrusted_host"] = True
        return self.wsgi_app(environ, start_response)


bp = Blueprint("site", __name__)


# ---------------------------------------------------------------- the app factory


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the site; config overrides the defaults (and KB_* environment variables)."""
    app = Flask(__name__)
    app.json = JSON(app)
    app.config.from_mapping(
        CONTENT_DIR=str(kb_config.content_dir()),
        INDEX_DIR=str(kb_config.index_dir()),
        BUILD_ON_START=True,
        RATE_LIMIT=None,
        CACHE_SIZE=1024,
        REPORT_MISTAKES_TO="",
        TRUSTED_PROXIES=0,
        # Forwarded headers are believed only from these addresses (the reverse proxy's).
        PROXY_ADDRESSES="127.0.0.1,::1",
        # The host names the site answers for; the host of SITE_URL is added.
        TRUSTED_HOSTS="localhost,127.0.0.1",
        # The site's public address, e.g. https://kb.example.org: the base of the few absolute links it makes.
        SITE_URL="",
        LOG_REQUESTS=True,
        MAX_CONTENT_LENGTH=1024,
        MAX_FORM_MEMORY_SIZE=1024,
        SEND_FILE_MAX_AGE_DEFAULT=STATIC_MAX_AGE,
    )
    # Production settings come from the environment: KB_RATE_LIMIT=60/60, KB_REPORT_MISTAKES_TO=...
    app.config.from_prefixed_env("KB")
    if config:
        app.config.from_mapping(config)
    app.logger.setLevel(logging.INFO)
    _quiet_werkzeug()
    app.config["SITE_URL"] = str(app.config["SITE_URL"] or "").rstrip("/")
    app.config["TRUSTED_HOSTS"] = _trusted_hosts(app.config["TRUSTED_HOSTS"], app.config["SITE_URL"])
    app.wsgi_app = AsciiQueryString(app.wsgi_app)  # type: ignore[method-assign]
    # The host is checked after the proxy's X-Forwarded-Host is applied, so that value is checked too.
    app.wsgi_app = OnlyTrustedHosts(app.wsgi_app, app.config["TRUSTED_HOSTS"])  # type: ignore[method-assign]
    if int(app.config["TRUSTED_PROXIES"] or 0) > 0:
        proxies = tuple(ipaddress.ip_network(a.strip()) for a in _names(app.config["PROXY_ADDRESSES"]))
        app.wsgi_app = FromProxiesOnly(  # type: ignore[method-assign]
            app.wsgi_app, int(app.config["TRUSTED_PROXIES"]), proxies)

    app.extensions["kb"] = IndexHolder(app.config["INDEX_DIR"], log=app.logger)
    app.extensions["kb_site"] = _start(app)
    # Popular questions repeat: answer them from memory (per process; emptied when the index changes).
    app.extensions["kb_cache"] = ResultCache(int(app.config["CACHE_SIZE"]))
    # Made here, before gunicorn forks its workers (gunicorn.conf.py preloads the app): one count per server.
    rate = Rate.parse(app.config["RATE_LIMIT"])
    app.extensions["kb_limiter"] = SharedLimiter(rate) if rate else None

    app.jinja_env.filters.update(
        day=_day, short_day=_short_day, nations=_nations, safe_href=safe_href, snippet=safe_snippet,
        topic_name=_topic_name, status_name=lambda s: STATUS_NAMES.get(s, s),
    )
    app.context_processor(_template_context)
    app.before_request(_start_request)
    app.before_request(_refuse_untrusted_hosts)
    app.before_request(_allow_only_reads)
    app.before_request(_limit_rate)
    app.after_request(_finish_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    app.register_blueprint(bp)
    return app


def _names(value: Any) -> list[str]:
    """A list setting from config: a list, or a comma-separated string (as environment variables give it)."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _trusted_hosts(value: Any, site_url: str) -> list[str]:
    """The host names the site answers for: the setting's, and SITE_URL's; never empty (empty means any)."""
    hosts = _names(value) + ([host] if site_url and (host := urlsplit(site_url).hostname) else [])
    return list(dict.fromkeys(hosts)) or ["localhost"]


def _quiet_werkzeug() -> None:
    """Keep query strings out of the development server's log (gunicorn's format drops them itself)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, StripQueryStrings) for f in logger.filters):
        logger.addFilter(StripQueryStrings())


def _start(app: Flask) -> Site:
    """Read the contacts, and build the index when it is missing or stale and the content is sound."""
    content: Content | None = None
    try:
        content = load_content(app.config["CONTENT_DIR"])
    except Exception as exc:  # noqa: BLE001 - a broken content folder must not stop the site from starting
        app.logger.error("cannot read content: %s", _where(exc))
    contacts: tuple[Contact, ...] = FALLBACK_CONTACTS
    if content and content.contacts and content.contacts[0].phone == "999":
        contacts = content.contacts
    source = content.source(SOURCE_DOCUMENT) if content else None
    if app.config["BUILD_ON_START"] and content is not None:
        index_dir = app.config["INDEX_DIR"]
        if not up_to_date(index_dir, content):
            if content.errors:
                for problem in content.errors:
                    app.logger.error("%s", problem)
                served = cast(IndexHolder, app.extensions["kb"]).get()
                if served is not None:
                    app.logger.error("content has errors: the site keeps serving the last good index (built %s)",
                                     served.meta.get("built"))
                else:
                    app.logger.error("content has errors and there is no good index to serve: pages answer 503 "
                                     "until the content is fixed and kb build succeeds")
            else:
                try:
                    meta = build(content, index_dir)
                    app.logger.info("index %s ready: %s sections", meta.get("content"), meta.get("sections"))
                except Exception as exc:  # noqa: BLE001 - serve the last good index rather than nothing
                    app.logger.error("index build failed: %s", _where(exc))
    return Site(contacts=contacts, source=source, static_version=_static_version(app))


def _static_version(app: Flask) -> str:
    """A hash of the static files, added to their URLs so they can be cached for a year."""
    h = hashlib.sha256()
    folder = Path(app.static_folder or "static")
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


# ---------------------------------------------------------------- per request


def _site() -> Site:
    return cast(Site, current_app.extensions["kb_site"])


def _open() -> OpenIndex | None:
    """The current index for this request (the holder notices a newly swapped-in build by itself)."""
    if "kb_index" not in g:
        holder = cast(IndexHolder, current_app.extensions["kb"])
        g.kb_index = holder.get()
    return cast(OpenIndex | None, g.kb_index)


def _need() -> OpenIndex:
    """The current index, or a 503 with the emergency contacts."""
    ix = _open()
    if ix is None:
        abort(503, "The guidance is not available right now.")
    return ix


def _content() -> Content:
    return _need().content


def _engine(work: Callable[[OpenIndex], T]) -> T:
    """work(index) for this request; when it raises because the build is damaged, the holder stops serving that
    build and the work runs once more on the last good one (or the request answers 503 with the contacts)."""
    ix = _need()
    try:
        return work(ix)
    except Exception:
        holder = cast(IndexHolder, current_app.extensions["kb"])
        instead = holder.recover(ix)
        if instead is ix:
            raise  # the build is whole: a fault of ours, logged as a 500
        g.kb_index = instead
        if instead is None:
            abort(503, "The guidance is not available right now.")
        return work(instead)


def _search(q: str, **options: Any) -> SearchResult:
    """search() through the app's result cache (stored without the query text; corrected queries not stored)."""
    cache = cast(ResultCache, current_app.extensions["kb_cache"])
    key = ("search", q.lower(), *sorted(options.items()))

    def work(ix: OpenIndex) -> SearchResult:
        return cache.get(ix.path, key, lambda: replace(search(ix, q, **options), query=""),
                         keep=lambda r: r.corrected is None)

    return replace(_engine(work), query=q)


def _answer(q: str, nation: str | None, context: str | None) -> Answer:
    """answer() through the app's result cache (stored without the question text)."""
    cache = cast(ResultCache, current_app.extensions["kb_cache"])
    key = ("ask", q.lower(), nation, context)

    def work(ix: OpenIndex) -> Answer:
        return cache.get(ix.path, key, lambda: replace(answer(ix, q, nation=nation, context=context), question=""),
                         keep=lambda r: r.corrected is None)

    return replace(_engine(work), question=q)


def _request_id() -> str:
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex[:12]
    return cast(str, g.request_id)


def _start_request() -> None:
    g.started = time.perf_counter()
    _request_id()


def _allow_only_reads() -> None:
    """This site only ever reads: no forms post, nothing is uploaded."""
    if request.method not in ("GET", "HEAD"):
        abort(405)


def _refuse_untrusted_hosts() -> None:
    """A request for a host name the site does not answer for is a 400 (OnlyTrustedHosts replaced the name);
    the health check answers anyway, since a load balancer may name a replica by its address."""
    if request.environ.get("kb.untrusted_host") and request.path != "/healthz":
        abort(400, "This site does not answer for that host name.")


def _limit_rate() -> Response | None:
    """Searches, answers and the JSON API count against each client's rate (shared by the server's workers)."""
    limiter = cast(SharedLimiter | None, current_app.extensions.get("kb_limiter"))
    if limiter is None or not (_is_api() or request.path in LIMITED):
        return None
    wait = limiter.wait(request.remote_addr or "unknown")
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    response = _error_response(TooManyRequests(f"Too many requests. Please wait {seconds} seconds and try again."))
    response.headers["Retry-After"] = str(seconds)
    return response


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _wants_json() -> bool:
    return _is_api() or request.path == "/healthz"


def _finish_request(response: Response) -> Response:
    """Security and caching headers on every response, and one log line without the query string."""
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["X-Request-Id"] = _request_id()
    if response.location and 300 <= response.status_code < 400:
        location = _within(response.location)
        headers["Location"] = location
        response.set_data(redirect(location, response.status_code).get_data())
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.path.startswith("/static/") and response.status_code in (200, 304):
        headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
    elif request.path in NO_STORE or response.status_code == 429:
        headers["Cache-Control"] = "no-store"
    else:
        headers["Cache-Control"] = "no-cache"
    if current_app.config["LOG_REQUESTS"]:
        took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # The path only: a query string holds what someone searched for, which we never record. Escaped: a
        # path's %0a must not forge a log line, nor %1b drive a terminal.
        path = request.path.encode("unicode_escape").decode("ascii")
        current_app.logger.info("%s %s %s %.1fms id=%s", request.method, path, response.status_code, took,
                                _request_id())
    return response


def _where(exc: BaseException) -> str:
    """An exception's type and where it happened, without its message (which may hold user text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    spots = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))
    return f"{type(exc).__name__} at {spots or 'unknown'}"


def _http_error(exc: HTTPException) -> Response:
    """A plain page, or JSON {"error"} under /api/, for every HTTP error."""
    code = exc.code or 500
    if code == 503:
        # Our own words about what is unavailable, never the request's.
        current_app.logger.error("request %s answered 503: %s", _request_id(), exc.description)
    elif code >= 500:
        current_app.logger.error("request %s failed with %s", _request_id(), code)
    return _error_response(exc)


def _within(url: str) -> str:
    """A redirect's target as a path of this site: never a host (Werkzeug builds "//" redirects from Host)."""
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith("/") and not parts.path.startswith("//") else "/"
    return path + (f"?{parts.query}" if parts.query else "")


def _error_response(exc: HTTPException) -> Response:
    code = exc.code or 500
    message = _message(exc)
    if _wants_json():
        body: dict[str, Any] = {"error": message}
        if request.path == "/healthz" and code == 503:
            body = {"status": "unavailable", "error": message}
        response = jsonify(body)
    else:
        template = "unavailable.html" if code == 503 else "error.html"
        response = Response(render_template(template, code=code, message=message, title=_title(code)))
    response.status_code = code
    if code == 405:
        response.headers["Allow"] = "GET, HEAD"
    return response


def _server_error(exc: Exception) -> Response:
    """Anything unexpected: logged with the request id (never the query), then a plain 500."""
    current_app.logger.error("request %s failed: %s", _request_id(), _where(exc))
    return _error_response(InternalServerError())


def _message(exc: HTTPException) -> str:
    messages = {
        400: "Something in the address is not right.",
        404: "We could not find that page.",
        405: "This site only answers GET and HEAD requests.",
        413: "This site does not accept uploads.",
        500: "Something went wrong on our side. It has been logged; please try again.",
        503: "The guidance is not available right now.",
    }
    code = exc.code or 500
    if code in (400, 429) and exc.description and exc.description != type(exc).description:
        return exc.description
    return messages.get(code, exc.name if code < 500 else messages[500])


def _title(code: int) -> str:
    return {400: "There is a problem with the address", 404: "Page not found", 405: "Method not allowed",
            429: "Too many requests", 503: "Sorry, the guidance is not available",
            500: "Sorry, something went wrong"}.get(
        code, "There is a problem")


# ---------------------------------------------------------------- template helpers


def _template_context() -> dict[str, Any]:
    ix = _open()
    content = ix.content if ix else None
    contacts = content.contacts if content and content.contacts else _site().contacts
    source = (content.source(SOURCE_DOCUMENT) if content else None) or _site().source
    return {
        "site_name": SITE_NAME,
        "contacts": contacts,
        "strip": [c for c in contacts if c.phone][:3],
        "source_doc": source,
        "report_to": current_app.config["REPORT_MISTAKES_TO"],
        "printed": _today(),
        "page_url": _site_url() + request.full_path.rstrip("?"),
        "nation_names": NATION_NAMES,
        "nations": NATIONS,
        "static_url": _static_url,
        "provenance_line": _provenance_line,
        "tel": _tel,
    }


def _static_url(filename: str) -> str:
    return url_for("static", filename=filename, v=_site().static_version)


def _site_url() -> str:
    """The base of an absolute link: SITE_URL, else this request's host (a trusted one: OnlyTrustedHosts)."""
    return str(current_app.config["SITE_URL"] or request.host_url.rstrip("/"))


def _today() -> date:
    try:
        return datetime.now(ZoneInfo("Europe/London")).date()
    except ZoneInfoNotFoundError:
        return datetime.now(UTC).date()


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _day(value: Any) -> str:
    """A date as '26 November 2026'."""
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    day = _parse_day(value)
    return f"{day.day} {day:%B %Y}" if day else str(value)


def _short_day(value: Any) -> str:
    """A date as '01 Oct 2020', the way the source dates itself."""
    day = _parse_day(value)
    return f"{day:%d %b %Y}" if day else str(value)


def _nations(values: Iterable[str]) -> str:
    """Nation slugs as 'England and Wales' (all four: 'all four UK nations')."""
    names = [NATION_NAMES.get(v, v) for v in values]
    if len(names) == len(NATIONS):
        return "all four UK nations"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _topic_name(topic: str) -> str:
    return topic.replace("-", " ").capitalize()


def _tel(phone: str) -> str:
    return "tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")


def safe_href(url: str) -> str:
    """A link target from data, kept only when it is a site path, a fragment or https/mailto/tel."""
    url = str(url or "").strip()
    if url.startswith(("https://", "mailto:", "tel:", "#")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return url
    return "#"


def safe_snippet(snippet: str) -> Markup:
    """A search snippet as HTML: escaped text with bare <mark> elements, whatever the engine returned."""
    parts = str(snippet).replace("</mark>", "<mark>").split("<mark>")
    out = []
    for i, part in enumerate(parts):
        part = part.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        out.append(f"<mark>{part}</mark>" if i % 2 else part)
    return Markup("".join(out))


def _provenance_line(prov: Provenance) -> str:
    """Where a section comes from, in words."""
    if prov.section:
        if prov.document == SOURCE_DOCUMENT:
            return f"From the 2020 guidance: {prov.section}"
        return f"From {prov.document}: {prov.section}"
    ix = _open()
    doc = ix.content.source(prov.document) if ix else None
    return f"Source: {doc.title if doc else prov.document}"


def _param(name: str) -> str:
    """A short parameter (nation, topic, type...) cleaned of control characters and length."""
    return normalise(request.args.get(name, ""))[0][:80]


def _check(nation: str, topic: str = "", kind: str = "", limit: Any = None) -> int:
    """The limit, or a 400 with a plain message for the first bad parameter."""
    error, number = validate(nation or None, topic or None, kind or None, limit)
    if error:
        abort(400, error)
    return number


# ---------------------------------------------------------------- pages


@bp.get("/")
def home() -> str:
    """Search, tasks, roles and every article (or those for one role)."""
    content = _content()
    audience = _param("audience")
    if audience and audience not in ROLES:
        abort(400, f"Unknown role '{audience}'. Use one of: {', '.join(ROLES)}.")
    articles = [a for a in content.articles if not audience or {audience, "all"} & set(a.audiences)]
    # Articles written for the role come before those written for everyone.
    articles.sort(key=lambda a: (bool(audience) and audience not in a.audiences, a.order))
    tasks = []
    for task in TASKS:
        article = content.article(task.slug) if task.slug else None
        href = task.href or (article.url if article else url_for("site.ask", q=task.question))
        summary = article.summary if article else task.hint
        # A task that leads to a tool keeps a link to the guidance it is built on.
        guide = {"href": article.url, "title": article.title} if article and href != article.url else None
        tasks.append({"label": task.label, "href": href, "summary": summary, "guide": guide})
    tools = content.tools
    return render_template("home.html", articles=articles, tasks=tasks, roles=ROLES, audience=audience,
                           tools=tools)


@bp.get("/search")
def search_page() -> str:
    """Search results with filters, facet counts and spelling correction."""
    nation, topic, kind = _param("nation"), _param("topic"), _param("type")
    _check(nation, topic, kind)
    q, message = normalise(request.args.get("q", ""))
    spelling = request.args.get("spell", "") not in ("0", "false", "no", "off")
    filters = {"nation": nation, "topic": topic, "type": kind}
    if not q:
        return render_template("search.html", q="", result=None, filters=filters, options=_options())
    result = _search(q, nation=nation or None, topic=topic or None, kind=kind or "section",
                     limit=PAGE_RESULTS, spelling=spelling, facets=True)
    return render_template("search.html", q=q, result=result, filters=filters, options=_options(),
                           message=message, tasks=_task_links(_content()))


def _options() -> dict[str, Any]:
    return {"nations": NATION_NAMES, "topics": {t: _topic_name(t) for t in TOPICS}, "types": TYPE_NAMES}


def _task_links(content: Content) -> list[dict[str, str]]:
    out = []
    for task in TASKS:
        article = content.article(task.slug) if task.slug else None
        out.append({"label": task.label, "href": task.href or (article.url if article else
                                                               url_for("site.ask", q=task.question))})
    return out


@bp.get("/ask")
def ask() -> str:
    """A question answered from the guidance, with the law for the chosen nation."""
    nation = _param("nation")
    _check(nation)
    q, message = normalise(request.args.get("q", ""))
    context = request.args.get("context", "")[:400]
    if not q:
        return render_template("ask.html", q="", reply=None, nation=nation, context=context)
    ix = _need()
    reply = _answer(q, nation or None, context or None)
    return render_template("ask.html", q=q, reply=reply, nation=reply.nation or "", context=context,
                           message=message or reply.message, laws=_laws_by_nation(reply),
                           nation_links=_nation_links(q, context), tasks=_task_links(ix.content))


def _laws_by_nation(reply: Answer) -> list[tuple[str, list[LawItem]]]:
    """The answer's law; with no nation chosen, grouped by the nations where each item applies."""
    if reply.nation:
        return [(reply.nation, list(reply.legislation))] if reply.legislation else []
    return [(n, items) for n in NATIONS if (items := [i for i in reply.legislation if n in i.nations])]


def _nation_links(q: str, context: str) -> list[tuple[str, str]]:
    return [(NATION_NAMES[n], url_for("site.ask", q=q, nation=n, context=context or None)) for n in NATIONS]


@bp.get("/articles/<slug>")
def article(slug: str) -> str:
    """One article: its sections with their provenance, references and law."""
    content = _content()
    found = content.article(slug)
    if found is None:
        abort(404)
    return render_template("article.html", article=found, refs=_article_refs(content, found),
                           laws=_article_laws(content, found),
                           next_articles=[a for s in found.next if (a := content.article(s))],
                           source=content.source(found.source))


def _article_refs(content: Content, article: Article) -> list[tuple[Reference, Reference | None]]:
    """The references an article cites, each with its current replacement (shown first)."""
    ids = list(dict.fromkeys(list(article.references) + [r for s in article.sections for r in s.refs]))
    pairs = [(ref, content.reference(ref.replaced_by) if ref.replaced_by else None)
             for ref_id in ids if (ref := content.reference(ref_id))]
    # A replacement the article also cites on its own is shown once, beside what it replaced.
    paired = {current.id for _, current in pairs if current}
    return [(ref, current) for ref, current in pairs if current or ref.id not in paired]


def _article_laws(content: Content, article: Article) -> list[LawItem]:
    ids = list(article.legislation) + [law for s in article.sections for law in s.laws]
    return [item for law_id in dict.fromkeys(ids) if (item := content.law(law_id))]


@bp.get("/legislation")
def legislation() -> str:
    """The law grouped by where it applies, repealed law as history."""
    content = _content()
    groups: dict[tuple[str, ...], list[LawItem]] = {}
    for item in content.legislation:
        if item.current:
            groups.setdefault(item.nations, []).append(item)
    order = sorted(groups, key=lambda ns: (len(ns) == len(NATIONS), [NATIONS.index(n) for n in ns]))
    history = [i for i in content.legislation if not i.current]
    current = [i for i in content.legislation if i.current]
    counts = {n: sum(1 for i in current if n in i.nations) for n in NATIONS}
    return render_template("legislation.html", groups=[(ns, groups[ns]) for ns in order], history=history,
                           counts=counts, by_id={i.id: i for i in content.legislation})


@bp.get("/legislation/<nation>")
def legislation_nation(nation: str) -> str:
    """The law that applies in one nation, by subject, and what changed since 2020."""
    if nation not in NATIONS:
        abort(404)
    content = _content()
    here = [i for i in content.legislation if nation in i.nations]
    groups = [(name, items) for key, name in LAW_GROUPS.items()
              if (items := [i for i in here if i.group == key and i.current])]
    changed = [i for i in here if (i.note or i.correction) and i.current]
    history = [i for i in here if not i.current]
    refer = content.emergency_section()
    routes = [r for r in content.routes if r.nation == nation]
    return render_template("legislation_nation.html", nation=nation, groups=groups, changed=changed,
                           history=history, by_id={i.id: i for i in content.legislation}, routes=routes,
                           refer_url=f"{refer[0].url}" if refer else "", contacts=content.contacts)


@bp.get("/references")
def references() -> str:
    """References and resources, grouped by kind, with what replaced them."""
    content = _content()
    kinds = [(k, KIND_NAMES.get(k, k), items) for k in REFERENCE_KINDS
             if (items := [r for r in content.references if r.kind == k])]
    replaces: dict[str, list[Reference]] = {}
    for ref in content.references:
        for other in ref.replacements:
            replaces.setdefault(other, []).append(ref)
    return render_template("references.html", kinds=kinds, replaces=replaces,
                           by_id={r.id: r for r in content.references})


@bp.get("/contacts")
def contacts() -> str:
    """Whom to call or tell (works without an index)."""
    return render_template("contacts.html")


@bp.get("/glossary")
def glossary() -> str:
    """The words people use and what the guidance calls them."""
    entries = sorted(_content().glossary, key=lambda e: e.term.lower())
    return render_template("glossary.html", entries=entries, anchor=glossary_anchor)


def glossary_anchor(term: str) -> str:
    """The fragment the search index links a glossary entry to."""
    return term.lower().replace(" ", "-")


@bp.get("/about")
def about() -> str:
    """What this site is and is not."""
    return render_template("about.html")


@bp.get("/accessibility")
def accessibility() -> str:
    """The accessibility statement."""
    return render_template("accessibility.html")


@bp.get("/privacy")
def privacy() -> str:
    """What is and is not recorded."""
    return render_template("privacy.html", rate_limited=bool(current_app.extensions.get("kb_limiter")))


@bp.get("/changes")
def changes() -> str:
    """The log of content changes."""
    content = _content()
    reviewed = sorted(content.articles, key=lambda a: (a.last_reviewed, a.title), reverse=True)
    return render_template("changes.html", changes=content.changes, reviewed=reviewed)


@bp.get("/report-a-mistake")
def report_a_mistake() -> str:
    """How to tell us something is wrong."""
    return render_template("report.html")


# ---------------------------------------------------------------- tools (answers live in the address only)


def _tools() -> Tools:
    """The tools of the current index's content (tools.yaml), or a 503 with the emergency contacts."""
    ix = _open()
    tools = ix.content.tools if ix else None
    if tools is None:
        abort(503, "The tools are not available right now.")
    return tools


def _contacts_by_id() -> dict[str, Contact]:
    ix = _open()
    contacts = ix.content.contacts if ix and ix.content.contacts else _site().contacts
    return {c.id: c for c in contacts}


def _section_titles() -> dict[str, str]:
    """The heading of each article section (and the title of each article) by its link, when indexed."""
    ix = _open()
    if ix is None:
        return {}
    titles = {a.url: a.title for a in ix.content.articles}
    titles.update({f"{a.url}#{s.anchor}": s.heading for a in ix.content.articles for s in a.sections})
    return titles


def _with_query(endpoint: str, pairs: Iterable[tuple[str, str]]) -> str:
    query = urlencode(list(pairs))
    return url_for(endpoint) + (f"?{query}" if query else "")


def _tool_invalid(message: str, restart: str, label: str) -> tuple[str, int]:
    """A 400 for a tool's address that no run of the tool makes, with a way to start again."""
    return render_template("decide_invalid.html", message=message, restart=restart, restart_label=label), 400


@bp.get("/decide")
def decide_page() -> str | tuple[str, int]:
    """The referral decision aid: one question a page, the answers carried in the query string."""
    aid = _tools().decide
    try:
        decision = decide(aid, request.args.to_dict(flat=False))
    except BadState as exc:
        return _tool_invalid(str(exc), url_for("site.decide_page"), "Start the questions again")
    back = _with_query("site.decide_page", decision.query(-1)) if decision.answers else ""
    if decision.question is not None:
        number = len(decision.answers) + 1
        return render_template("decide.html", aid=aid, decision=decision, q=decision.question, number=number,
                               total=len(aid.questions), back=back, titles=_section_titles())
    changes = [_with_query("site.decide_page", decision.query(i)) for i in range(len(decision.answers))]
    return render_template("decide_result.html", aid=aid, decision=decision, outcome=decision.outcome,
                           back=back, changes=changes, contacts=_contacts_by_id(), titles=_section_titles(),
                           routes=_routes(aid.routes, decision))


def _routes(routes: Iterable[Step], decision: Decision) -> list[tuple[Step, bool]]:
    """Each route to share a concern, and whether the answers point to it in particular."""
    met = {q.id for q in decision.met}
    return [(route, bool(met & set(route.when))) for route in routes]


@bp.get("/record")
def record() -> str:
    """The incident record sheet: fields to fill in and print; nothing on it is ever sent here."""
    return render_template("record.html", sheet=_tools().record, titles=_section_titles())


@bp.get("/policy")
def policy() -> str | tuple[str, int]:
    """The policy and procedures checklist: a GET form of what the guidance says they must cover."""
    checklist = _tools().policy
    try:
        ticked = check_policy(checklist, request.args.getlist("point"))
    except BadState as exc:
        return _tool_invalid(str(exc), url_for("site.policy"), "Start the checklist again")
    chosen = {p.id for check in ticked for p in check.covered}
    return render_template("policy.html", checklist=checklist, chosen=chosen, titles=_section_titles())


@bp.get("/policy/check")
def policy_check() -> str | tuple[str, int]:
    """What the ticked policy covers and what it is missing, to print or download."""
    checklist = _tools().policy
    ticked = request.args.getlist("point")
    try:
        checks = check_policy(checklist, ticked)
    except BadState as exc:
        return _tool_invalid(str(exc), url_for("site.policy"), "Start the checklist again")
    pairs = [("point", p.id) for check in checks for p in check.covered]
    return render_template("policy_check.html", checklist=checklist, checks=checks, covered=len(pairs),
                           total=len(checklist.point_ids), change=_with_query("site.policy", pairs),
                           download=_with_query("site.policy_download", pairs), titles=_section_titles())


@bp.get("/policy/download")
def policy_download() -> Response | tuple[str, int]:
    """The checklist's result as a markdown file, made from the query string and stored nowhere."""
    checklist = _tools().policy
    try:
        checks = check_policy(checklist, request.args.getlist("point"))
    except BadState as exc:
        return _tool_invalid(str(exc), url_for("site.policy"), "Start the checklist again")
    today = _today()
    text = policy_markdown(checklist, checks, _day(today), _site_url())
    response = Response(text, mimetype="text/markdown")
    name = f"policy-checklist-{today.isoformat()}.md"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- JSON API


def _required_q() -> str:
    q, _ = normalise(request.args.get("q", ""))
    if not q:
        abort(400, "Add a question or search words with q=...")
    return q


@bp.get("/api/search")
def api_search() -> Response:
    """Ranked sections (or law, references, glossary) for a query."""
    nation, topic, kind = _param("nation"), _param("topic"), _param("type")
    limit = _check(nation, topic, kind, request.args.get("limit"))
    q = _required_q()
    spelling = request.args.get("spell", "") not in ("0", "false", "no", "off")
    options: dict[str, Any] = {"nation": nation or None, "topic": topic or None, "kind": kind or "section",
                               "limit": limit, "spelling": spelling}
    cache = cast(ResultCache, current_app.extensions["kb_cache"])
    key = ("api-search", q.lower(), *sorted(options.items()))

    def encode(ix: OpenIndex) -> tuple[str | None, str]:
        # The reply without its first field (the query), as JSON text: popular searches skip the encoding too.
        result = search(ix, q, **options)
        body = json.dumps({"query": "", "corrected": result.corrected, "total": result.total,
                           "results": [h.as_dict() for h in result.hits], "urgent": result.urgent},
                          ensure_ascii=False)
        return result.corrected, body[len('{"query": ""'):]

    _, rest = _engine(lambda ix: cache.get(ix.path, key, lambda: encode(ix), keep=lambda value: value[0] is None))
    return current_app.response_class('{"query": ' + json.dumps(q, ensure_ascii=False) + rest,
                                      mimetype="application/json")


@bp.get("/api/ask")
def api_ask() -> Response:
    """The answer to a question in the contract's shape."""
    nation = _param("nation")
    _check(nation)
    q = _required_q()
    context = request.args.get("context", "")[:400]
    return jsonify(_answer(q, nation or None, context or None).as_dict())


@bp.get("/api/legislation")
def api_legislation() -> Response:
    """Every legislation item, or those that apply in one nation (repealed ones as history)."""
    nation = _param("nation")
    _check(nation)
    items = [law_dict(i) for i in _content().legislation if not nation or nation in i.nations]
    return jsonify(nation=nation or None, items=items)


@bp.get("/api/references")
def api_references() -> Response:
    """Every reference and resource."""
    return jsonify(items=[reference_dict(r) for r in _content().references])


@bp.get("/api/articles")
def api_articles() -> Response:
    """Every article and section the site serves, with its provenance."""
    items = [
        {
            "slug": a.slug,
            "title": a.title,
            "url": a.url,
            "sections": [
                {"heading": s.heading, "url": f"{a.url}#{s.anchor}", "source": s.provenance.as_dict()}
                for s in a.sections
            ],
        }
        for a in _content().articles
    ]
    return jsonify(items=items)


@bp.get("/healthz")
def healthz() -> Response:
    """Whether the current index build works (its files as built, a searcher answering a fixed query), and which
    content it was built from; a 503 with the reason in the log otherwise."""
    health = cast(IndexHolder, current_app.extensions["kb"]).health()
    if not health.ok or health.meta is None:
        abort(503, f"the health check failed: {health.reason}")  # logged; the reply says only "unavailable"
    meta = health.meta
    return jsonify(status="ok", sections=meta.get("sections"), content=meta.get("content"), built=meta.get("built"))

