"""Search quality on a question set: top-1, recall@3 and MRR@10 for kb.search beside an FTS5 baseline.

Usage: python bench/search_quality.py [questions.jsonl] [--misses]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from common import DEV_SET, Fts5Baseline, open_index, questions

from kb import search


def score(items: list[dict[str, object]], ranked: Callable[[str], list[str]]) -> dict[str, float]:
    """Top-1, recall@3 and MRR@10 over the in-scope questions."""
    n = top1 = r3 = 0
    mrr = 0.0
    misses = []
    for x in items:
        expect = x.get("expect") or []
        if not expect:
            continue
        got = ranked(str(x["q"]))
        n += 1
        top1 += bool(got[:1] and got[0] in expect)
        r3 += bool(set(expect) & set(got[:3]))
        mrr += next((1 / (i + 1) for i, h in enumerate(got[:10]) if h in expect), 0.0)
        if not (got[:1] and got[0] in expect):
            misses.append(f"{x['id']}: expected {expect[0]!r}, got {got[:3]}")
    return {"top1": top1 / n, "recall3": r3 / n, "mrr10": mrr / n, "n": n, "misses": misses}  # type: ignore[dict-item]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", nargs="?", default=str(DEV_SET))
    ap.add_argument("--misses", action="store_true")
    a = ap.parse_args()
    ix, _ = open_index()
    items = questions(a.questions)
    baseline = Fts5Baseline(ix)
    ours = score(items, lambda q: [h.source.section for h in search(ix, q).hits])
    base = score(items, baseline.search)
    print(f"{'metric':<10} {'kb.search':>10} {'fts5 baseline':>14}")
    for key in ("top1", "recall3", "mrr10"):
        print(f"{key:<10} {ours[key]:>10.3f} {base[key]:>14.3f}")
    print(f"questions  {ours['n']:>10}")
    if a.misses:
        print("\n".join(["", "# kb.search misses", *ours["misses"]]))  # type: ignore[list-item]


if __name__ == "__main__":
    main()
