"""Search: a question understood once, sections ranked by the learned model over BM25F and the memory of
labelled questions, other kinds of document by BM25F; filters by nation, topic and type; the 999 step first when
a child may be in danger now."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from kb.analysis import MAX_QUERY_CHARS, Analysed, normalise
from kb.cache import ResultCache
from kb.choosing import named_subject
from kb.coverage import GENERIC, SectionStats
from kb.index import OpenIndex
from kb.learn import engine, rank
from kb.model import NATIONS, TOPICS, Article, Content, Section
from kb.ranked import Ranked, Ranking
from kb.retrieve import TYPES, Hit, run
from kb.snippets import lead, make_snippet
from kb.tuning import DEFAULT, Tuning
from kb.understand import Query, intended, understand
from kb.urgency import Urgency

__all__ = ["MAX_QUERY_CHARS", "TYPES", "Hit", "SearchCache", "SearchResult", "normalise", "search", "validate"]


@dataclass(frozen=True)
class SearchResult:
    """The answer to one search."""

    query: str
    corrected: str | None
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    message: str = ""
    urgent: bool = False  # the words signal that a child may be in danger now
    risks: frozenset[str] = frozenset()  # the risks they signal, whose crisis lines the page lists (Urgency.risks)


def validate(nation: str | None, topic: str | None, kind: str | None, limit: Any) -> tuple[str | None, int]:
    """A plain message for the first bad parameter (None when all are good), and the limit."""
    if nation and nation not in NATIONS:
        return f"Unknown nation '{nation}'. Use one of: {', '.join(NATIONS)}.", 0
    if topic and topic not in TOPICS:
        return f"Unknown topic '{topic}'. Use one of: {', '.join(TOPICS)}.", 0
    if kind and kind not in TYPES:
        return f"Unknown type '{kind}'. Use one of: {', '.join(TYPES)}.", 0
    if limit in (None, ""):
        return None, 10
    try:
        number = int(str(limit))
    except ValueError:
        return "limit must be a whole number from 1 to 50.", 0
    if not 1 <= number <= 50:
        return "limit must be a whole number from 1 to 50.", 0
    return None, number


def search(
    ix: OpenIndex,
    text: str,
    nation: str | None = None,
    topic: str | None = None,
    kind: str = "section",
    limit: int = 10,
    spelling: bool = True,
    facets: bool = False,
    query: Query | None = None,
    offset: int = 0,
) -> SearchResult:
    """Ranked results for user text, filtered by nation, topic and type: `limit` of them from the `offset`-th
    (0 for the best), so that every result can be reached a page at a time."""
    query = query or understand(ix, text, spelling)
    place = nation or query.nation
    # type=all searches and snippets every kind of document: it returns fewer results than the others may.
    limit = min(limit, ix.tuning.budget.all_limit) if kind == "all" else limit
    offset = max(0, offset)
    if kind == "section":
        # The nation the question names lifts sections about it; a nation filter only filters, so that it can
        # never add a result the unfiltered search did not have.
        ranking = named_first(ix.content, rank(ix, query, query.nation, scope=False), query, place)
        urgency = ranking.urgency
        # Clearly an emergency: the 999 step first. Possibly one: second, after what the words asked for.
        pin = _emergency_id(ix, urgency.urgent, urgency.sure)
        filters = Filters(nation, topic, offset, limit, pin, marks(query.analysed, engine(ix).stats), ix.tuning)
        total, hits, counts = _sections(ranking, query, filters, facets, intended(ix, query))
    else:
        total, hits, counts = run(ix, query.analysed, nation, topic, kind, limit, facets, place=place,
                                  offset=offset, marked=marks(query.analysed, engine(ix).stats))
        # Every document kind: urgency as the section search and the answer read it (an adult's emergency, below
        # Model.outside, is not pinned); one kind alone (the law, the library) pins nothing.
        calm = Urgency(0.0, False, False, frozenset())
        urgency = rank(ix, query, query.nation, scope=False).urgency if kind == "all" else calm
        if urgency.urgent and not offset:
            hits = _emergency_first(ix, hits, nation, topic, limit, at=0 if urgency.sure else 1)
        # Replaced documents come after current ones (kb.retrieve): the order decides, and the scores follow it.
        hits = tuple(replace(h, score=s) for h, s in zip(hits, descending([h.score for h in hits]), strict=True))
    return SearchResult(query=text, corrected=query.corrected, total=max(total, len(hits)), hits=hits,
                        facets=counts, message=query.message, urgent=urgency.urgent, risks=urgency.risks)


def named_first(content: Content, ranking: Ranking, query: Query, nation: str | None) -> Ranking:
    """The section from another source whose subject the search names, and nothing else of its own, comes first
    (kb.choosing.named_subject): the ranking, learned from the 2020 page's sections, would put it far down."""
    found = named_subject(content, query, nation)
    if found is None:
        return ranking
    first = [r for r in ranking.sections if r.facts.section is found[1]]
    return replace(ranking, sections=(*first, *(r for r in ranking.sections if r.facts.section is not found[1])))


