"""How often two blind readers agree with the bank's labels on the engine's errors and on controls.

Usage: python bench/relabel/agreement.py

The 350 questions of `items.jsonl` come from the train fold's writer-fold CV of the seventeenth session (engine
5d2db9e): out-of-scope questions the engine answered (with and without an alarm) or declined, in-scope ones it
answered or declined, emergencies it missed or flagged, and calm in-scope questions it flagged (`key.jsonl` names
each one's bank id and group; the readers saw only the question). Two helpers, given only the 2020 page, its headings
and the questions, labelled each one: does the guidance answer it, and is a child at risk right now (`A.jsonl`,
`B.jsonl`; B worked from the last question to the first). Where the readers side with the bank on the engine's
errors, the errors are the engine's, not the labels'.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
# What the bank says of each group's questions: in scope, urgent.
BANK = {"oos_answered": (False, False), "oos_flagged": (False, False), "oos_declined": (False, False),
        "in_answered": (True, False), "in_declined": (True, False), "calm_in_flagged": (True, False),
        "urgent_missed": (True, True), "urgent_flagged": (True, True)}


def rows(name: str) -> dict[str, dict[str, object]]:
    """One file's lines by their rid."""
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return {str(x["rid"]): x for x in (json.loads(line) for line in lines if line.strip())}


def main() -> None:
    key, readers = rows("key.jsonl"), {"A": rows("A.jsonl"), "B": rows("B.jsonl")}
    groups: dict[str, list[str]] = defaultdict(list)
    for rid, item in key.items():
        groups[str(item["group"])].append(rid)
    print("agreeing with the bank, scope / urgency:  reader A  reader B")
    for group, rids in groups.items():
        scope, urgent = BANK[group]
        cells = []
        for labels in readers.values():
            same_scope = sum(labels[r]["in_scope"] == scope for r in rids)
            same_urgent = sum(labels[r]["urgent"] == urgent for r in rids)
            cells.append(f"{same_scope:3}/{same_urgent:3}")
        print(f"{group:16} ({len(rids):3} questions)      {cells[0]}   {cells[1]}")
    a, b = readers["A"], readers["B"]
    print(f"A and B agree on scope for {sum(a[r]['in_scope'] == b[r]['in_scope'] for r in key)} of {len(key)}, "
          f"on urgency for {sum(a[r]['urgent'] == b[r]['urgent'] for r in key)}")


if __name__ == "__main__":
    main()
