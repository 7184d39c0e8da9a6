"""Guided Q&A quality and latency on question sets against the built content (bench/quality.py's measures), in
process: the same metrics as ../shared/eval/score.py.

Usage: python bench/ask_quality.py [questions.jsonl ...] [--misses]
(default: the shared dev set, bench/questions.jsonl and bench/calibration.jsonl when present)
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from common import DEV_SET, open_index, questions
from quality import evaluate

from kb import answer

# The guided Q&A's metrics, as ../shared/eval/score.py names them.
SHOWN = ("answer accuracy", "false abstention", "abstention (oos)", "urgent recall", "urgent false alarms",
         "law recall", "law nation precision", "law items per answer")

HERE = Path(__file__).resolve().parent


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
        for key in SHOWN:
            print(f"{key:<22} {metrics[key]:.3f}")
        q = statistics.quantiles(times, n=100)
        print(f"{'latency ms':<22} p50 {statistics.median(times):.1f}  p95 {q[94]:.1f}  max {max(times):.1f}")
        if a.misses:
            for kind, rows in misses.items():
                print(f"# missed: {kind}")
                print("\n".join("  " + r for r in rows))


if __name__ == "__main__":
    main()
