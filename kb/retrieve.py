"""Retrieve from the index (BM25F): user text becomes a query built in code (never parsed as syntax), expanded with
the glossary's everyday words, spelling-corrected from the index's own vocabulary, and highlighted."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from whoosh import query as Q
from whoosh import scoring

from kb.budget import BUDGET
from kb.index import KINDS, OpenIndex, analyzer, plain_analyzer
from kb.model import GlossaryEntry, Provenance

MAX_QUERY_CHARS = 500
TYPES = ("section", "legislation", "reference", "glossary", "all")
# Field weights and BM25F parameters chosen by measurement (bench/search_quality.py on the dev set and on
# bench/questions.jsonl together, a coordinate search over each).
FIELD_BOOSTS = {"heading": 1.6, "title": 1.5, "body": 1.0, "keywords": 3.5}
EXPANSION_WEIGHT = 0.1
IDIOM_WEIGHT = 0.6
PHRASE_BOOST = 1.5
TIEBREAK = 0.1
MAX_MEANINGS = 2  # the glossary lists meanings best first; more cost time and, measured, no accuracy
HISTORY_FACTOR = 0.5
ELSEWHERE_FACTOR = 0.5
NATION_BOOST = 1.0
WEIGHTING = scoring.BM25F(B=0.75, K1=0.8)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


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
    return list(_stems(text)) if len(text) <= 200 else [t.text for t in _STEMMER(text)]


@lru_cache(maxsize=8192)
def _stems(text: str) -> tuple[str, ...]:
    # Glossary phrases and common words are analysed again and again: keep their stems.
    return tuple(t.text for t in _STEMMER(text))


def words(text: str) -> list[str]:
    """Lower-cased whole words."""
    return [t.text for t in _WORDS(text)]


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


def analyse(text: str, glossary: tuple[GlossaryEntry, ...] = ()) -> Analysed:
    """Split a query into ideas: glossary phrases (longest first) with their meanings, and single words."""
    text, message = normalise(text)
    query_words = words(text)[: BUDGET.words]
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
                weight = EXPANSION_WEIGHT if size == 1 else IDIOM_WEIGHT
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
            if searched > BUDGET.stems:
                break  # the query's cost is bounded: later ideas are not searched
            merged[group.stems] = group
    query_stems = tuple(dict.fromkeys(s for g in merged.values() for s in g.stems))
    return Analysed(text=text, words=tuple(query_words), stems=query_stems, groups=tuple(merged.values()),
                    message=message)


class _Or(Q.Or):  # type: ignore[misc]  # whoosh ships no types
    """An Or that unions its parts lazily: Whoosh's default for small indexes preloads a 2,048-slot array
    per clause, which costs more than the whole search here."""

    matcher_type = Q.Or.DEFAULT_MATCHER


def _match(phrase: tuple[str, ...], weight: float) -> Q.Query:
    """A stem phrase in any field: one word is a term, more must stand together (or be keywords)."""
    if len(phrase) == 1:
        return _Or([Q.Term(name, phrase[0], boost=boost * weight) for name, boost in FIELD_BOOSTS.items()])
    return _Or([
        Q.Phrase("body", list(phrase), boost=weight * FIELD_BOOSTS["body"]),
        Q.Phrase("heading", list(phrase), boost=weight * FIELD_BOOSTS["heading"]),
        Q.Phrase("keywords", list(phrase), boost=weight * FIELD_BOOSTS["keywords"]),
    ])


def build_query(analysed: Analysed, place: str | None = None) -> Q.Query | None:
    """A Whoosh query made in code from analysed words: no user text is ever parsed as syntax.

    Each idea counts once: the user's own words, plus the single best-matching glossary meaning for them (a
    disjunction-max), so a word with many meanings cannot outweigh the rest of the question.
    """
    clauses: list[Q.Query] = []
    meanings = BUDGET.meanings
    for group in analysed.groups:
        own = _Or([_match((s,), 1.0) for s in group.stems]) if group.stems else None
        used = group.meanings[: min(MAX_MEANINGS, meanings)]
        meanings -= len(used)
        alternatives = [_match(m, group.weight) for m in used]
        best = (alternatives[0] if len(alternatives) == 1
                else Q.DisjunctionMax(alternatives, tiebreak=TIEBREAK) if alternatives else None)
        parts = [q for q in (own, best) if q is not None]
        if parts:
            clauses.append(parts[0] if len(parts) == 1 else _Or(parts))
    ordered = stems(analysed.text)
    pairs = [(first, second) for first, second in zip(ordered, ordered[1:], strict=False) if first != second]
    for first, second in pairs[: BUDGET.pairs]:
        clauses.append(Q.Phrase("body", [first, second], boost=PHRASE_BOOST))
        # Names of acts and provisions stand in titles ("Criminal Justice Act 1988, section 160").
        clauses.append(Q.Phrase("title", [first, second], boost=PHRASE_BOOST))
    if not clauses:
        return None
    query = _Or(clauses)
    # The nation only lifts what the question already matches: it never makes a match by itself.
    return Q.AndMaybe(query, Q.Term("place", place, boost=NATION_BOOST)) if place else query


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


@dataclass(frozen=True)
class Vocabulary:
    """The index's own words with their frequencies, grouped by first letter, for spelling suggestions."""

    frequency: dict[str, int]
    by_initial: dict[str, tuple[str, ...]]
    glossary: frozenset[str]


