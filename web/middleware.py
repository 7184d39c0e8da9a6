"""WSGI wrappers and log filters that guard the site before Flask sees a request."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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

    def __init__(self, wsgi_app: Any, hops: int, proxies: tuple[Network, ...]):
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


def names(value: Any) -> list[str]:
    """A list setting from config: a list, or a comma-separated string (as environment variables give it)."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def trusted_hosts(value: Any, site_url: str) -> list[str]:
    """The host names the site answers for: the setting's, and SITE_URL's; never empty (empty means any)."""
    hosts = names(value) + ([host] if site_url and (host := urlsplit(site_url).hostname) else [])
    return list(dict.fromkeys(hosts)) or ["localhost"]


def wrap(wsgi_app: Any, config: dict[str, Any]) -> Any:
    """The app behind its guards: raw bytes encoded, the host checked, forwarded headers from the proxy only."""
    wrapped = OnlyTrustedHosts(AsciiQueryString(wsgi_app), config["TRUSTED_HOSTS"])
    # The host is checked after the proxy's X-Forwarded-Host is applied, so that value is checked too.
    hops = int(config["TRUSTED_PROXIES"] or 0)
    if hops > 0:
        proxies = tuple(ipaddress.ip_network(a) for a in names(config["PROXY_ADDRESSES"]))
        return FromProxiesOnly(wrapped, hops, proxies)
    return wrapped


def quiet_werkzeug() -> None:
    """Keep query strings out of the development server's log (gunicorn's format drops them itself)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, StripQueryStrings) for f in logger.filters):
        logger.addFilter(StripQueryStrings())
