"""Hostile input on every route and parameter: never a 5xx, JSON routes answer JSON, nothing injected."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode

import pytest
import yaml
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from kb import build_index, load_content

HOSTILE = yaml.safe_load((Path(__file__).with_name("hostile_inputs.yaml")).read_text(encoding="utf-8"))
# Every route and the parameters it reads; "{}" marks a path segment taken from the input.
ROUTES: dict[str, list[str]] = {
    "/": ["audience"],
    "/search": ["q", "nation", "topic", "type", "spell"],
    "/ask": ["q", "nation", "context"],
    "/articles/{}": [],
    "/legislation": [],
    "/legislation/{}": [],
    "/references": [],
    "/contacts": [],
    "/glossary": [],
    "/about": [],
    "/accessibility": [],
    "/privacy": [],
    "/changes": [],
    "/report-a-mistake": [],
    "/api/search": ["q", "nation", "topic", "type", "limit", "spell"],
    "/api/ask": ["q", "nation", "context"],
    "/api/legislation": ["nation"],
    "/api/references": [],
    "/api/articles": [],
    "/healthz": [],
}
VALID = {"q": "nudes", "nation": "wales", "topic": "law", "type": "all", "limit": "5", "spell": "0",
         "audience": "dsl", "context": ""}
SETTINGS = settings(deadline=None, database=None, max_examples=150,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)


def is_json_route(path: str) -> bool:
    return path == "/healthz" or path == "/api" or path.startswith("/api/")


def check(path: str, status: int, content_type: str, body: bytes) -> None:
    """The rules for every answer: no 5xx; JSON routes answer JSON with an error message when they refuse."""
    assert status < 500, (path, status, body[:300])
    if 300 <= status < 400:
        return
    if is_json_route(path):
        assert content_type.startswith("application/json"), (path, status, content_type)
        data = json.loads(body)
        if status >= 400:
            assert isinstance(data.get("error"), str) and data["error"]
    else:
        assert content_type.startswith(("text/html", "text/css", "text/javascript", "image/")), (path, status)


def request(app: Flask, path: str, pairs: list[tuple[str, str]]) -> None:
    with app.test_client().get(path, query_string=urlencode(pairs)) as response:
        check(path, response.status_code, response.content_type or "", response.get_data())


def raw_request(app: Flask, path_info: str, query_string: str) -> None:
    """A request built the way a WSGI server builds one: decoded path bytes as latin-1, raw query string."""
    environ = EnvironBuilder(path="/").get_environ()
    environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = query_string
    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close:
            close()
    shown = path_info.encode("latin-1").decode("utf-8", "replace")
    check(shown, int(status.split()[0]), headers.get("Content-Type", ""), body)


def path_for(route: str, segment: str) -> str:
    return route.replace("{}", quote(segment, safe="")) if "{}" in route else route


# ---------------------------------------------------------------- property-based


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A route with a mix of valid, arbitrary, repeated and unknown parameters."""
    route = draw(st.sampled_from(sorted(ROUTES)))
    names = ROUTES[route] + ["q", "zz", "utm_source"]
    value = st.one_of(TEXT, st.sampled_from(list(VALID.values())), st.sampled_from(HOSTILE["values"]))
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), value), max_size=8))
    return path_for(route, draw(TEXT)), pairs


@SETTINGS
@given(req=requests())
def test_no_route_answers_5xx_for_any_input(app: Flask, req: tuple[str, list[tuple[str, str]]]) -> None:
    request(app, *req)


@settings(deadline=None, database=None, max_examples=150)
@given(route=st.sampled_from(sorted(ROUTES)), path=st.binary(max_size=60), query=st.binary(max_size=200))
def test_no_route_answers_5xx_for_raw_bytes(app: Flask, route: str, path: bytes, query: bytes) -> None:
    path_info = route.replace("{}", path.decode("latin-1")) if "{}" in route else route
    raw_request(app, path_info, query.decode("latin-1"))


# ---------------------------------------------------------------- listed hostile inputs