def vocabulary(ix: OpenIndex) -> Vocabulary:
    """The vocabulary of an opened index (read from its lexicon once per opened index)."""
    return ix.memo.get("vocabulary", lambda: _read_vocabulary(ix))  # type: ignore[no-any-return]


def _read_vocabulary(ix: OpenIndex) -> Vocabulary:
    """Every word of every kind of document, with its frequency."""
    frequency: dict[str, int] = {}
    for kind in KINDS:
        with ix.indexes[kind].reader() as reader:
            for word, info in reader.iter_field("spell"):
                frequency[_text(word)] = frequency.get(_text(word), 0) + int(info.weight())
    by_initial: dict[str, list[str]] = {}
    for word in frequency:
        by_initial.setdefault(word[:1], []).append(word)
    glossary = frozenset(w for e in ix.content.glossary for p in (e.term, *e.also, *e.means) for w in words(p))
    return Vocabulary(frequency, {k: tuple(v) for k, v in by_initial.items()}, glossary)


def _text(term: bytes | str) -> str:
    """A lexicon term as text (Whoosh gives bytes)."""
    return term.decode("utf-8") if isinstance(term, bytes) else term


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words (pyspellchecker's list), loaded once: a real word is never "corrected" into one of
    ours ("lunch" must not become "launch", nor "scared" "shared")."""
    from spellchecker import SpellChecker  # a large list: loaded on first use, not at import

    return frozenset(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def suggest(vocab: Vocabulary, word: str) -> str | None:
    """The nearest known word (same first letter: typos rarely change it, and real words such as "kill"
    must not become others such as "will"); ties go to the more common word."""
    # One edit for most words, two only for long ones: "recipe" must not become "receive".
    limit = 1 if len(word) <= 7 else 2
    best: tuple[int, int, str] | None = None
    for candidate in vocab.by_initial.get(word[:1], ()):
        if abs(len(candidate) - len(word)) > limit or len(candidate) < 3:
            continue
        distance = edit_distance(word, candidate)
        if distance <= limit:
            key = (distance, -vocab.frequency[candidate], candidate)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def correct(ix: OpenIndex, analysed: Analysed, glossary: tuple[GlossaryEntry, ...] = ()) -> str | None:
    """The query with each word unknown to the index and glossary replaced by its nearest known word."""
    vocab = vocabulary(ix)
    changed = False
    out = []
    looked_up = 0
    for word in analysed.words:
        known = word in vocab.frequency or word in vocab.glossary or word in english_words()
        unknown = not known and len(word) >= 4 and not word.isdigit()
        # Each look-up scans the vocabulary: a query's cost is bounded, so only its first few are made.
        replacement = suggest(vocab, word) if unknown and looked_up < BUDGET.corrections else None
        looked_up += unknown
        out.append(replacement or word)
        changed = changed or replacement is not None
    return " ".join(out) if changed else None


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


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
    q = build_query(analysed, place)
    if q is None:
        return 0, (), {}
    total = 0
    found: list[tuple[Hit, str]] = []
    wanted = frozenset(analysed.stems) | frozenset(analysed.expansions)
    counts: dict[str, Counter[str]] = {"nations": Counter(), "topics": Counter()}
    for name in KINDS if kind == "all" else (kind,):
        with ix.indexes[name].searcher(weighting=WEIGHTING) as searcher:
            # The index is small: scoring every match costs less than Whoosh counting them again for a total.
            results = searcher.search(q, filter=_allowed(ix, searcher, nation, topic, name), limit=None)
            total += len(results)
            found.extend((_hit(r, None), r.get("body", "")) for r in results[:offset + limit])
            if facets:
                for fields in searcher.search(q, limit=None):
                    for facet, counter in counts.items():
                        counter.update(_split(fields.get(facet, "")))
    found = [(_elsewhere(_as_history(ix, h), place), body) for h, body in found]
    # Law that is no longer the law to apply comes after the law of today (it is listed as history).
    found.sort(key=lambda pair: (_is_history(ix, pair[0]), -pair[0].score))
    page = found[offset:offset + limit]
    marks = wanted if marked is None else marked
    ranked = tuple(replace(h, snippet=make_snippet(body, wanted, marked=marks)) if snippets else h
                   for h, body in page)
    return total, ranked, {name: dict(c.most_common()) for name, c in counts.items()} if facets else {}


def section_scores(ix: OpenIndex, analysed: Analysed, place: str | None = None) -> dict[str, float]:
    """The BM25F score of every section the query matches, by section id (slug#anchor): what ranking needs,
    without loading any stored field (the stored bodies make full hits costly)."""
    q = build_query(analysed, place)
    if q is None:
        return {}
    with ix.indexes["section"].searcher(weighting=WEIGHTING) as searcher:
        ids: tuple[str, ...] = ix.memo.get("section-ids", lambda: _section_ids(searcher))
        places: tuple[tuple[str, ...], ...] = ix.memo.get("section-places", lambda: _section_places(searcher))
        results = searcher.search(q, limit=None)
        out = {}
        for score, docnum in results.top_n:
            # A section about other nations than the one asked about answers for somewhere else.
            factor = ELSEWHERE_FACTOR if place and places[docnum] and place not in places[docnum] else 1.0
            out[ids[docnum]] = float(score) * factor
        return out


def _section_ids(searcher: Any) -> tuple[str, ...]:
    """Each section document's id (slug#anchor), by document number."""
    return tuple(f"{f.get('slug', '')}#{f.get('anchor', '')}" for f in (
        searcher.stored_fields(n) for n in range(searcher.doc_count_all())))


def _section_places(searcher: Any) -> tuple[tuple[str, ...], ...]:
    """The nations each section document applies to, by document number."""
    return tuple(_split(searcher.stored_fields(n).get("nations", "")) for n in range(searcher.doc_count_all()))


def _elsewhere(hit: Hit, place: str | None) -> Hit:
    """A section about other nations than the one asked about scores lower: it answers for somewhere else."""
    if place and hit.type == "section" and hit.nations and place not in hit.nations:
        return replace(hit, score=hit.score * ELSEWHERE_FACTOR)
    return hit


def _is_history(ix: OpenIndex, hit: Hit) -> bool:
    """True for a law item that is no longer the law to apply."""
    item = ix.content.law(hit.anchor) if hit.type == "legislation" else None
    return item is not None and not item.current


def _as_history(ix: OpenIndex, hit: Hit) -> Hit:
    """Law that is no longer the law to apply scores lower, so it never outranks today's law or the guidance."""
    return replace(hit, score=hit.score * HISTORY_FACTOR) if _is_history(ix, hit) else hit


def _allowed(ix: OpenIndex, searcher: Any, nation: str | None, topic: str | None, kind: str) -> set[int] | None:
    """The documents a nation and topic allow in one kind, computed once per opened index (at most a few
    hundred small sets: nations x topics x kinds)."""
    flt = _filters(nation, topic, kind)
    if flt is None:
        return None
    docs: frozenset[int] = ix.memo.get(("allowed", nation or "", topic or "", kind),
                                       lambda: frozenset(searcher.docs_for_query(flt)))
    return set(docs)  # Whoosh takes a plain set; a copy keeps the kept one safe


def _hit(r: Any, wanted: frozenset[str] | None) -> Hit:
    """A Hit from a Whoosh result, with its snippet (the passage that holds most of the wanted stems)."""
    body = r.get("body", "")
    snippet = make_snippet(body, wanted) if wanted is not None else html.escape(lead(body), quote=True)
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


SNIPPET_CHARS = 220
_TOKEN = re.compile(r"[^\W_]+")


def make_snippet(text: str, wanted: frozenset[str], chars: int = SNIPPET_CHARS,
                 marked: frozenset[str] | None = None) -> str:
    """HTML: the passage of text with the most words whose stems are wanted, the words whose stems are `marked`
    (by default the wanted ones) in bare <mark>, everything else escaped."""
    text = " ".join(text.split())
    marked = wanted if marked is None else marked
    stemmed = [(m.start(), m.end(), found[0]) for m in _TOKEN.finditer(text) if (found := _stems(m.group()))]
    spans = [(s, e, stem in marked) for s, e, stem in stemmed if stem in wanted or stem in marked]
    if not spans:
        return html.escape(lead(text, chars), quote=True)

    def window(i: int) -> tuple[int, int, int]:
        inside = [own for s, _, own in spans[i:] if s < spans[i][0] + chars - 40]
        return sum(inside), len(inside), -i

    # The window that starts a little before a match and holds the most marked words, then the most matches.
    best = max(range(len(spans)), key=window)
    start = max(0, spans[best][0] - 40)
    if start:
        start = text.find(" ", start) + 1 or start
    end = min(len(text), start + chars)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    out, at = [], start
    for s, e, stem in stemmed:
        if s < start or e > end or stem not in marked:
            continue
        out += [html.escape(text[at:s], quote=True), "<mark>", html.escape(text[s:e], quote=True), "</mark>"]
        at = e
    out.append(html.escape(text[at:end], quote=True))
    return ("… " if start else "") + "".join(out) + (" …" if end < len(text) else "")


def lead(text: str, chars: int = 200) -> str:
    """The start of a text, cut at a word."""
    text = " ".join(text.split())
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)
