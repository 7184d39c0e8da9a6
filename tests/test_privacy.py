"""Privacy and security headers: no cookies, no stored searches, no query text in any log."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from kb.config import train_file
from web import engine as web_engine

PROJECT = Path(__file__).resolve().parent.parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
       "form-action 'self'; base-uri 'none'")
ROUTES = [
    "/", "/search?q=nudes", "/ask?q=what+do+I+do", "/articles/the-law", "/legislation", "/legislation/wales",
    "/references", "/contacts", "/glossary", "/about", "/accessibility", "/privacy", "/changes",
    "/report-a-mistake", "/api/search?q=nudes", "/api/ask?q=law", "/api/legislation", "/api/references",
    "/api/articles", "/healthz", "/nope", "/api/nope", "/search?nation=x", "/api/search", "/static/site.css",
]

# The bank the session index learned from (read at import, before tests point KB_TRAIN elsewhere).
TRAIN_FILE = train_file()


def fetch(client: FlaskClient, url: str) -> Any:
    """A response read whole and closed (static files stream from an open file)."""
    with client.get(url) as response:
        response.get_data()
    return response


@pytest.fixture
def marker() -> str:
    """A word that appears nowhere but in this test's requests."""
    return f"marker{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("url", ROUTES)
def test_no_route_sets_a_cookie(client: FlaskClient, url: str) -> None:
    assert "Set-Cookie" not in fetch(client, url).headers


@pytest.mark.parametrize("url", ROUTES)
def test_every_response_carries_the_security_headers(client: FlaskClient, url: str) -> None:
    headers = fetch(client, url).headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
    assert re.fullmatch(r"[0-9a-f]{12}", headers["X-Request-Id"])


@pytest.mark.parametrize("url", ["/search", "/search?q=nudes", "/ask?q=law", "/api/search?q=nudes",
                                 "/api/ask?q=law", "/ask"])
def test_searches_and_answers_are_never_stored(client: FlaskClient, url: str) -> None:
    assert client.get(url).headers["Cache-Control"] == "no-store"


def test_static_files_are_cached_under_versioned_addresses(client: FlaskClient) -> None:
    html = client.get("/").data.decode()
    css = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', html)
    assert css
    response = fetch(client, css.group(1))
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]


def test_pages_are_revalidated_not_stored_blindly(client: FlaskClient) -> None:
    assert client.get("/articles/the-law").headers["Cache-Control"] == "no-cache"


def test_outbound_links_do_not_carry_the_referrer(client: FlaskClient) -> None:
    html = client.get("/search?q=nudes").data
    assert b'<meta name="referrer" content="no-referrer">' in html


# ---------------------------------------------------------------- logs


def searches(marker: str) -> list[str]:
    return [
        f"/search?q={marker}", f"/search?q=sexting+{marker}&nation=wales", f"/ask?q={marker}",
        f"/ask?q=what+is+the+law+{marker}&context={marker}", f"/api/search?q={marker}",
        # A conversation: earlier questions, the newest, the nation and a guided answer's facts.
        f"/ask?t={marker}&t=who+should+I+tell+{marker}&q=what+do+I+do&danger=no&adult=no&nation=wales",
        f"/ask?t=what+do+I+do&q=and+{marker}&danger=no&asked=adult", f"/ask?q=what+do+I+do&danger={marker}",
        f"/ask?q=what+do+I+do&danger=no&adult=no&coerced=no&content=no&under-13=no&harm=no&shared={marker}",
        f"/api/ask?q={marker}",
        f"/api/search?q=x&nation={marker}", f"/search?q=x&topic={marker}", f"/api/search?q=x&limit={marker}",
        f"/?audience={marker}",
    ]


