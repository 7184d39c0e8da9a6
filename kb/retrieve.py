"""Retrieve from the index (BM25F): an analysed question becomes a query built in code (never parsed as syntax),
expanded with the glossary's everyday words, filtered by nation and topic, and its hits highlighted."""

from __future__ import annotations

import html
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from whoosh import query as Q
from whoosh import scoring

from kb.analysis import Analysed, stems
from kb.index import OpenIndex
from kb.index_schema import KINDS
from kb.model import Provenance
from kb.snippets import lead, make_snippet
from kb.tuning import DEFAULT, Tuning

TYPES = ("section", "legislation", "reference", "glossary", "all")


@dataclass(frozen=True)
class Hit:
    """One search result."""

    type: str
    id: str
    title: str
    heading: str
    url: str
    snippet: str
    score: float
    source: Provenance
    nations: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    slug: str = ""
    anchor: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON form of a result."""
        return {
            "type": self.type,
            "title": self.title,
            "heading": self.heading,
            "url": self.url,
            "snippet": self.snippet,
            "score": round(self.score, 3),
            "source": self.source.as_dict(),
        }


class _Or(Q.Or):  # type: ignore[misc]  # whoosh ships no types
    """An Or that unions its parts lazily: Whoosh's default for small indexes preloads a 2,048-slot array
    per clause, which costs more than the whole search here."""

    matcher_type = Q.Or.DEFAULT_MATCHER


def _match(phrase: tuple[str, ...], weight: float, boosts: dict[str, float]) -> Q.Query:
    """A stem phrase in any field: one word is a term, more must stand together (or be keywords)."""
    if len(phrase) == 1:
        return _Or([Q.Term(name, phrase[0], boost=boost * weight) for name, boost in boosts.items()])
    return _Or([
        Q.Phrase("body", list(phrase), boost=weight * boosts["body"]),
        Q.Phrase("heading", list(phrase), boost=weight * boosts["heading"]),
        Q.Phrase("keywords", list(phrase), boost=weight * boosts["keywords"]),
    ])


def weighting(tuning: Tuning) -> Any:
    """BM25F with the tuned parameters."""
    return scoring.BM25F(B=tuning.bm25_b, K1=tuning.bm25_k1)


def build_query(analysed: Analysed, place: str | None = None, tuning: Tuning = DEFAULT) -> Q.Query | None:
    """A Whoosh query made in code from analysed words: no user text is ever parsed as syntax.

    Each idea counts once: the user's own words, plus the single best-matching glossary meaning for them (a
    disjunction-max), so a word with many meanings cannot outweigh the rest of the question.
    """
    clauses: list[Q.Query] = []
    boosts, meanings = tuning.boosts, tuning.budget.meanings
    for group in analysed.groups:
        own = _Or([_match((s,), 1.0, boosts) for s in group.stems]) if group.stems else None
        used = group.meanings[: min(tuning.max_meanings, meanings)]
        meanings -= len(used)
        alternatives = [_match(m, group.weight, boosts) for m in used]
        best = (alternatives[0] if len(alternatives) == 1
                else Q.DisjunctionMax(alternatives, tiebreak=tuning.tiebreak) if alternatives else None)
        parts = [q for q in (own, best) if q is not None]
        if parts:
            clauses.append(parts[0] if len(parts) == 1 else _Or(parts))
    ordered = stems(analysed.text)
    pairs = [(first, second) for first, second in zip(ordered, ordered[1:], strict=False) if first != second]
    for first, second in pairs[: tuning.budget.pairs]:
        clauses.append(Q.Phrase("body", [first, second], boost=tuning.phrase_boost))
        # Names of acts and provisions stand in titles ("Criminal Justice Act 1988, section 160").
        clauses.append(Q.Phrase("title", [first, second], boost=tuning.phrase_boost))
    if not clauses:
        return None
    query = _Or(clauses)
    # The nation only lifts what the question already matches: it never makes a match by itself.
    return Q.AndMaybe(query, Q.Term("place", place, boost=tuning.nation_boost)) if place else query


def _filters(nation: str | None, topic: str | None, kind: str) -> Q.Query | None:
    """The restriction for a nation and topic within one kind of document."""
    parts: list[Q.Query] = []
    if nation:
        # Items with no nation (glossary entries) apply everywhere.
        parts.append(Q.Or([Q.Term("nations", nation), Q.Not(Q.Every("nations"))]) if kind == "glossary"
                     else Q.Term("nations", nation))
    if topic:
        parts.append(Q.Term("topics", topic))
    return Q.And(parts) if parts else None


def run(
    ix: OpenIndex,
    analysed: Analysed,
    nation: str | None,
    topic: str | None,
    kind: str,
    limit: int,
    facets: bool = False,
    snippets: bool = True,
    place: str | None = None,
    offset: int = 0,
    marked: frozenset[str] | None = None,
) -> tuple[int, tuple[Hit, ...], dict[str, dict[str, int]]]:
    """Run an analysed query: total, `limit` hits from the `offset`-th, and (when asked) facet counts over the
    unfiltered kind. Snippets are made for the hits returned only; they mark `marked` (default: every wanted
    stem).

    `place` is a nation the question is about: sections specifically about it rank higher (a soft lift,
    unlike the `nation` filter)."""
    tuning = ix.tuning
    q = build_query(analysed, place, tuning)
    if q is None:
        return 0, (), {}
    total = 0
    found: list[tuple[Hit, str]] = []
    wanted = frozenset(analysed.stems) | frozenset(analysed.expansions)
    counts: dict[str, Counter[str]] = {"nations": Counter(), "topics": Counter()}
    for name in KINDS if kind == "all" else (kind,):
        with ix.indexes[name].searcher(weighting=weighting(tuning)) as searcher:
            # The index is small: scoring every match costs less than Whoosh counting them again for a total.
            results = searcher.search(q, filter=_allowed(ix, searcher, nation, topic, name), limit=None)
            total += len(results)
            found.extend((_hit(r, None, tuning), r.get("body", "")) for r in results[:offset + limit])
            if facets:
                for fields in searcher.search(q, limit=None):
                    for facet, counter in counts.items():
                        counter.update(_split(fields.get(facet, "")))
    found = [(_elsewhere(_as_history(ix, h), place, tuning), body) for h, body in found]
    # Law that is no longer the law to apply comes after the law of today (it is listed as history).
    found.sort(key=lambda pair: (_is_history(ix, pair[0]), -pair[0].score))
    marks = wanted if marked is None else marked
    ranked = tuple(replace(h, snippet=make_snippet(body, wanted, tuning.snippet_chars, marked=marks)) if snippets
                   else h for h, body in found[offset:offset + limit])
    return total, ranked, {name: dict(c.most_common()) for name, c in counts.items()} if facets else {}


def section_scores(ix: OpenIndex, analysed: Analysed, place: str | None = None,
                   shared: OnDemand | None = None) -> dict[str, float]:
    """The BM25F score of every section the query matches, by section id (slug#anchor): what ranking needs,
    without loading any stored field (the stored bodies make full hits costly). `shared`: a searcher one caller
    keeps open over many questions (the build's thousands; a served question opens its own)."""
    q = build_query(analysed, place, ix.tuning)
    if q is None:
        return {}
    elsewhere = ix.tuning.elsewhere_factor
    with nullcontext(shared) if shared is not None else searcher_for(ix) as searcher:
        ids: tuple[str, ...] = ix.memo.get("section-ids", lambda: _section_ids(searcher()))
        places: tuple[tuple[str, ...], ...] = ix.memo.get("section-places", lambda: _section_places(searcher()))
        leaves: Leaves = ix.memo.get("section-leaves", Leaves)
        scores, matched = leaves.evaluate(q, searcher)
        out = {}
        for docnum in np.flatnonzero(matched).tolist():
            # A section about other nations than the one asked about answers for somewhere else.
            factor = elsewhere if place and places[docnum] and place not in places[docnum] else 1.0
            out[ids[docnum]] = float(scores[docnum]) * factor
        return out


def searcher_for(ix: OpenIndex) -> OnDemand:
    """A section searcher opened when first asked for, to keep open over many questions (close it on leaving)."""
    return OnDemand(ix.indexes["section"], weighting(ix.tuning))


class OnDemand:
    """A searcher opened when first asked for and closed on leaving: kept clauses answer most questions without
    one, and opening a reader costs about a millisecond."""

    def __init__(self, index: Any, scoring: Any) -> None:
        self._index, self._scoring, self._open = index, scoring, None

    def __call__(self) -> Any:
        if self._open is None:
            self._open = self._index.searcher(weighting=self._scoring)
        return self._open

    def __enter__(self) -> OnDemand:
        return self

    def __exit__(self, *_: object) -> None:
        if self._open is not None:
            self._open.close()


class Leaves:
    """Whoosh's BM25F score of each clause of a query (one idea of the question, or one word pair) over every
    section, kept per opened index, and the query's score as their sum (Whoosh's Or adds its parts' scores; an
    AndMaybe adds the second's where the first matches). The same ideas recur across questions: the bank's
    thousands at build time, and users' questions, cost a few small Whoosh searches instead of one large one. At
    most `cap` clauses are kept (a stream of new word pairs cannot grow it without bound)."""

    def __init__(self, cap: int = 20_000) -> None:
        self._kept: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cap = cap
        self._lock = threading.Lock()

    def evaluate(self, q: Q.Query, searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
        """The query's score for every document, and which documents it matches (searcher: opens one if none is
        open)."""
        if isinstance(q, Q.AndMaybe):
            (a, hit), (b, also) = self.evaluate(q.a, searcher), self.evaluate(q.b, searcher)
            return np.where(hit & also, a + b, a), hit
        if type(q) is _Or and q.boost == 1.0:
            parts = [self._clause(sub, searcher) for sub in q.subqueries]
            return (np.sum([p for p, _ in parts], axis=0), np.any([h for _, h in parts], axis=0))
        return self._clause(q, searcher)

    def _clause(self, q: Q.Query, open_searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
        # Whoosh's matchers score inside a clause in ways of their own (a DisjunctionMax of phrases is not the
        # maximum of its parts' scores): each clause is scored by Whoosh whole.
        key = f"{type(q).__name__}:{q!r}"
        found = self._kept.get(key)
        if found is None:
            searcher = open_searcher()
            scores = np.zeros(searcher.doc_count_all())
            hits = np.zeros(len(scores), dtype=bool)
            for score, docnum in searcher.search(q, limit=None).top_n:
                scores[docnum], hits[docnum] = score, True
            found = (scores, hits)
            with self._lock:
                if len(self._kept) < self._cap:
                    self._kept[key] = found
        return found


def _section_ids(searcher: Any) -> tuple[str, ...]:
    """Each section document's id (slug#anchor), by document number."""
    return tuple(f"{f.get('slug', '')}#{f.get('anchor', '')}" for f in (
        searcher.stored_fields(n) for n in range(searcher.doc_count_all())))


def _section_places(searcher: Any) -> tuple[tuple[str, ...], ...]:
    """The nations each section document applies to, by document number."""
    return tuple(_split(searcher.stored_fields(n).get("nations", "")) for n in range(searcher.doc_count_all()))


def _elsewhere(hit: Hit, place: str | None, tuning: Tuning) -> Hit:
    """A section about other nations than the one asked about scores lower: it answers for somewhere else."""
    if place and hit.type == "section" and hit.nations and place not in hit.nations:
        return replace(hit, score=hit.score * tuning.elsewhere_factor)
    return hit


def _is_history(ix: OpenIndex, hit: Hit) -> bool:
    """True for a law item that is no longer the law to apply."""
    item = ix.content.law(hit.anchor) if hit.type == "legislation" else None
    return item is not None and not item.current


def _as_history(ix: OpenIndex, hit: Hit) -> Hit:
    """Law that is no longer the law to apply scores lower, so it never outranks today's law or the guidance."""
    return replace(hit, score=hit.score * ix.tuning.history_factor) if _is_history(ix, hit) else hit


def _allowed(ix: OpenIndex, searcher: Any, nation: str | None, topic: str | None, kind: str) -> set[int] | None:
    """The documents a nation and topic allow in one kind, computed once per opened index (at most a few
    hundred small sets: nations x topics x kinds)."""
    flt = _filters(nation, topic, kind)
    if flt is None:
        return None
    docs: frozenset[int] = ix.memo.get(("allowed", nation or "", topic or "", kind),
                                       lambda: frozenset(searcher.docs_for_query(flt)))
    return set(docs)  # Whoosh takes a plain set; a copy keeps the kept one safe


def _hit(r: Any, wanted: frozenset[str] | None, tuning: Tuning) -> Hit:
    """A Hit from a Whoosh result, with its snippet (the passage that holds most of the wanted stems)."""
    body = r.get("body", "")
    snippet = (make_snippet(body, wanted, tuning.snippet_chars) if wanted is not None
               else html.escape(lead(body, tuning.lead_chars), quote=True))
    return Hit(
        type=r["type"],
        id=r["id"],
        title=r.get("title", ""),
        heading=r.get("heading", ""),
        url=r.get("url", ""),
        snippet=snippet,
        score=float(r.score or 0.0),
        source=Provenance(
            document=r.get("source_document", ""),
            section=r.get("source_section", ""),
            url=r.get("source_url", "") if not r.get("source_section") else "",
        ),
        nations=_split(r.get("nations", "")),
        topics=_split(r.get("topics", "")),
        slug=r.get("slug", ""),
        anchor=r.get("anchor", ""),
    )


def _split(value: str) -> tuple[str, ...]:
    """A stored comma-separated list."""
    return tuple(v for v in value.split(",") if v)
