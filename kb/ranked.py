"""What ranking hands on: the facts of one article section, one section ranked for a question, and a question's
whole ranking with its scope and urgency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from kb.model import Article, Section
from kb.urgency import INTENT, MEDICAL, Cues, Urgency, wordless

# A search this short that no cue family reads names a topic ("sextortion", "nudes leaked"), not an emergency told.
TOPIC_WORDS = 2


@dataclass(frozen=True)
class SectionFacts:
    """What ranking needs to know of one article section."""

    id: str
    source: str
    heading_stems: frozenset[str]
    places: tuple[str, ...]
    article: Article
    section: Section
    heading_words: frozenset[str] = frozenset()  # the heading's telling words, stop words included (see below)


@dataclass(frozen=True)
class Ranked:
    """One section with the model's probability that it answers, and its BM25F score."""

    facts: SectionFacts
    probability: float
    bm25: float


@dataclass(frozen=True)
class Ranking:
    """Sections best first, whether the guidance answers the question at all (for a search, kb.learn.rank's
    scope=False, worked out without the encoder and not for deciding), and how urgent it reads."""

    sections: tuple[Ranked, ...]
    in_scope: float
    answerable: bool
    urgency: Urgency
    coverage: float
    elsewhere: bool = False  # it names a concern the guidance does not cover (scope.yaml) and none of its core words


def in_order(keys: Sequence[tuple[int, float, float, int]], groups: Sequence[str], within: Sequence[float],
             own: Sequence[float]) -> list[int]:
    """The sections' order (indices): each source section (group) by its best section's key, then its sections by
    how well each version fits (within), then by their own score (own), key and place."""
    best: dict[str, tuple[int, float, float, int]] = {}
    for group, key in zip(groups, keys, strict=True):
        best[group] = min(best.get(group, key), key)
    return sorted(range(len(keys)), key=lambda i: (best[groups[i]], groups[i], -within[i], -own[i], keys[i], i))


def diversify(ranked: tuple[Ranked, ...], head: int = 3) -> tuple[Ranked, ...]:
    """The first few results restate different parts of the guidance: a second section of the same source
    section waits until `head` different ones are shown (several sections often restate one source section)."""
    first: list[Ranked] = []
    later: list[Ranked] = []
    seen: set[str] = set()
    for r in ranked:
        if len(first) < head and r.facts.source not in seen:
            first.append(r)
            seen.add(r.facts.source)
        else:
            later.append(r)
    return (*first, *later)


def settled(urgency: Urgency, cues: Cues, typed: str, words: Sequence[str], answers: float, low: bool
            ) -> tuple[Urgency, float]:
    """The urgency and scope served, after what the models made of them: a greeting, thanks or goodbye alone
    ("bye", "diolch") asks nothing and is never urgent; the danger of someone said to be an adult (Cues.adults), an
    adult's or an animal's danger (`low`: the scope model reads it far outside the subject), or no word at all and no
    cue ("%00"), gets the line "call 999" only."""
    if cues.pleasantry(typed):
        return replace(urgency, urgent=False, maybe=False, sure=False, ruled=False, cues=frozenset()), 0.0
    # The guidance is about children: an emergency of someone said to be an adult ("our apprentice, 19") gets the
    # line "call 999" and is declined, whatever the models make of its words. A danger it names (someone outside, a
    # threat, an end to life) is enough: the models learnt adults' questions as calm, being out of scope.
    if (urgency.urgent or urgency.maybe or urgency.named) and cues.adults.matches(typed):
        return replace(urgency, urgent=False, maybe=True, sure=False, adult=True), 0.0
    # A child who means to end their life ("kms") or is seriously ill or hurt now, with no calm cue, is urgent all
    # the same, however little else of the guidance's subject the question names.
    kept = urgency.ruled and bool(urgency.cues & {INTENT, MEDICAL})
    # A search of one or two words that no cue family reads ("sextortion") names a topic, not an emergency told: the
    # models alone make it maybe urgent at most (no such question of the bank is an emergency), and a misspelling of
    # it ("sextortoin", which the encoder reads as typed) is not read as more urgent than the word itself.
    topic = not urgency.cues and len(words) <= TOPIC_WORDS
    if urgency.urgent and (wordless(urgency, words) or topic or low and not kept):
        return replace(urgency, urgent=False, maybe=True, sure=False), answers
    return urgency, answers
