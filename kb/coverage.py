"""How much of what a question is about a section covers: each section's stems, how telling each stem is, and the
words that say nothing about a question's subject. Pure: content in, numbers out."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from kb.analysis import Analysed, stems
from kb.model import Content

# Words that say little about what a question is about: they never count towards coverage.
GENERIC = frozenset(stems(
    "what do does did can could should would must how why when where who which is are am was be been "
    "i me my we our us you your he she they them his her their it its this that these those there "
    "a an the and or but if so to of in on at for with about from by as into any some all "
    "need needs want know tell help please thanks advice question ask make get got go going "
    "child children young person people pupil pupils student students kid kids boy girl son daughter "
    "teen teenager year old yo school club staff just really also like one "
    # where a question is set says nothing about what it asks (every part of the guidance is UK-wide)
    "uk britain british england english wales welsh scotland scottish northern ireland irish ni"
))


@dataclass(frozen=True)
class SectionStats:
    """The stems of each section, and in how many sections each stem occurs."""

    stems: dict[str, frozenset[str]]
    df: dict[str, int]

    def idf(self, stem: str) -> float:
        """How much a stem says: a word no section uses says the most (it is off this guidance's subject)."""
        return math.log(1 + len(self.stems) / (1 + self.df.get(stem, 0)))


def section_stats(content: Content) -> SectionStats:
    """Stems per section and in how many sections each occurs."""
    per: dict[str, frozenset[str]] = {}
    for article in content.articles:
        for section in article.sections:
            text = " ".join([article.title, section.heading, section.text, *section.keywords, *article.keywords])
            per[f"{article.slug}#{section.anchor}"] = frozenset(stems(text))
    return SectionStats(per, dict(Counter(stem for found in per.values() for stem in found)))


def coverage(analysed: Analysed, section_id: str, stats: SectionStats) -> float:
    """How much of what the question is about the section covers: its ideas, weighted by how telling each is."""
    found = stats.stems.get(section_id, frozenset())
    total = matched = 0.0
    for group in analysed.groups:
        own = [s for s in group.stems if s not in GENERIC]
        if not own:
            continue
        weight = max(stats.idf(s) for s in own)
        total += weight
        if any(s in found for s in own) or any(all(s in found for s in m) for m in group.meanings):
            matched += weight
    return matched / total if total else 0.0
