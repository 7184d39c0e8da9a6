"""Load on the production server: gunicorn as the README runs it, on a free 127.0.0.1 port, with an index built
into a temporary folder first; 50 keep-alive clients for a bounded time; throughput, latency, errors and each
worker's memory, beside the same figures for a trivial endpoint of the same server (the ceiling of this stack).

Phases, one after the other on the same server, as shares of --seconds: the ceiling (/healthz only, 25%),
/api/search only (25%), then the site's mix (/api/search, /api/ask and article pages, 50%). Queries come from
../shared/eval/dev.jsonl, repeated, a popular few far more often than the rest (Zipf weights). A warm-up on fresh
connections first opens the index in every worker, so memory growth measures the run, not the start.

Usage: python bench/load.py [--seconds 60] [--clients 50]
Targets: zero errors; /api/search throughput >= 30% of /healthz's; each worker < 150 MB RSS, growing < 10%.
Loopback only. The rate limit is turned off (KB_RATE_LIMIT=off): every client here has the same address.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
MIX = [("search", 0.45), ("ask", 0.35), ("article", 0.20)]
TARGET_RATIO = 0.30
TARGET_RSS_MB = 150.0
TARGET_GROWTH = 0.10


@dataclass
class Tally:
    """What the clients saw in one phase."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(ms)
            if error:
                self.errors[f"{kind}: {error}"] += 1


@dataclass(frozen=True)
class Workload:
    """The questions (with their popularity) and the article slugs requests are drawn from."""

    items: list[dict[str, Any]]
    weights: list[float]
    slugs: list[str]

    def target(self, kind: str, rng: random.Random) -> str:
        """The path and query of one request of a kind."""
        if kind == "healthz":
            return "/healthz"
        if kind == "article":
            return f"/articles/{rng.choice(self.slugs)}"
        item = rng.choices(self.items, self.weights)[0]
        params = {"q": item["q"]}
        if item.get("nation"):
            params["nation"] = item["nation"]
        return f"/api/{kind}?{urlencode(params)}"


def free_port() -> int:
    """A port nothing listens on now, on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def workers(master: int) -> list[int]:
    """gunicorn's worker processes: the children of the master."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces or brackets; the parent pid is the second field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            found.append(int(entry.name))
    return sorted(found)


def dev_questions(seed: int = 7) -> tuple[list[dict[str, Any]], list[float]]:
    """The dev questions in a fixed random order, with Zipf weights: a few are asked far more often."""
    items = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(seed).shuffle(items)
    return items, [1 / rank for rank in range(1, len(items) + 1)]


