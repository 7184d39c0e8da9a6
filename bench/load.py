"""Load on the production server: gunicorn as the README runs it, on a free 127.0.0.1 port, with an index built
into a temporary folder first; 50 keep-alive clients for a bounded time; throughput, latency, errors and each
worker's memory, beside the same figures for a trivial endpoint of the same server (the ceiling of this stack).

Phases, one after the other, as shares of --seconds: the ceiling (/healthz only, 15%), /api/search only (15%),
the site's mix (/api/search, /api/ask and article pages, 25%); the cost of one question at a time (10%, one
client): ordinary questions made unique by a leading number (so no cache answers them) beside the heaviest
questions we can build (500 characters of glossary phrases, or of misspelt words, also unique) on the three
costliest endpoints (/search?type=all, /api/search?type=all&limit=50, /api/ask); a heavy flood (15%): --heavy of
the clients send heavy questions while the rest do what people do, every question new to the cache (searches,
questions, search pages, article pages). These run with the rate limit off (KB_RATE_LIMIT=off: every client here
has the same address). Last (20%), the server as deployed, the rate limit on, behind a proxy the bench stands for
(X-Forwarded-For): the same heavy load, the heavy clients sharing --probers addresses, each ordinary request from
an address of its own (many people). Ordinary queries come from ../shared/eval/dev.jsonl, repeated, a popular few
far more often than the rest (Zipf weights). A warm-up on fresh connections first opens the index in every worker,
so memory growth measures the run, not the start.

Usage: python bench/load.py [--seconds 60] [--clients 50] [--heavy 30] [--probers 3]
Targets: zero errors; /api/search throughput >= 30% of /healthz's; each worker < 150 MB RSS, growing < 10%;
a heavy question's p95 within 3x an ordinary one's on each endpoint; ordinary p95 under heavy load with the rate
limit on < 500 ms (under the flood with it off, shown). Loopback only.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
MIX = [("search", 0.45), ("ask", 0.35), ("article", 0.20)]
# The costliest ways to ask: every kind of document with facets, every kind with the most results, an answer.
COSTLY = {"all-page": ("/search", {"type": "all"}), "all-api": ("/api/search", {"type": "all", "limit": "50"}),
          "ask-api": ("/api/ask", {})}
USUAL = {"search": ("/api/search", {}), "ask": ("/api/ask", {}), "page": ("/search", {})}
HEAVY = [(f"heavy-{name}", 1.0) for name in COSTLY]
COST = [(f"ordinary-{name}", 1.0) for name in COSTLY] + HEAVY
# What people do, every question new to the cache: searches, questions, search pages and articles.
ORDINARY = [("unique-search", 0.35), ("unique-ask", 0.3), ("unique-page", 0.15), ("article", 0.2)]
TARGET_RATIO = 0.30
TARGET_RSS_MB = 150.0
TARGET_GROWTH = 0.10
TARGET_HEAVY = 3.0
SETTLE = 3.0  # seconds for the probers' first burst under the rate limit, before measuring
TARGET_ORDINARY_MS = 500.0


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
    heavy: list[str]

    def target(self, kind: str, rng: random.Random) -> str:
        """The path and query of one request of a kind."""
        if kind == "healthz":
            return "/healthz"
        if kind == "article":
            return f"/articles/{rng.choice(self.slugs)}"
        if kind.startswith(("unique-", "ordinary-", "heavy-")):
            # A leading number makes each question new to the server's cache, as a prober's would be.
            style, _, endpoint = kind.partition("-")
            path, extra = USUAL[endpoint] if style == "unique" else COSTLY[endpoint]
            text = rng.choice(self.heavy) if style == "heavy" else rng.choice(self.items)["q"]
            return f"{path}?{urlencode({'q': f'{rng.randrange(10**9)} {text}'[:500], **extra})}"
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


def heavy_questions(seed: int = 5) -> list[str]:
    """The heaviest questions we can build, 480 characters each: glossary phrases with the most meanings (each
    a phrase searched in three fields), or words of the guidance with two letters swapped (each a spelling
    look-up)."""
    from kb import load_content  # the bench drives the server over HTTP; only these texts come from kb

    content = load_content(ROOT / "content")
    rng = random.Random(seed)
    phrases = [p for _, p in sorted(((len(e.means), p) for e in content.glossary for p in (e.term, *e.also)),
                                    reverse=True)]
    words = sorted({w for a in content.articles for s in a.sections for w in s.text.lower().split()
                    if w.isalpha() and len(w) >= 8})
    out = []
    for n in range(40):
        if n % 2:
            text = " ".join(w[:3] + w[4] + w[3] + w[5:] for w in rng.sample(words, 80))
        else:
            text = " ".join(phrases[n % 7 :] + phrases[: n % 7])
        out.append(text[:480])
    return out


def client(port: int, kinds: list[tuple[str, float]], work: Workload, deadline: list[float], tally: Tally,
           seed: int, start: threading.Barrier, address: Callable[[random.Random], str] | None = None) -> None:
    """One keep-alive client: requests one after another, from the start signal until the deadline; through the
    proxy the bench stands for, from address(rng) (as X-Forwarded-For), when one is given."""
    rng = random.Random(seed)
    names, shares = [k for k, _ in kinds], [w for _, w in kinds]
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    start.wait()
    while time.perf_counter() < deadline[0]:
        measured = time.perf_counter() >= deadline[1]
        kind = rng.choices(names, shares)[0]
        target = work.target(kind, rng)
        began = time.perf_counter()
        error = None
        try:
            conn.request("GET", target, headers={"X-Forwarded-For": address(rng)} if address else {})
            response = conn.getresponse()
            response.read()
            if response.status == 429 and kind.startswith("heavy-"):
                kind += " 429"  # the rate limit refusing a prober: what it is for, not an error
            elif response.status != 200:
                error = f"HTTP {response.status}"
            if (response.getheader("Connection") or "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
            conn.close()
        if measured:
            tally.add(kind, (time.perf_counter() - began) * 1000, error)
    conn.close()


def run_phase(port: int, kinds: list[tuple[str, float]], work: Workload, seconds: float, clients: int,
              heavy: int = 0, probers: int = 0, settle: float = 0.0) -> Tally:
    """Drive the server with concurrent clients for a number of seconds, measuring after the first `settle`;
    what they saw. The first `heavy` clients send only heavy questions. With `probers`, every request names its
    client (X-Forwarded-For): the heavy clients share that many addresses, and each ordinary request comes from an
    address of its own (many people)."""
    tally = Tally()
    start = threading.Barrier(clients + 1)
    deadline = [0.0, 0.0]  # the end, and when measuring starts

    def address(n: int) -> Callable[[random.Random], str] | None:
        if not probers:
            return None
        if n < heavy:
            return lambda rng: f"198.51.100.{n % probers + 1}"
        return lambda rng: f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    threads = [threading.Thread(target=client, args=(port, HEAVY if n < heavy else kinds, work, deadline, tally,
                                                     1000 + n, start, address(n)), daemon=True)
               for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[:] = [began + settle + seconds, began + settle]
    start.wait()
    for thread in threads:
        thread.join()
    tally.seconds = time.perf_counter() - began - settle
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


def cost_report(tally: Tally) -> float:
    """Print each costly endpoint's p95 for ordinary and heavy questions, one at a time; the largest ratio."""
    print("  heavy over ordinary, p95 on each endpoint (one client, nothing cached)")
    worst = 0.0
    for name in COSTLY:
        ordinary, heavy = (percentiles(tally.latencies[f"{style}-{name}"])[1] for style in ("ordinary", "heavy"))
        ratio = heavy / ordinary if ordinary else 0.0
        worst = max(worst, ratio)
        print(f"    {name:<10} ordinary {ordinary:7.1f} ms   heavy {heavy:7.1f} ms   x{ratio:.1f}")
    return worst


