"""Production server settings: `gunicorn -c gunicorn.conf.py 'app:create_app()'` behind a reverse proxy.

Settings from the environment (each with a safe default): KB_RATE_LIMIT (requests/seconds per client, shared by
the workers; "off" to turn it off), KB_TRUSTED_PROXIES and KB_PROXY_ADDRESSES (whose forwarded headers the app
believes), KB_TRUSTED_HOSTS and KB_SITE_URL (the host names the site answers for), KB_FORWARDED_ALLOW_IPS.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http.errors import (
    ConfigurationProblem,
    ExpectationFailed,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers.gthread import ThreadWorker

bind = "127.0.0.1:5000"
# 2 cores: two processes (one per core), each with a few threads for requests that wait on I/O.
workers = 2
threads = 4
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app is made once, before the workers are forked: they share its rate-limit table (one count per server,
# not per worker) and the pages of code and data they never write.
preload_app = True
# Bound request lines and headers: nothing this site serves needs more.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190
# gunicorn believes no forwarded headers (X-Forwarded-Proto and the like): the app does, from the proxy's own
# addresses only, for KB_TRUSTED_PROXIES hops. Set KB_FORWARDED_ALLOW_IPS only if gunicorn itself must.
forwarded_allow_ips = os.environ.get("KB_FORWARDED_ALLOW_IPS", "")

# One access line per request with the path only (%(U)s), never the query string (%(q)s, %(r)s) that holds
# what someone searched for, and no client address. The request id matches the app's error lines.
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
errorlog = "-"
loglevel = "info"
raw_env = [
    # gunicorn writes the access line, so the app does not log each request a second time.
    "KB_LOG_REQUESTS=0",
    # Searches, answers and the API: per client address, for the whole server (see README, Production). Off
    # unless set: behind a proxy whose address is not in KB_PROXY_ADDRESSES every user would share one allowance,
    # and local tools (health checks, the evaluation script) would be refused.
    f"KB_RATE_LIMIT={os.environ.get('KB_RATE_LIMIT', 'off')}",
]
# The control socket (gunicorn >= 25.1) sits at one path per user: replicas on one host would fight over it,
# and nothing here uses gunicornc.
control_socket_disable = True

# Atoms that would put a search, an address or a person's browser in the access log, whatever the format says.
PRIVATE_ATOMS = frozenset({"h", "r", "q", "a", "f", "u"})
SECURITY_HEADERS = (
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n"
)
REFUSED = "This request could not be read. If a child is in immediate danger, call the police on 999.\n"


def printable(text: str) -> str:
    """Text safe for a log line: control and non-ASCII characters, quotes and backslashes as \\x.. escapes (a
    path's %0a cannot forge a line, nor %1b drive a terminal)."""
    out = []
    for char in text:
        code = ord(char)
        if 0x20 <= code < 0x7F and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def where(exc: BaseException) -> str:
    """An exception's type and where it happened, without its message (which may quote the request)."""
    frames = traceback.extract_tb(exc.__traceback__)
    spots = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))
    return f"{type(exc).__name__} at {spots or 'unknown'}"


class EscapeLines(logging.Filter):
    """Every error-log message made printable: no message can forge a line or carry terminal escapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = printable(record.getMessage()), ()
        return True


class PrivateLogger(Logger):
    """gunicorn's logger, holding back what would identify a person or their search."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(EscapeLines())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = dict(super().atoms(resp, req, environ, request_time))
        for key, value in atoms.items():
            if key in PRIVATE_ATOMS or key.endswith(("}i", "}e")):
                atoms[key] = "-"  # request headers and environ hold addresses (X-Forwarded-For) and more
            elif isinstance(value, str):
                atoms[key] = printable(value)
        return atoms

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        # A traceback's messages can quote the request: the type and where it happened are enough to fix it.
        exc = sys.exc_info()[1]
        self.error_log.error("%s: %s", str(msg).split("%")[0].strip(), where(exc) if exc else "no exception")


class PrivateThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, except that a request it cannot read is refused without quoting it.

    gunicorn's own error page echoes the request line (which holds the search) without our headers, and its log
    line names the request line and the client's address: raw UTF-8, a tab or a NUL in a query is enough."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, InvalidResponseHeader | InvalidResponseHeaderName | ConfigurationProblem):
            status, reason = 500, "Internal Server Error"
        elif isinstance(exc, LimitRequestLine):
            status, reason = 414, "URI Too Long"
        elif isinstance(exc, LimitRequestHeaders):
            status, reason = 431, "Request Header Fields Too Large"
        elif isinstance(exc, UnsupportedTransferCoding):
            status, reason = 501, "Not Implemented"
        elif isinstance(exc, ExpectationFailed):
            status, reason = 417, "Expectation Failed"
        elif isinstance(exc, ParseException):
            status, reason = 400, "Bad Request"
        else:
            status, reason = 500, "Internal Server Error"
        if status == 500:
            self.log.error("error handling a request: %s", where(exc))
        else:
            self.log.warning("refused a request that could not be read: %s (%s)", type(exc).__name__, status)
        body = REFUSED.encode()
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n{SECURITY_HEADERS}\r\n")
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:  # noqa: BLE001 - the client may be gone; nothing more to tell it
            self.log.debug("could not send the refusal")


logger_class = PrivateLogger
worker_class = PrivateThreadWorker


def post_worker_init(worker: Any) -> None:
    """Open and warm the index in each worker before it takes requests (about 3 s: the learned engine, every
    index's words), so that no visitor's first question waits for it."""
    from web.engine import open_index  # the app's module, loaded with the app (preload_app)

    try:
        open_index(worker.wsgi)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot warm serves anyway (pages say why)
        worker.log.error("could not open the index before serving: %s", where(exc))