def test_logs_hold_no_query_text(client: FlaskClient, marker: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        for url in searches(marker):
            client.get(url)
    request_lines = [r.getMessage() for r in caplog.records if r.name == "app"]
    assert len(request_lines) == len(searches(marker)), "one line per request"
    assert all(re.fullmatch(r"GET /\S* \d{3} [\d.]+ms id=[0-9a-f]{12}", line) for line in request_lines)
    assert marker not in caplog.text


def test_errors_are_logged_with_a_request_id_never_the_query(
    client: FlaskClient, marker: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(ix: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"cannot search for {text}")

    monkeypatch.setattr(web_engine, "search", boom)
    with caplog.at_level(logging.INFO):
        response = client.get(f"/api/search?q={marker}")
    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(request_id in line and "ValueError" in line for line in errors), errors
    assert marker not in caplog.text


def test_the_development_server_log_drops_query_strings(app: Flask, marker: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO):
            for url in searches(marker)[:3]:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{url}").read()
                except urllib.error.HTTPError as exc:
                    exc.read()
    finally:
        server.shutdown()
        thread.join(5)
    werkzeug_lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"GET /search HTTP/1.1" 200' in line for line in werkzeug_lines), werkzeug_lines
    assert marker not in caplog.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gunicorn(index_dir: Path, content_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The production server from gunicorn.conf.py, on a free port, with one worker."""
    port = free_port()
    env = {**os.environ, "KB_INDEX": str(index_dir), "KB_CONTENT": str(content_path), "KB_TRAIN": str(TRAIN_FILE)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "app:create_app()"],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout
    for line in proc.stdout:  # gunicorn says when it listens; no sleeping
        if "Listening at" in line:
            break
    yield f"http://127.0.0.1:{port}", proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_gunicorn_access_log_has_one_line_per_request_without_query_strings(
    gunicorn: tuple[str, subprocess.Popen[str]], marker: str
) -> None:
    base, proc = gunicorn
    urls = searches(marker)
    for url in urls:
        try:
            urllib.request.urlopen(base + url, timeout=30).read()
        except urllib.error.HTTPError as exc:
            exc.read()
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    access = [line for line in output.splitlines() if re.search(r'"GET /\S*" \d{3}', line)]
    assert len(access) == len(urls), output
    assert all(re.search(r"id=[0-9a-f]{12}$", line) for line in access), access
    assert not re.search(r"\d+\.\d+\.\d+\.\d+ ", "\n".join(access)), "no client addresses"
    assert marker not in output


# ---------------------------------------------------------------- the Host header is never trusted blindly


SPOOFED = "evil.example"
HOST_ROUTES = [*ROUTES, "/policy/download?point=definition", "/policy/check", "/decide", "/legislation//wales",
               "/articles//the-law", "/search?q=nudes&type=all"]


def carries(response: Any, text: str) -> bool:
    """Whether text appears anywhere in a response: its headers or its body."""
    with response:
        body = response.get_data()
    return text.encode() in body or any(text in value for _, value in response.headers.items())


@pytest.mark.parametrize("url", HOST_ROUTES)
def test_a_spoofed_host_never_appears_in_a_response(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Host": SPOOFED})
    assert response.status_code == 400 or url == "/healthz"
    assert not carries(response, SPOOFED)


@pytest.fixture(scope="module")
def proxied(make_app: Callable[..., Flask]) -> Flask:
    """The site behind one trusted proxy."""
    return make_app(TRUSTED_PROXIES=1)


@pytest.mark.parametrize("url", HOST_ROUTES)
def test_a_spoofed_forwarded_host_never_appears_in_a_response(proxied: Flask, url: str) -> None:
    response = proxied.test_client().get(url, headers={"X-Forwarded-Host": SPOOFED, "X-Forwarded-Proto": "https"})
    assert response.status_code == 400 or url == "/healthz"
    assert not carries(response, SPOOFED)


def test_the_health_check_answers_for_any_host(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"Host": "10.0.0.5:5000"})
    assert response.status_code == 200 and not carries(response, "10.0.0.5")


def test_a_double_slash_redirects_to_a_path_never_a_host(client: FlaskClient) -> None:
    response = client.get("/legislation//wales?x=1", headers={"Host": "127.0.0.1:5000"})
    assert response.status_code == 308
    assert response.headers["Location"] == "/legislation/wales?x=1"
    assert b"127.0.0.1" not in response.data and b"http" not in response.data


def test_links_out_of_the_page_use_the_site_address_when_set(make_app: Any) -> None:
    client = make_app(SITE_URL="https://kb.example.org/").test_client()
    footer = client.get("/about?x=1", headers={"Host": "kb.example.org"}).data
    assert b"from https://kb.example.org/about?x=1</p>" in footer
    download = client.get("/policy/download", headers={"Host": "localhost"}).data
    assert b"https://kb.example.org/policy" in download and b"localhost" not in download


def test_trusted_hosts_come_from_configuration(make_app: Any) -> None:
    app = make_app(TRUSTED_HOSTS="kb.example.org, kb2.example.org")
    assert app.config["TRUSTED_HOSTS"] == ["kb.example.org", "kb2.example.org"]
    client = app.test_client()
    assert client.get("/about", headers={"Host": "kb2.example.org"}).status_code == 200
    assert client.get("/about", headers={"Host": "localhost"}).status_code == 400
