"""The benchmark question sets are well formed: JSON lines, expectations spelled as the 31 source headings."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kb.content import source_headings

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# CI checks out the shared folder (with the dev set) beside the clone, as for test_faithful.py.
SHARED = Path(os.environ.get("KB_SHARED") or ROOT.parent / "shared")
SETS = ["questions.jsonl", "calibration.jsonl"]
KINDS = {"keyword", "question", "scenario", "typo", "legislation", "emergency", "out_of_scope"}
REFERRAL = "When to make a child protection referral"


def lines(name: str) -> list[tuple[int, dict[str, Any]]]:
    """Each non-blank line of a set, parsed, with its line number."""
    out = []
    for n, line in enumerate((BENCH / name).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            assert isinstance(item, dict), f"{name}:{n}: not an object"
            out.append((n, item))
    return out


@pytest.mark.parametrize("name", SETS)
def test_sets_are_valid_json_lines(name: str) -> None:
    items = lines(name)
    assert items, name
    ids = [item.get("id") for _, item in items]
    assert len(set(ids)) == len(ids), f"{name}: duplicate ids"
    for n, item in items:
        where = f"{name}:{n}"
        assert isinstance(item.get("id"), str) and item["id"], where
        assert isinstance(item.get("q"), str) and item["q"].strip(), where
        assert item.get("kind") in KINDS, where
        assert isinstance(item.get("expect"), list), where
        assert isinstance(item.get("urgent"), bool), where


@pytest.mark.parametrize("name", SETS)
def test_every_expected_heading_is_a_source_heading(name: str) -> None:
    headings = set(source_headings())
    assert len(headings) == 31
    for n, item in lines(name):
        for heading in item["expect"]:
            assert heading in headings, f"{name}:{n}: {heading!r} is not one of the 31 source headings"
        assert len(set(item["expect"])) == len(item["expect"]), f"{name}:{n}: a heading twice"


def test_urgent_questions_expect_the_referral_section() -> None:
    urgent = [(n, item) for n, item in lines("questions.jsonl") if item["urgent"]]
    assert urgent
    for n, item in urgent:
        assert item["expect"] and item["expect"][0] == REFERRAL, f"questions.jsonl:{n}"
        assert item["kind"] == "emergency", f"questions.jsonl:{n}"
    for n, item in lines("questions.jsonl"):
        if item["kind"] == "emergency":
            assert item["urgent"] is True, f"questions.jsonl:{n}"


def test_calibration_items_expect_nothing() -> None:
    for n, item in lines("calibration.jsonl"):
        assert item["expect"] == [], f"calibration.jsonl:{n}"
        assert item["kind"] == "out_of_scope" and item["urgent"] is False, f"calibration.jsonl:{n}"


def test_in_scope_questions_expect_a_section() -> None:
    for n, item in lines("questions.jsonl"):
        if item["kind"] != "out_of_scope":
            assert item["expect"], f"questions.jsonl:{n}"


def test_sets_do_not_copy_the_dev_set() -> None:
    dev = SHARED / "eval" / "dev.jsonl"
    asked = {" ".join(json.loads(line)["q"].lower().split())
             for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()}
    for name in SETS:
        for n, item in lines(name):
            assert " ".join(item["q"].lower().split()) not in asked, f"{name}:{n}: copied from the dev set"
