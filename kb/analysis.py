"""Take user text apart: cleaned, cut to length, split into words and stems, and into ideas with the everyday
meanings the glossary gives them. Pure: no index."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from kb.index_schema import analyzer, plain_analyzer
from kb.model import GlossaryEntry
from kb.tuning import DEFAULT, Tuning

MAX_QUERY_CHARS = 500
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Group:
    """One idea in a query: the user's own stems, and the stem phrases the glossary says it means."""

    stems: tuple[str, ...]
    meanings: tuple[tuple[str, ...], ...] = ()
    core: bool = False
    weight: float = 0.0


@dataclass(frozen=True)
class Analysed:
    """A query taken apart: its words, its stems, and its ideas with their everyday meanings."""

    text: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    groups: tuple[Group, ...]
    message: str = ""

    @property
    def core(self) -> bool:
        """True when an everyday word puts the query squarely in the guidance's subject."""
        return any(g.core for g in self.groups)

    @property
    def expansions(self) -> tuple[str, ...]:
        """Every stem the glossary added that the user did not type."""
        own = set(self.stems)
        return tuple(dict.fromkeys(s for g in self.groups for m in g.meanings for s in m if s not in own))


def normalise(text: str) -> tuple[str, str]:
    """Clean user text (Unicode form, control characters, length); return it and any message."""
    text = unicodedata.normalize("NFKC", text or "")
    text = CONTROL.sub(" ", text)
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUERY_CHARS]
        return cut, f"Your search was long, so only its first {MAX_QUERY_CHARS} characters were used."
    return text, ""


_STEMMER = analyzer()
_WORDS = plain_analyzer()


def stems(text: str) -> list[str]:
    """The index's analysis of text: stemmed words, stop words dropped."""
    return list(cached_stems(text)) if len(text) <= 200 else [t.text for t in _STEMMER(text)]


@lru_cache(maxsize=8192)
def cached_stems(text: str) -> tuple[str, ...]:
    """The stems of a short text, kept: glossary phrases and common words are analysed again and again."""
    return tuple(t.text for t in _STEMMER(text))


def words(text: str) -> list[str]:
    """Lower-cased whole words."""
    return [t.text for t in _WORDS(text)]


def with_words(text: str, replacements: dict[int, str]) -> str:
    """The text with its i-th word (as `words` counts them) replaced, every other character kept as typed."""
    out, at = [], 0
    for i, token in enumerate(_WORDS(text, chars=True)):
        if i in replacements:
            out += [text[at:token.startchar], replacements[i]]
            at = token.endchar
    return "".join([*out, text[at:]])


@lru_cache(maxsize=8)
def _phrase_table(glossary: tuple[GlossaryEntry, ...]) -> dict[tuple[str, ...], tuple[tuple[str, ...], bool]]:
    """Everyday phrases (as word tuples) mapped to the phrases they mean, and whether they are core words."""
    table: dict[tuple[str, ...], tuple[list[str], bool]] = {}
    for entry in glossary:
        meaning = [entry.term, *entry.means]
        for phrase in (entry.term, *entry.also):
            key = tuple(words(phrase))
            if key:
                known, core = table.get(key, ([], False))
                table[key] = (known + meaning, core or entry.core)
    return {k: (tuple(dict.fromkeys(v)), core) for k, (v, core) in table.items()}


def analyse(text: str, glossary: tuple[GlossaryEntry, ...] = (), tuning: Tuning = DEFAULT) -> Analysed:
    """Split a query into ideas: glossary phrases (longest first) with their meanings, and single words."""
    text, message = normalise(text)
    query_words = words(text)[: tuning.budget.words]
    table = _phrase_table(glossary)
    longest = max((len(k) for k in table), default=0)
    groups: list[Group] = []
    i = 0
    while i < len(query_words):
        for size in range(min(longest, len(query_words) - i), 0, -1):
            key = tuple(query_words[i : i + size])
            if key in table:
                phrases, core = table[key]
                own = tuple(stems(" ".join(key)))
                meanings = tuple(dict.fromkeys(
                    m for m in (tuple(stems(p)) for p in phrases) if m and m != own
                ))
                # A phrase of several words is an idiom whose sense its own stems lose ("what to do with an
                # image" keeps only "image"), so its meanings count more than a single word's synonyms.
                weight = tuning.expansion_weight if size == 1 else tuning.idiom_weight
                groups.append(Group(own or (meanings[0] if meanings else ()), meanings, core, weight))
                i += size
                break
        else:
            own = tuple(stems(query_words[i]))
            if own:
                groups.append(Group(own))
            i += 1
    merged: dict[tuple[str, ...], Group] = {}
    searched = 0
    for group in groups:
        if group.stems and group.stems not in merged:
            searched += len(group.stems)
            if searched > tuning.budget.stems:
                break  # the query's cost is bounded: later ideas are not searched
            merged[group.stems] = group
    query_stems = tuple(dict.fromkeys(s for g in merged.values() for s in g.stems))
    return Analysed(text=text, words=tuple(query_words), stems=query_stems, groups=tuple(merged.values()),
                    message=message)


def telling_words(headings: Sequence[str]) -> frozenset[str]:
    """The words of at most a tenth of the headings, stop words included: "who" and "tell" tell "Who should I
    tell ...?" apart from its neighbours, "what" and "I" do not."""
    df: dict[str, int] = {}
    for heading in headings:
        for word in set(words(heading)):
            df[word] = df.get(word, 0) + 1
    return frozenset(w for w, n in df.items() if n <= len(headings) / 10)


def names_any(sequence: Sequence[str], phrases: Sequence[Sequence[str]]) -> bool:
    """True when one of the phrases (as stems) stands in the sequence of stems, its words together and in order."""
    # The sequence's runs of each length a phrase has, in a set: one lookup a phrase, not one a position.
    runs = {tuple(sequence[i:i + n]) for n in {len(p) for p in phrases if p} for i in range(len(sequence) - n + 1)}
    return any(tuple(phrase) in runs for phrase in phrases if phrase)
