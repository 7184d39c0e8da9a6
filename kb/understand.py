"""Read a question once: its words and ideas, its spelling, the nation it names (in words or by a place), and its
terms for the learned ranking. Search and answer both take the resulting Query."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kb.analysis import Analysed, analyse
from kb.index import OpenIndex
from kb.signals import nation_in, nations_named
from kb.spelling import correct, respell
from kb.tuning import DEFAULT, Tuning


@dataclass(frozen=True)
class Query:
    """A question as understood: as typed, as corrected, where it is set, and its weighted terms."""

    typed: str
    analysed: Analysed
    corrected: str | None
    nation: str | None
    terms: Mapping[str, float] = field(default_factory=dict)
    nations: tuple[str, ...] = ()  # every nation it names or places, named ones first

    @property
    def text(self) -> str:
        """The text searched for (corrected when a correction was made)."""
        return self.analysed.text

    @property
    def message(self) -> str:
        """A note for the user about their query (for example that it was cut)."""
        return self.analysed.message


def understand(ix: OpenIndex, text: str, spelling: bool = True) -> Query:
    """Take a question apart once, for every later step."""
    glossary, tuning = ix.content.glossary, ix.tuning
    typed = analyse(respell(text, glossary), glossary, tuning)
    corrected = correct(ix, typed, glossary) if spelling else None
    analysed = replace(analyse(corrected, glossary, tuning), message=typed.message) if corrected else typed
    placed = places_of(ix).nations(typed.text)
    nation = nation_in(analysed.text) or (next(iter(placed)) if len(placed) == 1 else None)
    nations = tuple(dict.fromkeys([*nations_named(analysed.text), *sorted(placed)]))
    return Query(typed=typed.text, analysed=analysed, corrected=corrected, nation=nation,
                 terms=terms_of(analysed, tuning), nations=nations)


def intended(ix: OpenIndex, query: Query) -> frozenset[str]:
    """The source sections that serve what the question wants to do (its intents, content/intents.yaml), read
    from the words as typed and as corrected."""
    return frozenset(h for i in ix.content.intents if i.matches(query.typed) or i.matches(query.text)
                     for h in i.sections)


def terms_of(analysed: Analysed, tuning: Tuning = DEFAULT) -> dict[str, float]:
    """The question's stems (weight 1) and the glossary meanings of its words (weight less than 1)."""
    out = dict.fromkeys(analysed.stems, 1.0)
    for stem in analysed.expansions:
        out.setdefault(stem, tuning.expansion_term_weight)
    return out


@dataclass(frozen=True)
class Places:
    """Place names that pin a nation, as one pattern per nation (longest names first)."""

    lower: Mapping[str, re.Pattern[str]]
    capital: Mapping[str, re.Pattern[str]]

    def nations(self, text: str) -> frozenset[str]:
        """Every nation the text's places point to."""
        found = {n for n, rx in self.lower.items() if rx.search(text.lower())}
        return frozenset(found | {n for n, rx in self.capital.items() if rx.search(text)})

    def without(self, text: str) -> str:
        """The text with its place names taken out: for the sentence encoder, which would read a town as a subject
        (a place sets the nation and says nothing of what is asked)."""
        for rx in self.capital.values():
            text = rx.sub(" ", text)
        for rx in self.lower.values():
            text = re.sub(rx.pattern, " ", text, flags=re.IGNORECASE)  # re keeps the compiled pattern
        return " ".join(text.split())


def places_of(ix: OpenIndex) -> Places:
    """The content's place names, compiled once per opened index."""
    places: Places = ix.memo.get("places", lambda: compile_places(tuple(ix.content.places)))
    return places


def compile_places(pairs: tuple[tuple[str, str], ...]) -> Places:
    """Patterns for place names; a name kept with its capitals (an everyday word, "Bath", "Hull"; an acronym)
    counts only when written with them, so "photos of her in the bath" names no place, but "belfast" does."""
    lower: dict[str, list[str]] = {}
    capital: dict[str, list[str]] = {}
    for name, nation in pairs:
        clean = " ".join(name.split())
        if clean != clean.lower():
            capital.setdefault(nation, []).append(clean)
        else:
            lower.setdefault(nation, []).append(clean)

    def pattern(names: list[str]) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
        return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")

    return Places({n: pattern(v) for n, v in lower.items()}, {n: pattern(v) for n, v in capital.items()})


def read_by_encoder(ix: OpenIndex, query: Query) -> str:
    """What the sentence encoder reads of a question (bank, ask or user's): as typed, its place names taken out (a
    town or a nation sets where the question is asked and says nothing of what it asks)."""
    return places_of(ix).without(query.typed)
