"""An opened index warmed before it answers anyone: what a first question would otherwise make is made at once."""

from __future__ import annotations

from kb.answering import answer
from kb.index import OpenIndex
from kb.learn import engine
from kb.retrieve import prepare

WARMING = "what does the law say about sharing nudes"  # a fixed question that takes every step of an answer


def warm(ix: OpenIndex) -> None:
    """Make the learned engine, every index's words and stored fields, and the encoder's session (about 3 s), so
    that no visitor's first question waits for them."""
    prepare(ix)
    engine(ix)
    answer(ix, WARMING)