def slots() -> list[tuple[str, str]]:
    """Every (route, parameter) pair, a path slot as parameter "{}", and an unknown parameter everywhere."""
    out = [(route, name) for route, names in ROUTES.items() for name in names]
    out += [(route, "{}") for route in ROUTES if "{}" in route]
    out += [(route, "unknown") for route in ROUTES]
    return out


def pairs_for(route: str, name: str, value: str) -> tuple[str, list[tuple[str, str]]]:
    if name == "{}":
        return path_for(route, value), []
    base = [(n, VALID[n]) for n in ROUTES[route] if n != name and n in ("q",)]
    return path_for(route, "x"), base + [(name, value)]


@pytest.mark.parametrize("value", HOSTILE["values"], ids=range(len(HOSTILE["values"])))
def test_listed_hostile_values_break_no_route(app: Flask, value: str) -> None:
    for route, name in slots():
        request(app, *pairs_for(route, name, value))


@pytest.mark.parametrize("target", HOSTILE["raw_targets"])
def test_listed_raw_targets_break_no_route(app: Flask, target: str) -> None:
    path, _, query = target.partition("?")
    # A server percent-decodes the path to bytes and hands them over as latin-1 text; the query stays raw.
    raw_request(app, unquote_to_bytes(path).decode("latin-1"), query)


@pytest.mark.parametrize(
    "value",
    ["n" * 10_000, "nudes " * 1_700, "<script>" * 1_250, "\x00\x01" * 5_000, "é" * 10_000, "%" * 10_000,
     "\U0001F600" * 10_000],
    ids=["letters", "words", "markup", "control", "accents", "percent", "emoji"],
)
def test_ten_thousand_characters_break_no_route(app: Flask, value: str) -> None:
    for route, name in slots():
        request(app, *pairs_for(route, name, value))


def test_repeated_parameters_take_the_first_and_break_nothing(app: Flask) -> None:
    client = app.test_client()
    body = client.get("/api/search?q=nudes&q=law&limit=3&limit=500&nation=wales&nation=mars").get_json()
    assert body["query"] == "nudes" and len(body["results"]) == 3
    assert client.get("/search?q=nudes&q=&type=all&type=zz").status_code == 200


def test_a_long_query_is_cut_and_says_so(app: Flask) -> None:
    html = app.test_client().get("/search", query_string={"q": "sexting " * 2000}).data
    assert b"only its first 500 characters were used" in html


# ---------------------------------------------------------------- content cannot inject


@pytest.fixture
def content_copy(tmp_path: Path, content_path: Path) -> Path:
    return Path(shutil.copytree(content_path, tmp_path / "content"))


def add_section(content_dir: Path, body: str) -> None:
    path = content_dir / "articles" / "about-sharing-nudes.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n{#hostile-test document=gov-uk url=\"https://www.gov.uk/\"}"
                    "\n## A section a test added\n\n" + body + "\n", encoding="utf-8")


def test_raw_html_in_content_is_not_rendered(tmp_path: Path, content_copy: Path, make_app: Any) -> None:
    add_section(content_copy, '<script>alert("x")</script>\n\n<img src=x onerror=alert(1)> and <b>bold</b>')
    content = load_content(content_copy)
    assert not content.errors
    build_index(content, tmp_path / "index")
    client = make_app(CONTENT_DIR=str(content_copy), INDEX_DIR=str(tmp_path / "index")).test_client()
    html = client.get("/articles/about-sharing-nudes").data
    assert b"A section a test added" in html
    assert b"<script>alert" not in html and b"<img src=x" not in html and b"<b>bold</b>" not in html
    assert b"&lt;script&gt;alert" in html


@pytest.mark.parametrize("link", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>",
                                  "vbscript:x", "http://example.com/plain-http"])
def test_unsafe_links_in_content_are_refused(content_copy: Path, link: str) -> None:
    add_section(content_copy, f"A [link]({link}) in the text.")
    content = load_content(content_copy)
    assert content.errors, "kb check refuses the content, so the site never serves it"
    assert any("about-sharing-nudes.md" in p.path and p.line > 1 for p in content.errors)