def client(port: int, kinds: list[tuple[str, float]], work: Workload, deadline: list[float], tally: Tally,
           seed: int, start: threading.Barrier) -> None:
    """One keep-alive client: requests one after another, from the start signal until the deadline."""
    rng = random.Random(seed)
    names, shares = [k for k, _ in kinds], [w for _, w in kinds]
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    start.wait()
    while time.perf_counter() < deadline[0]:
        kind = rng.choices(names, shares)[0]
        target = work.target(kind, rng)
        began = time.perf_counter()
        error = None
        try:
            conn.request("GET", target)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                error = f"HTTP {response.status}"
            if (response.getheader("Connection") or "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
            conn.close()
        tally.add(kind, (time.perf_counter() - began) * 1000, error)
    conn.close()


def run_phase(port: int, kinds: list[tuple[str, float]], work: Workload, seconds: float, clients: int) -> Tally:
    """Drive the server with concurrent clients for a number of seconds; what they saw."""
    tally = Tally()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]
    threads = [threading.Thread(target=client, args=(port, kinds, work, deadline, tally, 1000 + n, start),
                                daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    tally.seconds = time.perf_counter() - began
    return tally


def warm_up(port: int, server: subprocess.Popen[bytes], work: Workload, rounds: int = 8) -> dict[int, float]:
    """Requests of every kind on fresh connections (so each worker accepts some), round after round, until no
    worker's memory moves by more than 2%; each worker's starting RSS."""
    rng = random.Random(3)
    kinds = [kind for kind, _ in MIX] + ["healthz"]
    last: dict[int, float] = {}
    for _ in range(rounds):
        targets = [work.target(kinds[n % len(kinds)], rng) for n in range(120)]

        def fetch(chunk: list[str]) -> None:
            for target in chunk:
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                try:
                    conn.request("GET", target, headers={"Connection": "close"})
                    conn.getresponse().read()
                except (OSError, http.client.HTTPException):
                    pass  # counted in the measured phases, not here
                finally:
                    conn.close()

        threads = [threading.Thread(target=fetch, args=(targets[n::8],)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        now = {pid: rss_mb(pid) for pid in workers(server.pid)}
        if last and now.keys() == last.keys() and all(abs(now[p] - last[p]) <= 0.02 * last[p] for p in now):
            return now
        last = now
    return last


def get_json(port: int, path: str) -> Any:
    """One GET answered 200 with JSON."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        return json.loads(body)
    finally:
        conn.close()


def wait_until_healthy(port: int, server: subprocess.Popen[bytes], attempts: int = 300) -> dict[str, Any]:
    """Poll /healthz, a bounded number of times, until the server answers 200."""
    for _ in range(attempts):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before it was healthy")
        try:
            return dict(get_json(port, "/healthz"))
        except (OSError, RuntimeError, http.client.HTTPException, ValueError):
            time.sleep(0.1)
    raise SystemExit("gunicorn did not become healthy in time")


def percentiles(ms: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99."""
    if len(ms) < 2:
        value = ms[0] if ms else 0.0
        return value, value, value
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return statistics.median(ms), q[94], q[98]


def report(title: str, tally: Tally) -> dict[str, float]:
    """Print a phase's figures per kind of request; return each kind's throughput."""
    print(f"\n{title} ({tally.seconds:.1f} s)")
    print(f"  {'endpoint':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    rates = {}
    everything: list[float] = []
    for kind in sorted(tally.latencies):
        ms = tally.latencies[kind]
        everything += ms
        errors = sum(n for key, n in tally.errors.items() if key.startswith(f"{kind}:"))
        rates[kind] = len(ms) / tally.seconds
        p50, p95, p99 = percentiles(ms)
        print(f"  {kind:<10} {len(ms):>9} {rates[kind]:>8.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {errors:>7}")
    if len(tally.latencies) > 1:
        p50, p95, p99 = percentiles(everything)
        print(f"  {'all':<10} {len(everything):>9} {len(everything) / tally.seconds:>8.1f} {p50:>8.1f} "
              f"{p95:>8.1f} {p99:>8.1f} {sum(tally.errors.values()):>7}")
    for key, n in tally.errors.most_common(10):
        print(f"    error {key} x{n}")
    return rates


def memory_report(start: dict[int, float], end: dict[int, float]) -> tuple[float, float]:
    """Print each worker's RSS at start and end; return the largest RSS and the largest growth."""
    print("\nworker memory (VmRSS)")
    largest, growth_max = 0.0, 0.0
    for pid in sorted(set(start) | set(end)):
        before, after = start.get(pid, 0.0), end.get(pid, 0.0)
        largest = max(largest, before, after)
        if before and after:
            growth = (after - before) / before
            growth_max = max(growth_max, growth)
            print(f"  pid {pid:<8} start {before:7.1f} MB   end {after:7.1f} MB   growth {growth:+6.1%}")
        else:
            print(f"  pid {pid:<8} start {before:7.1f} MB   end {after:7.1f} MB   (started or ended during the run)")
    return largest, growth_max


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM), then by force if it will not go."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="total time under load (default 60)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent keep-alive clients (default 50)")
    args = ap.parse_args()

    items, weights = dev_questions()
    folder = Path(tempfile.mkdtemp(prefix="kb-load-"))
    env = {**os.environ, "KB_RATE_LIMIT": "off"}  # every client here is 127.0.0.1
    env["KB_INDEX"] = str(folder / "index")
    subprocess.run([str(BIN / "kb"), "build"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)

    port = free_port()
    error_log = folder / "gunicorn.log"
    with open(error_log, "wb") as log:
        # The access log would print a line per request: it goes to /dev/null so the bench measures the server.
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"{HOST}:{port}",
             "--access-logfile", os.devnull, "app:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
    try:
        health = wait_until_healthy(port, server)
        work = Workload(items, weights, [a["slug"] for a in get_json(port, "/api/articles")["items"]])
        print(f"gunicorn (gunicorn.conf.py) on {HOST}:{port}; index {health['content']}, {health['sections']} "
              f"sections; {args.clients} clients; {args.seconds:.0f} s under load; {len(items)} dev questions; "
              f"load average before {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        start_rss = warm_up(port, server, work)

        phases = [
            ("ceiling: /healthz only", [("healthz", 1.0)], 0.25),
            ("/api/search only", [("search", 1.0)], 0.25),
            ("mixed: /api/search, /api/ask, article pages", MIX, 0.5),
        ]
        tallies = [run_phase(port, kinds, work, args.seconds * share, args.clients) for _, kinds, share in phases]
        rates = [report(title, tally) for (title, _, _), tally in zip(phases, tallies, strict=True)]

        end_rss = {pid: rss_mb(pid) for pid in workers(server.pid)}
        largest, growth = memory_report(start_rss, end_rss)
        errors = sum(sum(t.errors.values()) for t in tallies)
        ceiling = rates[0].get("healthz", 0.0)
        ratio = rates[1].get("search", 0.0) / ceiling if ceiling else 0.0
        restarted = set(start_rss) != set(end_rss)
        rows = [
            (f"errors: {errors}", errors == 0, "0"),
            (f"/api/search req/s over /healthz req/s: {ratio:.0%}", ratio >= TARGET_RATIO, f">= {TARGET_RATIO:.0%}"),
            (f"largest worker: {largest:.1f} MB", largest < TARGET_RSS_MB, f"< {TARGET_RSS_MB:.0f} MB"),
            (f"largest growth: {growth:+.1%}" + (" (a worker restarted)" if restarted else ""),
             growth < TARGET_GROWTH and not restarted, f"< {TARGET_GROWTH:.0%}"),
        ]
        print(f"\nload average after: {os.getloadavg()[0]:.1f} (other processes on the machine share the cores)")
        print("\ntargets")
        for text, met, target in rows:
            print(f"  {text:<52} {'ok' if met else 'MISSED':<7} (target {target})")
    finally:
        stop(server)
        problems = [line for line in error_log.read_text(errors="replace").splitlines()
                    if "[ERROR]" in line or "Traceback" in line]
        for line in problems[:20]:
            print(f"  server log: {line}")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