def marks(analysed: Analysed, stats: SectionStats) -> frozenset[str]:
    """The stems a snippet highlights: the searcher's own words that say something. Stop words are never stems;
    common words are not marked: generic ones ("child", "young", "help") and those of more than half the guidance's
    sections ("nudes", "sharing", "image"), which would light up every result; nor are the glossary's meanings of
    their words, which only choose the passage shown."""
    common = len(stats.stems) / 2
    return frozenset(s for s in analysed.stems if s not in GENERIC and stats.df.get(s, 0) <= common)


def applies(article: Article, section: Section, nation: str | None, topic: str | None) -> bool:
    """True when a section passes the nation and topic filters."""
    return ((not nation or nation in (section.nations or article.nations))
            and (not topic or topic in article.topics))


@dataclass(frozen=True)
class Filters:
    """Which sections to show: the nation and topic filters, the page (offset and limit), the section to pin at a
    place (the 999 step, when the words signal danger now), and the stems their snippets mark."""

    nation: str | None
    topic: str | None
    offset: int
    limit: int
    pin: tuple[str, int] | None = None
    marked: frozenset[str] = frozenset()
    tuning: Tuning = DEFAULT


def _emergency_id(ix: OpenIndex, urgent: bool, sure: bool) -> tuple[str, int] | None:
    """The 999 section's id and where it goes (first when surely an emergency, else second), when urgent."""
    found = ix.content.emergency_section() if urgent else None
    return (f"{found[0].slug}#{found[1].anchor}", 0 if sure else 1) if found else None


def _sections(ranking: Ranking, query: Query, filters: Filters, facets: bool, intents: frozenset[str]
              ) -> tuple[int, tuple[Hit, ...], dict[str, dict[str, int]]]:
    """The sections that match (by their words, by what the question wants to do, or by the model's judgement),
    filtered, best first. Words that occur nowhere in the guidance ("football") find nothing; a question of
    common words ("who do I tell", "who do I ring") finds the sections that serve what it wants to do
    (intents.yaml), ranked by the model."""
    pinned = [r for r in ranking.sections if filters.pin and r.facts.id == filters.pin[0]
              and applies(r.facts.article, r.facts.section, filters.nation, filters.topic)]
    if (query.analysed.stems and not intents and not any(r.bm25 > 0 for r in ranking.sections)
            or not query.analysed.words) and not pinned:
        return 0, (), {}  # words found nowhere, or no word at all ("(((", an emoji): nothing, not guesses
    matching = [r for r in ranking.sections
                if r.bm25 > 0 or r.probability >= filters.tuning.relevant or r.facts.source in intents]
    if not query.analysed.stems and not matching:
        # Nothing but common words and no section the model is sure of: its best few guesses, never nothing.
        matching = list(ranking.sections[:filters.tuning.common_words_only])
    kept = [r for r in matching if applies(r.facts.article, r.facts.section, filters.nation, filters.topic)
            and not (pinned and r.facts.id == pinned[0].facts.id)]
    if pinned and filters.pin:
        kept.insert(filters.pin[1] if kept else 0, pinned[0])
    counts: dict[str, dict[str, int]] = {}
    if facets:
        tally: dict[str, Counter[str]] = {"nations": Counter(), "topics": Counter()}
        for r in matching:
            tally["nations"].update(r.facts.section.nations or r.facts.article.nations)
            tally["topics"].update(r.facts.article.topics)
        counts = {name: dict(c.most_common()) for name, c in tally.items()}
    wanted = frozenset(query.analysed.stems) | frozenset(query.analysed.expansions)
    scores = descending([100 * r.probability for r in kept])
    page = range(filters.offset, min(len(kept), filters.offset + filters.limit))
    return len(kept), tuple(_hit(kept[i], scores[i], wanted, filters.marked, filters.tuning) for i in page), counts


