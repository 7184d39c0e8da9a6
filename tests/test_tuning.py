"""Tuning is one frozen value (kb/tuning.py): an index is built with it, stores it, opens with it, and a bench
varies it by value (a build with another tuning, or `OpenIndex.tuned`), never by changing module state."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from kb import IndexHolder, OpenIndex, build_index, is_current, search
from kb.budget import BUDGET
from kb.index import CURRENT, TUNING
from kb.model import Content
from kb.tuning import DEFAULT, Tuning

QUESTION = "what do I do when a pupil shows me a nude on their phone"


def test_an_index_is_served_with_the_tuning_it_was_built_with(ix: OpenIndex, index_dir: Path) -> None:
    assert ix.tuning == DEFAULT
    stored = json.loads((index_dir / CURRENT / TUNING).read_text(encoding="utf-8"))
    assert Tuning.from_dict(stored) == DEFAULT
    assert TUNING in ix.meta["files"], "the tuning is part of the build's manifest"


def test_a_build_with_another_tuning_stores_it_and_is_not_current_for_the_defaults(
        content: Content, tmp_path: Path) -> None:
    other = dataclasses.replace(DEFAULT, unsure=0.7, budget=dataclasses.replace(BUDGET, all_limit=5),
                                probe=dataclasses.replace(DEFAULT.probe, hidden=64))
    build_index(content, tmp_path, tuning=other)
    opened = IndexHolder(tmp_path).get()
    assert opened is not None and opened.tuning == other
    assert is_current(tmp_path, content.digest, tuning=other)
    assert not is_current(tmp_path, content.digest)


def test_tuning_round_trips_through_json() -> None:
    other = dataclasses.replace(DEFAULT, field_boosts=(("heading", 2.0), ("title", 1.0), ("body", 1.0),
                                                        ("keywords", 3.0)), snippet_chars=100)
    assert Tuning.from_dict(json.loads(json.dumps(other.as_dict()))) == other
    assert Tuning.from_dict({}) == DEFAULT


def shown(snippet: str) -> int:
    """How many characters of text a snippet shows."""
    return len(snippet.replace("<mark>", "").replace("</mark>", ""))


def test_a_tuned_index_changes_results_without_touching_the_served_one(ix: OpenIndex) -> None:
    short = ix.tuned(dataclasses.replace(ix.tuning, snippet_chars=60, budget=dataclasses.replace(BUDGET, all_limit=3)))
    assert short.memo is not ix.memo and short.content is ix.content
    plain = search(ix, QUESTION, limit=5)
    tuned = search(short, QUESTION, limit=5)
    assert [h.id for h in tuned.hits] == [h.id for h in plain.hits], "snippets do not change the ranking"
    assert all(shown(a.snippet) <= shown(b.snippet) for a, b in zip(tuned.hits, plain.hits, strict=True))
    assert max(shown(h.snippet) for h in tuned.hits) < max(shown(h.snippet) for h in plain.hits)
    assert len(search(short, QUESTION, kind="all", limit=10).hits) == 3 < len(search(ix, QUESTION, kind="all").hits)
    assert search(ix, QUESTION, limit=5) == plain, "the served index answers as before"
    assert DEFAULT == Tuning() and ix.tuning == DEFAULT
