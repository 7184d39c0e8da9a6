"""Reading the query string: short parameters cleaned, bad ones a 400 with a plain message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import abort, request, url_for

from kb.searching import normalise, validate


def param(name: str) -> str:
    """A short parameter (nation, topic, type...) cleaned of control characters and length."""
    return normalise(request.args.get(name, ""))[0][:80]


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


def with_query(endpoint: str, pairs: Iterable[tuple[str, str]]) -> str:
    query = urlencode(list(pairs))
    return url_for(endpoint) + (f"?{query}" if query else "")