def ordinary_p95(title: str, tally: Tally) -> float:
    """Print and return the p95 of every ordinary request in a phase (unique searches and questions, articles)."""
    ms = [x for kind, values in tally.latencies.items() if not kind.startswith("heavy-") for x in values]
    p95 = percentiles(ms)[1]
    print(f"  {title}: {len(ms)} ordinary requests, p95 {p95:.1f} ms")
    return p95


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn as the README runs it, on a free port, its error log to a file; the process and the port."""
    port = free_port()
    with open(log, "ab") as handle:
        # The access log would print a line per request: it goes to /dev/null so the bench measures the server.
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"{HOST}:{port}",
             "--access-logfile", os.devnull, "app:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=handle,
        )
    return server, port


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
    ap.add_argument("--heavy", type=int, default=30, help="of them, clients sending heavy questions in the heavy "
                    "phases (default 30)")
    ap.add_argument("--probers", type=int, default=3, help="addresses the heavy clients share when the rate limit "
                    "is on (default 3)")
    args = ap.parse_args()

    items, weights = dev_questions()
    folder = Path(tempfile.mkdtemp(prefix="kb-load-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    base["KB_INDEX"] = str(folder / "index")
    subprocess.run([str(BIN / "kb"), "build"], cwd=ROOT, env=base, check=True, stdout=subprocess.DEVNULL)
    error_log = folder / "gunicorn.log"
    server, port = serve({**base, "KB_RATE_LIMIT": "off"}, error_log)  # every client here is 127.0.0.1
    try:
        health = wait_until_healthy(port, server)
        work = Workload(items, weights, [a["slug"] for a in get_json(port, "/api/articles")["items"]],
                        heavy_questions())
        print(f"gunicorn (gunicorn.conf.py) on {HOST}:{port}; index {health['content']}, {health['sections']} "
              f"sections; {args.clients} clients; {args.seconds:.0f} s under load; {len(items)} dev questions; "
              f"load average before {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        start_rss = warm_up(port, server, work)

        heavy = min(args.heavy, args.clients - 1)
        others = args.clients - heavy
        phases = [
            ("ceiling: /healthz only", [("healthz", 1.0)], 0.15, args.clients, 0),
            ("/api/search only", [("search", 1.0)], 0.15, args.clients, 0),
            ("mixed: /api/search, /api/ask, article pages", MIX, 0.25, args.clients, 0),
            ("cost: one client, unique ordinary and heavy questions", COST, 0.1, 1, 0),
            (f"heavy flood, rate limit off: {heavy} clients send heavy questions, {others} unique ordinary ones",
             ORDINARY, 0.15, args.clients, heavy),
        ]
        tallies = [run_phase(port, kinds, work, args.seconds * share, clients, heavy=n)
                   for _, kinds, share, clients, n in phases]
        end_rss = {pid: rss_mb(pid) for pid in workers(server.pid)}
        stop(server)

        # As deployed: the rate limit on (gunicorn.conf.py's default), behind a proxy the bench stands for.
        # Measured once the probers have spent their first burst: what a steady attack leaves people.
        server, port = serve({**base, "KB_TRUSTED_PROXIES": "1", "KB_PROXY_ADDRESSES": HOST}, error_log)
        wait_until_healthy(port, server)
        warm_up(port, server, work)
        title = (f"heavy load, rate limit on: {heavy} clients from {args.probers} addresses send heavy questions, "
                 f"{others} unique ordinary ones from many")
        phases.append((title, ORDINARY, 0.2, args.clients, heavy))
        tallies.append(run_phase(port, ORDINARY, work, args.seconds * 0.2, args.clients, heavy=heavy,
                                 probers=args.probers, settle=SETTLE))
        rates = [report(title, tally) for (title, *_), tally in zip(phases, tallies, strict=True)]
        print("\nquestion cost and heavy load")
        worst = cost_report(tallies[3])
        flood = ordinary_p95("heavy flood, rate limit off", tallies[4])
        ordinary = ordinary_p95("heavy load, rate limit on", tallies[5])

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
            (f"heavy p95 over ordinary p95, worst endpoint: x{worst:.1f}", worst <= TARGET_HEAVY,
             f"<= x{TARGET_HEAVY:.0f}"),
            (f"ordinary p95 under heavy load, rate limit on: {ordinary:.0f} ms", ordinary < TARGET_ORDINARY_MS,
             f"< {TARGET_ORDINARY_MS:.0f} ms"),
            (f"ordinary p95 under a heavy flood, rate limit off: {flood:.0f} ms", True, "none: shown"),
        ]
        print(f"\nload average after: {os.getloadavg()[0]:.1f} (other processes on the machine share the cores)")
        print("\ntargets")
        for text, met, target in rows:
            print(f"  {text:<62} {'ok' if met else 'MISSED':<7} (target {target})")
    finally:
        stop(server)
        problems = [line for line in error_log.read_text(errors="replace").splitlines()
                    if "[ERROR]" in line or "Traceback" in line]
        for line in problems[:20]:
            print(f"  server log: {line}")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
