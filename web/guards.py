"""What every request passes through: an id, reads only, trusted hosts, the rate limit, and on the way out the
security and caching headers and one log line without the query string."""

from __future__ import annotations

import math
import time
from typing import cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, redirect, request
from werkzeug.exceptions import TooManyRequests

from kb.ratelimit import Rate, SharedLimiter
from web.engine import request_id
from web.errors import error_response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Pages and answers that carry what someone typed: never kept by a browser or proxy cache.
NO_STORE = frozenset({"/search", "/ask", "/api/search", "/api/ask", "/decide", "/record", "/policy",
                      "/policy/check", "/policy/download"})
# Pages that search or answer: each costs a search, so each counts against the rate limit.
LIMITED = ("/search", "/ask")
STATIC_MAX_AGE = 365 * 24 * 3600


def install(app: Flask) -> None:
    """Register the hooks, with one rate limiter shared by the server's workers."""
    # Made here, before gunicorn forks its workers (gunicorn.conf.py preloads the app): one count per server.
    rate = Rate.parse(app.config["RATE_LIMIT"])
    app.extensions["kb_limiter"] = SharedLimiter(rate) if rate else None
    for hook in (start_request, refuse_untrusted_hosts, allow_only_reads, limit_rate):
        app.before_request(hook)
    app.after_request(finish_request)


def start_request() -> None:
    g.started = time.perf_counter()
    request_id()


def allow_only_reads() -> None:
    """This site only ever reads: no forms post, nothing is uploaded."""
    if request.method not in ("GET", "HEAD"):
        abort(405)


def refuse_untrusted_hosts() -> None:
    """A request for a host name the site does not answer for is a 400 (OnlyTrustedHosts replaced the name);
    the health check answers anyway, since a load balancer may name a replica by its address."""
    if request.environ.get("kb.untrusted_host") and request.path != "/healthz":
        abort(400, "This site does not answer for that host name.")


def is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def limit_rate() -> Response | None:
    """Searches, answers and the JSON API count against each client's rate (shared by the server's workers)."""
    limiter = cast(SharedLimiter | None, current_app.extensions.get("kb_limiter"))
    if limiter is None or not (is_api() or request.path in LIMITED):
        return None
    wait = limiter.wait(request.remote_addr or "unknown")
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    response = error_response(TooManyRequests(f"Too many requests. Please wait {seconds} seconds and try again."))
    response.headers["Retry-After"] = str(seconds)
    return response


def within(url: str) -> str:
    """A redirect's target as a path of this site: never a host (Werkzeug builds "//" redirects from Host)."""
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith("/") and not parts.path.startswith("//") else "/"
    return path + (f"?{parts.query}" if parts.query else "")


def cache_control(path: str, status: int) -> str:
    """Static files for a year; what someone typed never stored; everything else checked each time."""
    if path.startswith("/static/") and status in (200, 304):
        return f"public, max-age={STATIC_MAX_AGE}, immutable"
    if path in NO_STORE or status == 429:
        return "no-store"
    return "no-cache"


def finish_request(response: Response) -> Response:
    """Security and caching headers on every response, and one log line without the query string."""
    response.headers.update(HEADERS)
    response.headers["X-Request-Id"] = request_id()
    if response.location and 300 <= response.status_code < 400:
        location = within(response.location)
        response.headers["Location"] = location
        response.set_data(redirect(location, response.status_code).get_data())
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    response.headers["Cache-Control"] = cache_control(request.path, response.status_code)
    if current_app.config["LOG_REQUESTS"]:
        took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # The path only: a query string holds what someone searched for, which we never record. Escaped: a
        # path's %0a must not forge a log line, nor %1b drive a terminal.
        path = request.path.encode("unicode_escape").decode("ascii")
        current_app.logger.info("%s %s %s %.1fms id=%s", request.method, path, response.status_code, took,
                                request_id())
    return response
