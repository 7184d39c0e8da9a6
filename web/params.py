"""Reading the query string: short parameters cleaned, bad ones a 400 with a plain message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import abort, request, url_for

from kb.searching import normalise, validate


def param(name: str) -> str:
    """A short parameter (nation, topic, type...) cleaned of control characters and length, in lower case: the
    values are ids ("nation=Scotland" is scotland)."""
    return normalise(request.args.get(name, ""))[0][:80].lower()


def check(nation: str, topic: str = "", kind: str = "", limit: Any = None) -> int:
    """The limit, or a 400 with a plain message for the first bad parameter."""
    error, number = validate(nation or None, topic or None, kind or None, limit)
    if error:
        abort(400, error)
    return number


def question() -> tuple[str, str]:
    """The question or search words, and a message when they had to be cut or cleaned."""
    return normalise(request.args.get("q", ""))


def required_q() -> str:
    q, _ = question()
    if not q:
        abort(400, "Add a question or search words with q=...")
    return q


def context() -> str:
    """The follow-up context token an answer handed out (opaque; bounded)."""
    return request.args.get("context", "")[:400]


def spelling() -> bool:
    return request.args.get("spell", "") not in ("0", "false", "no", "off")


def page_number() -> int:
    """The page of results asked for (1 when none), or a 400 with a plain message."""
    return _whole("page", 1, "page must be a whole number from 1.")


def offset() -> int:
    """How many results to skip (0 when none), or a 400 with a plain message."""
    return _whole("offset", 0, "offset must be a whole number from 0.")


def _whole(name: str, least: int, message: str) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return least
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < least:
        abort(400, message)
    return int(raw)


def with_query(endpoint: str, pairs: Iterable[tuple[str, str]]) -> str:
    """An address with exactly these query parameters (the decision aid's answers name the nation themselves;
    templates add the chosen nation to others with `keep_nation`)."""
    query = urlencode(list(pairs))
    return url_for(endpoint) + (f"?{query}" if query else "")
