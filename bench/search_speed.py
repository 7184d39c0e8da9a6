"""Search speed in process: index build time, then query latency p50/p95/p99 over the dev questions repeated,
for kb.search (10 results with snippets) uncached and cached, and kb.answer, beside an SQLite FTS5 baseline.

Usage: python bench/search_speed.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from common import Fts5Baseline, open_index, questions

from kb import answer, search
from kb.searching import SearchCache


def timed(fn: Callable[[str], object], queries: list[str], rounds: int) -> list[float]:
    """Milliseconds per call, over every query, rounds times."""
    out = []
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - start) * 1000)
    return out


def row(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"{name:<34} {statistics.median(ms):>7.2f} {q[94]:>7.2f} {q[98]:>7.2f}   ({len(ms)} calls)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    ix, build_seconds = open_index()
    queries = [str(x["q"]) for x in questions()]
    baseline = Fts5Baseline(ix)
    cache = SearchCache()
    search(ix, "warm up")
    answer(ix, "warm up")
    print(f"index build: {build_seconds:.2f} s ({ix.meta['sections']} sections)")
    print(f"{'query latency (ms)':<34} {'p50':>7} {'p95':>7} {'p99':>7}")
    print(row("fts5 baseline (10 results)", timed(lambda q: baseline.search(q, 10), queries, a.rounds)))
    print(row("kb.search uncached (10, snippets)", timed(lambda q: search(ix, q, limit=10), queries, a.rounds)))
    timed(lambda q: cache.search(ix, q, limit=10), queries, 1)  # fill the cache: the row below is hits only
    print(row("kb.search cached (hits)", timed(lambda q: cache.search(ix, q, limit=10), queries, a.rounds)))
    print(row("kb.answer", timed(lambda q: answer(ix, q), queries, a.rounds)))


if __name__ == "__main__":
    main()