def descending(scores: list[float]) -> list[float]:
    """Scores that never rise down the list: a result placed above another (the 999 step, a named subject, the
    first of each source section) scores at least as much as those below it."""
    out = list(scores)
    for i in range(len(out) - 2, -1, -1):
        out[i] = max(out[i], out[i + 1])
    return [round(x, 3) for x in out]


def _hit(ranked: Ranked, score: float, wanted: frozenset[str] | None, marked: frozenset[str], tuning: Tuning) -> Hit:
    """A search result for a ranked section."""
    article, section = ranked.facts.article, ranked.facts.section
    snippet = (make_snippet(section.text, wanted, tuning.snippet_chars, marked=marked) if wanted
               else html.escape(lead(section.text, tuning.lead_chars), quote=True))
    return Hit(
        type="section",
        id=f"section:{ranked.facts.id}",
        title=article.title,
        heading=section.heading,
        url=f"{article.url}#{section.anchor}",
        snippet=snippet,
        score=score,
        source=section.provenance,
        nations=section.nations or article.nations,
        topics=article.topics,
        slug=article.slug,
        anchor=section.anchor,
    )


def _emergency_first(
    ix: OpenIndex, hits: tuple[Hit, ...], nation: str | None, topic: str | None, limit: int, at: int = 0
) -> tuple[Hit, ...]:
    """A question signalling immediate risk gets the guidance's 999 step first (or at `at`), whatever it matched."""
    found = ix.content.emergency_section()
    if found is None:
        return hits
    article, section = found
    if not applies(article, section, nation, topic):
        return hits
    pinned_id = f"section:{article.slug}#{section.anchor}"
    rest = [h for h in hits if h.id != pinned_id]
    at = min(at, len(rest))
    pinned = Hit(
        type="section",
        id=pinned_id,
        title=article.title,
        heading=section.heading,
        url=f"{article.url}#{section.anchor}",
        snippet=html.escape(lead(section.text, ix.tuning.lead_chars), quote=True),
        # As the result above it, or one more than the best when first: the list stays in score order.
        score=rest[at - 1].score if at else (rest[0].score + 1.0 if rest else 1.0),
        source=section.provenance,
        nations=article.nations,
        topics=article.topics,
        slug=article.slug,
        anchor=section.anchor,
    )
    return tuple(rest[:at] + [pinned] + rest[at:])[:limit]


class SearchCache:
    """search() through a ResultCache: repeated searches of the same index are answered from memory."""

    def __init__(self, size: int = 512) -> None:
        self.cache = ResultCache(size)

    def search(self, ix: OpenIndex, text: str, **options: Any) -> SearchResult:
        """search(), answered from the cache when the same search was made of the same index."""
        key = ("search", normalise(text)[0].lower(), *sorted(options.items()))
        # Stored without the query's text (and results with a spelling correction are not stored at all).
        result = self.cache.get(ix.path, key, lambda: replace(search(ix, text, **options), query=""),
                                keep=lambda r: r.corrected is None)
        return replace(result, query=text)
