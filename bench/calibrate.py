"""Calibrate Q&A's abstention: for each coverage threshold, false abstention on in-scope questions and
abstention on out-of-scope ones (bench/questions.jsonl and bench/calibration.jsonl; never the shared dev set).

Usage: python bench/calibrate.py
"""

from __future__ import annotations

import importlib
from pathlib import Path

from common import open_index, questions

qa = importlib.import_module("kb.answer")  # the module, not the function kb.answer re-exports

HERE = Path(__file__).resolve().parent


def main() -> None:
    ix, _ = open_index()
    inscope = [x for x in questions(HERE / "questions.jsonl") if x["expect"]]
    outscope = questions(HERE / "calibration.jsonl")
    print(f"{'threshold':>9} {'false abstention':>17} {'oos abstention':>15} {'accuracy':>9}")
    default = qa.MIN_COVERAGE
    for threshold in (0.2, 0.25, 0.3, 0.34, 0.4, 0.45, 0.5, 0.55, 0.6):
        qa.MIN_COVERAGE = threshold
        fa = sum(not qa.answer(ix, x["q"], x.get("nation")).answered for x in inscope)
        acc = 0
        for x in inscope:
            reply = qa.answer(ix, x["q"], x.get("nation"))
            acc += bool(reply.answered and reply.section and reply.section.provenance.section in x["expect"])
        ab = sum(not qa.answer(ix, x["q"]).answered for x in outscope)
        mark = "  <- current" if threshold == default else ""
        rates = f"{fa / len(inscope):>17.3f} {ab / len(outscope):>15.3f} {acc / len(inscope):>9.3f}"
        print(f"{threshold:>9.2f} {rates}{mark}")
    qa.MIN_COVERAGE = default


if __name__ == "__main__":
    main()
