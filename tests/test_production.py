"""The production server (gunicorn with gunicorn.conf.py, two workers) under faults and hostile requests (issue 16):
the health check tells the truth, heavy questions are capped, searches and answers are rate limited for the whole
server, nothing a person typed or their address reaches a log, and a spoofed Host never reaches a response.

One server for the module, on a free loopback port. 127.0.0.2 plays the reverse proxy (KB_PROXY_ADDRESSES):
requests from it carry the client's address in X-Forwarded-For; requests from 127.0.0.1 are a client that
reaches the app directly. Nothing here sleeps: each wait is on the server's own output, with a time limit.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kb import build_index
from kb.budget import BUDGET
from kb.model import Content

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLIENT, PROXY = "127.0.0.1", "127.0.0.2"
LIMIT = 4


@dataclass
class Server:
    """gunicorn on a port, its output (access and error logs together) collected line by line as it comes."""

    port: int
    proc: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "backslashreplace"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, test: Callable[[list[str]], bool], timeout: float = 30.0) -> list[str]:
        """The output so far, once test(output) holds; a failure if the server exits or time runs out first."""
        with self.changed:
            met = self.changed.wait_for(lambda: test(self.lines) or self.proc.poll() is not None, timeout)
            assert met and test(self.lines), "".join(self.lines[-30:])
            return list(self.lines)

    def get(self, path: str, source: str = PROXY, client: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One GET on a fresh connection from a loopback address; via the proxy, for a client address."""
        sent = {"Connection": "close", **(headers or {})}
        if client:
            sent["X-Forwarded-For"] = client
        conn = http.client.HTTPConnection(CLIENT, self.port, timeout=30, source_address=(source, 0))
        try:
            conn.request("GET", path, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def raw(self, request: bytes) -> bytes:
        """Bytes sent as they are (gunicorn's parser sees them first); the whole reply."""
        with socket.create_connection((CLIENT, self.port), timeout=30) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((CLIENT, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Path:
    """This module's own index: its tests damage and delete it."""
    root = tmp_path_factory.mktemp("production") / "index"
    build_index(content, root)
    return root


@pytest.fixture(scope="module")
def server(index: Path, content_path: Path) -> Iterator[Server]:
    """The production server with two workers."""
    # The index was built without learning, and so is every rebuild here (KB_TRAIN names no file): the server
    # must find it up to date rather than learn from the bank while it boots.
    env = {**os.environ, "KB_INDEX": str(index), "KB_CONTENT": str(content_path), "KB_RATE_LIMIT": f"{LIMIT}/60",
           "KB_TRUSTED_PROXIES": "1", "KB_PROXY_ADDRESSES": PROXY, "KB_TRAIN": str(index.parent / "no-training.jsonl")}
    port = free_port()
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"{CLIENT}:{port}",
                             "--workers", "2", "app:create_app()"],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    running = Server(port, proc)
    reader = threading.Thread(target=running.read, daemon=True)
    reader.start()
    running.wait_for(lambda lines: sum("Booting worker" in line for line in lines) >= 2)
    yield running
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    reader.join(30)
    assert proc.stdout is not None
    proc.stdout.close()


def kb_build(index: Path, content_path: Path) -> str:
    """`kb build` without --force, as the README says to run it; its output."""
    done = subprocess.run([str(BIN / "kb"), "build", "--content", str(content_path), "--index", str(index)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def healthz(server: Server, times: int = 4) -> set[int]:
    """The health check's answers on fresh connections (which either worker may take)."""
    return {server.get("/healthz")[0] for _ in range(times)}


def logged(server: Server, mark: int, *words: str) -> list[str]:
    """Once a line after the mark holds every word: the output after the mark."""
    return server.wait_for(lambda lines: any(all(w in line for w in words) for line in lines[mark:]))[mark:]


# ---------------------------------------------------------------- a health check that tells the truth


def test_damaged_segments_answer_503_with_a_log_line_and_recover_after_kb_build(
    server: Server, index: Path, content_path: Path
) -> None:
    assert healthz(server) == {200}
    build = index / os.readlink(index / "current")
    mark = len(server.lines)
    for segment in build.glob("*.seg"):
        data = bytearray(segment.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 2048] = bytes(2048)
        segment.write_bytes(bytes(data))
    assert healthz(server) == {503}
    logged(server, mark, "health check failed", build.name, ".seg does not match")
    # No search answers 500 meanwhile (there is no other build to fall back to: 503 with the contacts).
    assert {server.get("/api/search?q=nudes+law", client=f"198.51.100.{n}")[0] for n in range(4)} <= {200, 503}

    output = kb_build(index, content_path)
    assert "cannot be used" in output
    assert healthz(server) == {200}
    assert server.get("/api/search?q=nudes+law", client="198.51.100.9")[0] == 200


def test_a_deleted_index_answers_503_with_a_log_line_and_recovers_after_kb_build(
    server: Server, index: Path, content_path: Path
) -> None:
    assert healthz(server) == {200}
    mark = len(server.lines)
    shutil.rmtree(index)
    assert healthz(server) == {503}
    logged(server, mark, "health check failed", "no current index build")
    assert server.get("/api/search?q=deleted", client="198.51.100.20")[0] == 503

    kb_build(index, content_path)
    assert healthz(server) == {200}
    assert server.get("/api/search?q=deleted", client="198.51.100.20")[0] == 200


# ---------------------------------------------------------------- heavy questions are capped


def test_a_heavy_query_is_capped(server: Server, content: Content) -> None:
    phrases = " ".join(p for e in content.glossary for p in (e.term, *e.also))
    heavy = urlencode({"q": f"7 {phrases}"[:500], "type": "all", "limit": "50"})
    status, _, body = server.get(f"/api/search?{heavy}", client="198.51.100.30")
    assert status == 200
    assert len(re.findall(rb'"type": ?"', body)) == BUDGET.all_limit
    assert server.get(f"/search?{heavy}", client="198.51.100.31")[0] == 200


# ---------------------------------------------------------------- one rate limit for the whole server


def test_search_and_ask_are_rate_limited_for_the_whole_server(server: Server) -> None:
    # Fresh connections, so both workers take some: with a count per worker, up to twice the limit would pass.
    paths = ["/search?q=nudes", "/ask?q=who+do+I+tell", "/api/search?q=law", "/api/ask?q=police"] * 3
    codes = [server.get(path, client="203.0.113.5")[0] for path in paths]
    assert codes == [200] * LIMIT + [429] * (len(paths) - LIMIT)
    status, headers, body = server.get("/search?q=again", client="203.0.113.5")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60 and b"999" in body


def test_a_rotating_forwarded_for_does_not_pass_the_limit(server: Server) -> None:
    # Through the proxy: the client chooses the start of X-Forwarded-For, the proxy appends what it saw.
    codes = [server.get("/api/search?q=x", client=f"192.0.2.{n}, 203.0.113.6")[0] for n in range(LIMIT + 2)]
    assert codes == [200] * LIMIT + [429, 429]
    # Straight to the app: forwarded headers are not believed from an address that is not the proxy's.
    direct = [server.get("/ask?q=x", source=CLIENT, client=f"192.0.2.{n}")[0] for n in range(LIMIT + 2)]
    assert direct == [200] * LIMIT + [429, 429]


def test_a_forwarded_scheme_is_believed_only_from_the_proxy(server: Server) -> None:
    https = {"X-Forwarded-Proto": "https"}
    assert "Strict-Transport-Security" in server.get("/about", headers=https)[1]
    assert "Strict-Transport-Security" not in server.get("/about", source=CLIENT, headers=https)[1]


# ---------------------------------------------------------------- nothing a person typed reaches a log


def test_no_query_text_or_address_reaches_any_log(server: Server) -> None:
    marker = f"marker{uuid.uuid4().hex[:10]}"
    mark = len(server.lines)
    invalid = [f"/search?q=\xe9{marker}".encode(), f"/search?q=a\t{marker}".encode(),
               f"/search?q=a\x00{marker}".encode(), f"/ask?q=\xc3{marker}".encode("latin-1")]
    for target in invalid:
        reply = server.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), reply[:200]
        assert marker.encode() not in reply and b"search" not in body
        assert b"X-Content-Type-Options: nosniff" in head and b"999" in body
    forged = ["%0aforged%20line", "%0d%1b[31mred", "%1b]0;title%07"]
    for path in forged:
        assert server.get(f"/{marker}{path}?q={marker}", source=CLIENT)[0] == 404
    lines = server.wait_for(lambda lines: sum("refused a request" in line for line in lines[mark:]) >= len(invalid)
                            and sum(f'"GET /{marker}' in line for line in lines[mark:]) >= len(forged))[mark:]
    output = "".join(lines)
    assert output.count(marker) == len(forged), "the paths are logged (escaped), never a query"
    assert "q=" not in output and "\t" not in output and "\x00" not in output and "\x1b" not in output
    assert not re.search(r"127\.0\.0\.[12]|ip=", output), "no client address"
    access = [line for line in lines if f'"GET /{marker}' in line]
    assert len(access) == len(forged), access
    # Each path on one line, its control characters escaped: no forged line, no terminal escape, no bare CR.
    assert any("\\x0aforged line" in line for line in access), access
    assert any("\\x0d\\x1b[31mred" in line for line in access), access
    assert not any("\r" in line for line in lines)


# ---------------------------------------------------------------- a spoofed Host never reaches a response


@pytest.mark.parametrize("path", ["/about", "/policy/download?point=definition", "/legislation//wales",
                                  "/search?q=nudes", "/healthz", "/static/site.css"])
def test_a_spoofed_host_never_appears_in_a_response(server: Server, path: str) -> None:
    for headers in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"}):
        status, sent, body = server.get(path, client="198.51.100.40", headers=headers)
        # A load balancer may name the replica by its address: the health check answers whatever the Host.
        assert status == (200 if path == "/healthz" else 400)
        assert b"evil" not in body and not any("evil" in value for value in sent.values())
