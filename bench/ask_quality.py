"""Guided Q&A quality and latency on question sets, in process: the same metrics as ../shared/eval/score.py.

Usage: python bench/ask_quality.py [questions.jsonl ...] [--misses]
(default: the shared dev set, bench/questions.jsonl and bench/calibration.jsonl when present)
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path
from typing import Any

from common import DEV_SET, open_index, questions

from kb import answer

HERE = Path(__file__).resolve().parent


def evaluate(ix: Any, items: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, list[str]], list[float]]:
    """Metrics as score.py counts them, the misses, and per-question latency in ms."""
    n = dict.fromkeys(("in", "out", "ans", "false_abst", "abst", "urg", "urg_hit", "calm", "false_alarm",
                       "law", "law_hit", "nat", "nat_ok", "law_items", "answered_in"), 0)
    misses: dict[str, list[str]] = {}
    times = []
    for x in items:
        start = time.perf_counter()
        reply = answer(ix, x["q"], nation=x.get("nation"))
        times.append((time.perf_counter() - start) * 1000)
        got = reply.section.provenance.section if reply.answered and reply.section else None
        laws = [f"{i.title} {i.provision}" for i in reply.legislation]
        if x["expect"]:
            n["in"] += 1
            if got in x["expect"]:
                n["ans"] += 1
            else:
                misses.setdefault("answer", []).append(f"{x['id']} {x['q'][:70]!r} -> {got} ({reply.confidence:.2f})")
            n["false_abst"] += not reply.answered
            if reply.answered:
                n["law_items"] += len(laws)
                n["answered_in"] += 1
        else:
            n["out"] += 1
            n["abst"] += not reply.answered
            if reply.answered:
                misses.setdefault("abstain", []).append(f"{x['id']} {x['q'][:70]!r} -> {got} ({reply.confidence:.2f})")
        if x.get("urgent"):
            n["urg"] += 1
            ok = reply.urgent and reply.contacts and reply.contacts[0].phone == "999"
            n["urg_hit"] += bool(ok)
            if not ok:
                misses.setdefault("urgent", []).append(f"{x['id']} {x['q'][:90]!r}")
        else:
            n["calm"] += 1
            if reply.urgent:
                n["false_alarm"] += 1
                misses.setdefault("false_alarm", []).append(f"{x['id']} {x['q'][:90]!r}")
        for pattern in x.get("expect_law", []):
            n["law"] += 1
            if any(re.search(pattern, t, re.I) for t in laws):
                n["law_hit"] += 1
            else:
                misses.setdefault("law", []).append(f"{x['id']} {pattern!r} not in {laws}")
        if x.get("nation") and reply.legislation:
            n["nat"] += 1
            n["nat_ok"] += all(x["nation"] in i.nations for i in reply.legislation)

    def ratio(a: str, b: str) -> str:
        return f"{n[a] / n[b]:.3f} ({n[a]}/{n[b]})" if n[b] else "n/a"

    metrics = {
        "answer accuracy": ratio("ans", "in"),
        "false abstention": ratio("false_abst", "in"),
        "abstention (oos)": ratio("abst", "out"),
        "urgent recall": ratio("urg_hit", "urg"),
        "urgent false alarms": ratio("false_alarm", "calm"),
        "law recall": ratio("law_hit", "law"),
        "law nation precision": ratio("nat_ok", "nat"),
        "law items per answer": f"{n['law_items'] / max(n['answered_in'], 1):.2f}",
    }
    return metrics, misses, times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="*")
    ap.add_argument("--misses", action="store_true")
    a = ap.parse_args()
    sets = a.sets or [str(p) for p in (DEV_SET, HERE / "questions.jsonl", HERE / "calibration.jsonl") if p.exists()]
    ix, _ = open_index()
    answer(ix, "warm up")
    for path in sets:
        metrics, misses, times = evaluate(ix, questions(path))
        print(f"\n== {Path(path).name} ({len(times)} questions)")
        for key, value in metrics.items():
            print(f"{key:<22} {value}")
        q = statistics.quantiles(times, n=100)
        print(f"{'latency ms':<22} p50 {statistics.median(times):.1f}  p95 {q[94]:.1f}  max {max(times):.1f}")
        if a.misses:
            for kind, rows in misses.items():
                print(f"# missed: {kind}")
                print("\n".join("  " + r for r in rows))


if __name__ == "__main__":
    main()
