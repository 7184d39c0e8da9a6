"""Shared setup for the benchmarks: build the real content into a temporary index, load question sets."""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import IndexHolder, OpenIndex, load_content, warm  # noqa: E402
from kb.learn import build  # noqa: E402

DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def open_index() -> tuple[OpenIndex, float]:
    """The real content built into a fresh temporary index (learning from the bank's train fold, as `kb build`
    does), and the build time in seconds."""
    import time

    content = load_content(ROOT / "content")
    if content.errors:
        raise SystemExit("\n".join(str(p) for p in content.errors))
    folder = tempfile.mkdtemp(prefix="kb-bench-")
    start = time.perf_counter()
    build(content, folder, force=True)
    seconds = time.perf_counter() - start
    ix = IndexHolder(folder, prepare=warm).get()
    assert ix is not None
    return ix, seconds


def tally_urgency(n: dict[str, float], urgent: bool, alarm: bool, line: bool, old: bool) -> None:
    """Count one question for urgent recall (the full alarm; the alarm or the line "call 999") and, on calm
    questions, false alarms and the line, with the old rules' verdict beside them."""
    if urgent:
        n["urg"] += 1
        n["urg_hit"] += alarm
        n["urg_line"] += alarm or line
        n["old_urg"] += old
    else:
        n["calm"] += 1
        n["false_alarm"] += alarm
        n["maybe"] += line
        n["old_fa"] += old


def questions(path: Path | str = DEV_SET) -> list[dict[str, Any]]:
    """The questions of a JSON-lines set."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


class Fts5Baseline:
    """A plain SQLite FTS5 engine over the same sections: porter stemming, bm25 with heading weight 2."""

    def __init__(self, ix: OpenIndex) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE s USING fts5(heading, body, section UNINDEXED, tokenize='porter')")
        rows = [(sec.heading, sec.text, sec.provenance.section)
                for a in ix.content.articles for sec in a.sections]
        self.db.executemany("INSERT INTO s VALUES (?, ?, ?)", rows)

    def search(self, text: str, limit: int = 10) -> list[str]:
        """Source headings of the top sections, the query's words joined with OR."""
        import re

        words = re.findall(r"\w+", text.lower())
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        cur = self.db.execute(
            "SELECT section FROM s WHERE s MATCH ? ORDER BY bm25(s, 2.0, 1.0) LIMIT ?", (match, limit)
        )
        return [row[0] for row in cur]
