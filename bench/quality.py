"""Search, guided Q&A and urgency quality on the bank's held-out fold and the shared dev sets, beside the engine
without learning (BM25F and hand rules, the previous engine) and an SQLite FTS5 baseline, in one run.

Usage: python bench/quality.py [--misses] [--sets train,heldout,dev2,dev] [--tune NAME=VALUE ...]

`--tune unsure=0.7` (any field of kb.tuning.Tuning, repeatable) builds both indexes with that tuning instead of the
defaults: the learned models are fitted under it and served with it.

The learned engine is fitted on bench/bank/train.jsonl only; held-out and the dev sets are scored, never fitted.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, Fts5Baseline, questions, tally_urgency

from kb import IndexHolder, OpenIndex, answer, load_content, search
from kb.config import training_bank
from kb.learn import build
from kb.signals import is_urgent
from kb.tuning import DEFAULT, Tuning

HERE = Path(__file__).resolve().parent
SETS = {
    "train": HERE / "bank" / "train.jsonl",
    "heldout": HERE / "bank" / "heldout.jsonl",
    "dev2": ROOT.parent / "shared" / "eval" / "dev2.jsonl",
    "dev": ROOT.parent / "shared" / "eval" / "dev.jsonl",
}


def open_built(trained: bool, tuning: Tuning = DEFAULT) -> tuple[OpenIndex, float]:
    """The real content built into a fresh index, with or without the learned ranking; and the build time."""
    content = load_content(ROOT / "content")
    folder = tempfile.mkdtemp(prefix="kb-quality-")
    start = time.perf_counter()
    build(content, folder, force=True, bank=training_bank() if trained else [], tuning=tuning)
    ix = IndexHolder(folder).get()
    assert ix is not None
    return ix, time.perf_counter() - start


def evaluate(ix: OpenIndex, items: list[dict[str, Any]], fts: Fts5Baseline | None = None
             ) -> tuple[dict[str, float], dict[str, list[str]], list[float]]:
    """Every metric of ../shared/eval/score.py, computed in process; misses by metric; latency per question."""
    n: dict[str, float] = dict.fromkeys((
        "in", "top1", "r3", "mrr", "ans", "false_abst", "out", "abst", "urg", "urg_hit", "calm", "false_alarm",
        "law", "law_hit", "nat", "nat_ok", "fts1", "fts3", "old_urg", "old_fa", "urg_line", "maybe", "law_items",
        "answered_in", "out_calm", "abst_calm"), 0.0)
    misses: dict[str, list[str]] = {}
    times: list[float] = []
    for x in items:
        expect, nation = x.get("expect") or [], x.get("nation")
        start = time.perf_counter()
        ranked = [h.source.section for h in search(ix, x["q"]).hits]
        reply = answer(ix, x["q"], nation=nation)
        times.append((time.perf_counter() - start) * 1000)
        got = reply.section.provenance.section if reply.answered and reply.section else None
        if expect:
            n["in"] += 1
            n["top1"] += bool(ranked[:1] and ranked[0] in expect)
            n["r3"] += bool(set(ranked[:3]) & set(expect))
            n["mrr"] += next((1 / (i + 1) for i, h in enumerate(ranked[:10]) if h in expect), 0.0)
            n["ans"] += got in expect
            n["false_abst"] += not reply.answered
            if not (ranked[:1] and ranked[0] in expect):
                misses.setdefault("top1", []).append(f"{x['id']} {x['q'][:80]!r} -> {ranked[:1]} want {expect[0]}")
            if not reply.answered:
                misses.setdefault("false_abstention", []).append(f"{x['id']} {x['q'][:90]!r}")
            if fts is not None:
                f = fts.search(x["q"])
                n["fts1"] += bool(f[:1] and f[0] in expect)
                n["fts3"] += bool(set(f[:3]) & set(expect))
        else:
            n["out"] += 1
            n["abst"] += not reply.answered
            # An emergency answer is never a refusal: out-of-scope questions read as urgent (an adult's emergency,
            # mostly) are answered by design, so abstention is also shown over the others.
            n["out_calm"] += not reply.urgent
            n["abst_calm"] += not reply.urgent and not reply.answered
            if reply.answered:
                misses.setdefault("abstain", []).append(f"{x['id']} {x['q'][:80]!r} -> {got}")
        # The alarm is 999 first and an answer; the line is "Is a child in danger right now? Call 999." above
        # the answer (issue 12, point 4).
        first_999 = bool(reply.contacts) and reply.contacts[0].phone == "999"
        alarm = reply.urgent and first_999 and reply.answered
        tally_urgency(n, bool(x.get("urgent")), alarm, reply.maybe_urgent and first_999, is_urgent(x["q"]))
        if bool(x.get("urgent")) != alarm:
            misses.setdefault("urgent" if x.get("urgent") else "false_alarm", []).append(f"{x['id']} {x['q'][:110]!r}")
        laws = [f"{i.title} {i.provision}" for i in reply.legislation]
        n["law_items"] += len(laws) if expect and reply.answered else 0
        n["answered_in"] += bool(expect and reply.answered)
        for pattern in x.get("expect_law", []):
            n["law"] += 1
            found = any(re.search(pattern, t, re.I) for t in laws)
            n["law_hit"] += found
            if not found:
                misses.setdefault("law", []).append(f"{x['id']} {pattern!r} not in {laws}")
        if nation and reply.legislation:
            n["nat"] += 1
            n["nat_ok"] += all(nation in i.nations for i in reply.legislation)

    def r(a: str, b: str) -> float:
        return n[a] / n[b] if n[b] else float("nan")

    metrics = {
        "search top1": r("top1", "in"), "search recall@3": r("r3", "in"), "search mrr@10": r("mrr", "in"),
        "fts5 top1": r("fts1", "in"), "fts5 recall@3": r("fts3", "in"),
        "answer accuracy": r("ans", "in"), "false abstention": r("false_abst", "in"),
        "abstention (oos)": r("abst", "out"), "abstention (oos, calm)": r("abst_calm", "out_calm"),
        "urgent recall": r("urg_hit", "urg"),
        "urgent false alarms": r("false_alarm", "calm"),
        "urgent or 999 line recall": r("urg_line", "urg"), "999 line on calm": r("maybe", "calm"),
        "old rules urgent recall": r("old_urg", "urg"),
        "old rules false alarms": r("old_fa", "calm"), "law recall": r("law_hit", "law"),
        "law nation precision": r("nat_ok", "nat"),
        "law items per answer": r("law_items", "answered_in"),
        "questions": n["in"] + n["out"], "emergencies": n["urg"],
    }
    return metrics, misses, times


def tuned(settings: list[str]) -> Tuning:
    """The default tuning with NAME=VALUE settings (numbers only) applied."""
    kinds = {f.name: type(getattr(DEFAULT, f.name)) for f in dataclasses.fields(Tuning)}
    values: dict[str, float | int] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if kinds.get(name) not in (int, float):
            raise SystemExit(f"--tune {setting}: {name!r} is not a number of kb.tuning.Tuning")
        values[name] = kinds[name](value)
    return dataclasses.replace(DEFAULT, **values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--sets", default="train,heldout,dev2,dev")
    ap.add_argument("--tune", action="append", default=[], metavar="NAME=VALUE")
    a = ap.parse_args()
    tuning = tuned(a.tune)
    learned, learned_secs = open_built(trained=True, tuning=tuning)
    plain, plain_secs = open_built(trained=False, tuning=tuning)
    fts = Fts5Baseline(plain)
    print(f"build: learned {learned_secs:.1f} s, without learning {plain_secs:.1f} s")
    for name in a.sets.split(","):
        items = questions(SETS[name])
        new, misses, times = evaluate(learned, items, fts)
        old, _, old_times = evaluate(plain, items)
        print(f"\n== {name} ({len(items)} questions{', the fold fitted on' if name == 'train' else ''})")
        print(f"{'metric':<26} {'learned':>8} {'no learning':>12}")
        for key in new:
            if key.startswith(("fts5", "old rules", "questions", "emergencies")):
                continue
            print(f"{key:<26} {new[key]:>8.3f} {old[key]:>12.3f}")
        print(f"{'fts5 top1 / recall@3':<26} {new['fts5 top1']:>8.3f} / {new['fts5 recall@3']:.3f}")
        print(f"{'old urgency rules':<26} recall {new['old rules urgent recall']:.3f}, "
              f"false alarms {new['old rules false alarms']:.3f}")
        for label, t in (("learned", times), ("no learning", old_times)):
            q = statistics.quantiles(t, n=100)
            print(f"latency ms (search+answer) {label:<12} p50 {statistics.median(t):.1f}  p95 {q[94]:.1f}")
        if a.misses and name != "train":
            for kind, rows in misses.items():
                print(f"# missed: {kind}")
                print("\n".join("  " + row for row in rows))


if __name__ == "__main__":
    main()
