"""Retrieve from the index (BM25F): an analysed question becomes a query built in code (never parsed as syntax),
expanded with the glossary's everyday words, filtered by nation and topic, and its hits highlighted."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from whoosh import query as Q
from whoosh import scoring

from kb.analysis import Analysed, stems
from kb.index import OpenIndex
from kb.index_schema import KINDS
from kb.model import Provenance
from kb.retrieve_leaves import LazyOr, Leaves, OnDemand
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


def _match(phrase: tuple[str, ...], weight: float, boosts: dict[str, float]) -> Q.Query:
    """A stem phrase in any field: one word is a term, more must stand together (or be keywords)."""
    if len(phrase) == 1:
        return LazyOr([Q.Term(name, phrase[0], boost=boost * weight) for name, boost in boosts.items()])
    return LazyOr([
        Q.Phrase("body", list(phrase), boost=weight * boosts["body"]),
        Q.Phrase("heading", list(phrase), boost=weight * boosts["heading"]),
        Q.Phrase("keywords", list(phrase), boost=weight * boosts["keywords"]),
    ])


def _best(alternatives: list[Q.Query], tiebreak: float) -> Q.Query:
    """The best-matching of some alternatives (a disjunction-max), or the only one."""
    return alternatives[0] if len(alternatives) == 1 else Q.DisjunctionMax(alternatives, tiebreak=tiebreak)


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
        own = LazyOr([_match((s,), 1.0, boosts) for s in group.stems]) if group.stems else None
        used = group.meanings[: min(tuning.max_meanings, meanings)]
        meanings -= len(used)
        alternatives = [_match(m, group.weight, boosts) for m in used]
        best = _best(alternatives, tuning.tiebreak) if alternatives else None
        parts = [q for q in (own, best) if q is not None]
        if parts:
            clauses.append(parts[0] if len(parts) == 1 else LazyOr(parts))
    ordered = stems(analysed.text)
    pairs = [(first, second) for first, second in zip(ordered, ordered[1:], strict=False) if first != second]
    for first, second in pairs[: tuning.budget.pairs]:
        clauses.append(Q.Phrase("body", [first, second], boost=tuning.phrase_boost))
        # Names of acts and provisions stand in titles ("Criminal Justice Act 1988, section 160").
        clauses.append(Q.Phrase("title", [first, second], boost=tuning.phrase_boost))
    if not clauses:
        return None
    query = LazyOr(clauses)
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
        with OnDemand(ix.indexes[name], weighting(tuning)) as searcher:
            stored = stored_fields(ix, name, searcher)
            scores, matched = leaves_of(ix, name).evaluate(q, searcher)
            docs = np.flatnonzero(matched & _allowed(ix, searcher, nation, topic, name))
            docs = _current_first(ix, name, stored, docs[np.lexsort((docs, -scores[docs]))])  # Whoosh's order
            total += len(docs)
            found.extend((_hit(stored[d], float(scores[d]), tuning), stored[d].get("body", ""))
                         for d in docs[:offset + limit].tolist())
            if facets:
                for d in np.flatnonzero(matched).tolist():
                    for facet, counter in counts.items():
                        counter.update(_split(stored[d].get(facet, "")))
    found = [(_elsewhere(_as_history(ix, h), place, tuning), body) for h, body in found]
    # Law that is no longer the law to apply comes after the law of today (it is listed as history); a replaced
    # document comes after the documents in use.
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
        stored = stored_fields(ix, "section", searcher)
        ids: tuple[str, ...] = ix.memo.get("section-ids", lambda: tuple(
            f"{f.get('slug', '')}#{f.get('anchor', '')}" for f in stored))
        places: tuple[tuple[str, ...], ...] = ix.memo.get("section-places", lambda: tuple(
            _split(f.get("nations", "")) for f in stored))
        scores, matched = leaves_of(ix, "section").evaluate(q, searcher)
        out = {}
        for docnum in np.flatnonzero(matched).tolist():
            # A section about other nations than the one asked about answers for somewhere else.
            factor = elsewhere if place and places[docnum] and place not in places[docnum] else 1.0
            out[ids[docnum]] = float(scores[docnum]) * factor
        return out


def leaves_of(ix: OpenIndex, kind: str, cap: int = 20_000) -> Leaves:
    """The kept parts of queries over one kind of document, for the opened index (`cap`: how many, when first
    made)."""
    leaves: Leaves = ix.memo.get(("leaves", kind), partial(Leaves, cap=cap))
    return leaves


def prepare(ix: OpenIndex) -> None:
    """Read what every kind of document's searches read first (its words scored, its stored fields), so that the
    first questions cost no more than later ones."""
    for kind in KINDS:
        with OnDemand(ix.indexes[kind], weighting(ix.tuning)) as searcher:
            leaves_of(ix, kind).vocabulary(searcher)
            stored_fields(ix, kind, searcher)


def searcher_for(ix: OpenIndex) -> OnDemand:
    """A section searcher opened when first asked for, to keep open over many questions (close it on leaving)."""
    return OnDemand(ix.indexes["section"], weighting(ix.tuning))


def _elsewhere(hit: Hit, place: str | None, tuning: Tuning) -> Hit:
    """A section about other nations than the one asked about scores lower: it answers for somewhere else."""
    if place and hit.type == "section" and hit.nations and place not in hit.nations:
        return replace(hit, score=hit.score * tuning.elsewhere_factor)
    return hit


def _current_first(ix: OpenIndex, kind: str, stored: Sequence[dict[str, Any]], docs: np.ndarray) -> np.ndarray:
    """Documents in order, with history (law no longer to apply, replaced documents) after what is current, so
    that every page of results agrees with the whole list."""
    if kind == "section":
        return docs
    past = [_past(ix, kind, str(stored[d].get("anchor", ""))) for d in docs.tolist()]
    return docs[np.argsort(past, kind="stable")]


def _is_history(ix: OpenIndex, hit: Hit) -> bool:
    """True for a law item that is no longer the law to apply, and for a document that another replaced."""
    return _past(ix, hit.type, hit.anchor)


def _past(ix: OpenIndex, kind: str, anchor: str) -> bool:
    """_is_history for a document of a kind, by its id (its stored anchor)."""
    if kind == "reference":
        ref = ix.content.reference(anchor)
        return ref is not None and bool(ref.replaced_by)
    item = ix.content.law(anchor) if kind == "legislation" else None
    return item is not None and not item.current


def _as_history(ix: OpenIndex, hit: Hit) -> Hit:
    """Law that is no longer the law to apply, or a replaced document, scores lower, so it never outranks today's
    law, the current document or the guidance."""
    return replace(hit, score=hit.score * ix.tuning.history_factor) if _is_history(ix, hit) else hit


def _allowed(ix: OpenIndex, searcher: OnDemand, nation: str | None, topic: str | None, kind: str) -> np.ndarray:
    """Which documents of one kind a nation and topic allow, worked out once per opened index (at most a few
    hundred small masks: nations x topics x kinds)."""
    def mask() -> np.ndarray:
        open_searcher = searcher()
        out = np.ones(open_searcher.doc_count_all(), dtype=bool)
        flt = _filters(nation, topic, kind)
        if flt is not None:
            out[:] = False
            out[sorted(open_searcher.docs_for_query(flt))] = True
        return out

    allowed: np.ndarray = ix.memo.get(("allowed-mask", nation or "", topic or "", kind), mask)
    return allowed


def _hit(fields: dict[str, Any], score: float, tuning: Tuning) -> Hit:
    """A Hit from a document's stored fields and its score, with the lead of its body as the snippet."""
    return Hit(
        type=fields["type"],
        id=fields["id"],
        title=fields.get("title", ""),
        heading=fields.get("heading", ""),
        url=fields.get("url", ""),
        snippet=html.escape(lead(fields.get("body", ""), tuning.lead_chars), quote=True),
        score=score,
        source=Provenance(
            document=fields.get("source_document", ""),
            section=fields.get("source_section", ""),
            url=fields.get("source_url", "") if not fields.get("source_section") else "",
        ),
        nations=_split(fields.get("nations", "")),
        topics=_split(fields.get("topics", "")),
        slug=fields.get("slug", ""),
        anchor=fields.get("anchor", ""),
    )


def stored_fields(ix: OpenIndex, kind: str, searcher: OnDemand) -> tuple[dict[str, Any], ...]:
    """Every document's stored fields of one kind, by document number (the indexes are small: read once per opened
    index)."""
    def read() -> tuple[dict[str, Any], ...]:
        opened = searcher()
        return tuple(opened.stored_fields(n) for n in range(opened.doc_count_all()))

    stored: tuple[dict[str, Any], ...] = ix.memo.get(("stored", kind), read)
    return stored


def _split(value: str) -> tuple[str, ...]:
    """A stored comma-separated list."""
    return tuple(v for v in value.split(",") if v)
