"""Merge the blind question bank's raw files into a fixed train / held-out split (about 2:1).

Usage: python bench/bank/split.py   (reads bench/bank/raw/*.jsonl, writes bench/bank/train.jsonl and heldout.jsonl)

The fold of a question is a hash of its id, so adding questions never moves an old one between folds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIELDS = ("id", "q", "kind", "expect", "urgent", "nation", "expect_law", "persona")


def fold(question_id: str) -> str:
    """'heldout' for about one question in three, else 'train': fixed by the id alone."""
    return "heldout" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 3 == 0 else "train"


def main() -> None:
    folds: dict[str, list[dict[str, object]]] = {"train": [], "heldout": []}
    seen: set[str] = set()
    for path in sorted((HERE / "raw").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["id"] in seen:
                raise SystemExit(f"{path.name}: duplicate id {item['id']}")
            seen.add(item["id"])
            clean = {k: item[k] for k in FIELDS if k in item}
            clean["writer"] = path.stem
            folds[fold(item["id"])].append(clean)
    for name, items in folds.items():
        (HERE / f"{name}.jsonl").write_text(
            "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), encoding="utf-8")
        print(f"{name}: {len(items)}")


if __name__ == "__main__":
    main()
