"""Writer-fold cross-validation on the bank's train fold: the measure to choose a change by without looking at
held-out. The train fold's writers are split into four folds (by a hash of the writer); for each fold an index is
built and fitted on the other three and scored on it; the four are pooled. Held-out and the dev sets are not read.

Usage: python bench/train_cv.py [--tune NAME=VALUE ...] [--misses FILE]

Stricter than held-out (a writer's other questions are never in the memory), so its numbers run a little lower.
Two folds are built at a time (one per core); about 75 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from common import ROOT, questions
from quality import SETS, evaluate, tuned

from kb import IndexHolder, load_content
from kb.learn import build

FOLDS = 4
SHOWN = {"search top1": "in", "search recall@3": "in", "answer accuracy": "in", "false abstention": "in",
         "abstention (oos)": "out", "urgent recall": "urg", "urgent false alarms": "calm"}


def fold_of(item: dict[str, Any]) -> int:
    """The writer's fold (questions without a writer count by their id's prefix)."""
    writer = str(item.get("writer") or item["id"].split("-")[0])
    return zlib.crc32(writer.encode()) % FOLDS


def run_fold(k: int, settings: list[str]) -> tuple[dict[str, float], dict[str, list[str]], dict[str, int]]:
    """Fit without fold k's writers, score fold k: its metrics, misses and the counts the metrics are shares of."""
    bank = questions(SETS["train"])
    folder = tempfile.mkdtemp(prefix="kb-cv-")
    build(load_content(ROOT / "content"), folder, force=True, bank=[x for x in bank if fold_of(x) != k],
          tuning=tuned(settings))
    ix = IndexHolder(folder).get()
    assert ix is not None
    test = [x for x in bank if fold_of(x) == k]
    metrics, misses, _ = evaluate(ix, test)
    counts = {"in": sum(bool(x.get("expect")) for x in test), "out": sum(not x.get("expect") for x in test),
              "urg": sum(bool(x.get("urgent")) for x in test), "calm": sum(not x.get("urgent") for x in test)}
    return metrics, misses, counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tune", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--misses", metavar="FILE", help="write the pooled misses as JSON to FILE")
    args = ap.parse_args()
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(run_fold, range(FOLDS), [args.tune] * FOLDS))
    print(f"train writer-fold CV ({FOLDS} folds{', ' + ' '.join(args.tune) if args.tune else ''}):")
    for name, of in SHOWN.items():
        pooled = sum(m[name] * c[of] for m, _, c in results) / max(sum(c[of] for _, _, c in results), 1)
        print(f"  {name:22} {pooled:.4f}")
    if args.misses:
        pooled_misses: dict[str, list[str]] = {}
        for _, misses, _ in results:
            for kind, found in misses.items():
                pooled_misses.setdefault(kind, []).extend(found)
        with open(args.misses, "w", encoding="utf-8") as out:
            json.dump(pooled_misses, out, indent=1)


if __name__ == "__main__":
    main()
