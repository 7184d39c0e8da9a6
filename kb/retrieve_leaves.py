"""Scores of queries worked out from their parts: every word of an index scored once (when first needed, or all at
once when the index is warmed), each idea of a question kept once worked out, phrases and best matches scored as
Whoosh scores them without a search."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from whoosh import query as Q


class LazyOr(Q.Or):  # type: ignore[misc]  # whoosh ships no types
    """An Or that unions its parts lazily: Whoosh's default for small indexes preloads a 2,048-slot array
    per clause, which costs more than the whole search here."""

    matcher_type = Q.Or.DEFAULT_MATCHER


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
    """Whoosh's BM25F score of each part of a query over every document of one index, kept per opened index, and the
    query's score as their sum (Whoosh's Or adds its parts' scores; an AndMaybe adds the second's where the first
    matches). Single words are kept unboosted and scaled (Whoosh boosts by multiplying), so the same word in any
    idea, and any question, is read once; phrases and best matches are worked out from their words. The same ideas
    recur across questions (the bank's thousands at build time, users' questions): a question met again costs a
    lookup per idea. At most `cap` ideas are kept (a stream of new word pairs cannot grow them without bound)."""

    def __init__(self, cap: int = 20_000) -> None:
        self._kept: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._words: dict[tuple[str, str], Posting] = {}
        self._every: int | None = None  # the number of documents, once every word of the index is read
        self._cap = cap
        self._lock = threading.Lock()

    def evaluate(self, q: Q.Query, searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
        """The query's score for every document, and which documents it matches (searcher: opens one if none is
        open)."""
        if isinstance(q, Q.AndMaybe):
            (a, hit), (b, also) = self.evaluate(q.a, searcher), self.evaluate(q.b, searcher)
            return np.where(hit & also, a + b, a), hit
        if _adds(q):
            return _added([self._clause(sub, searcher) for sub in q.subqueries])
        return self._clause(q, searcher)

    def _clause(self, q: Q.Query, searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
        """One idea of a question, or one word pair, kept whole: a question met again costs a lookup per idea."""
        key = f"{type(q).__name__}:{q!r}"
        found = self._kept.get(key)
        if found is None:
            found = self._score(q, searcher)
            with self._lock:
                if len(self._kept) < self._cap:
                    self._kept[key] = found
        return found

    def _score(self, q: Q.Query, searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
        """A part of a query scored from its words, as Whoosh would score it (anything else: by one Whoosh search)."""
        if _adds(q):
            return _added([self._score(sub, searcher) for sub in q.subqueries])
        if type(q) is Q.Term:
            scores, hits, _ = self._word(q.fieldname, q.text, searcher)
            return scores * q.boost, hits
        if type(q) is Q.Phrase and q.slop == 1 and q.words:
            return self._phrase(q, searcher)
        if type(q) is Q.DisjunctionMax and q.subqueries:
            return _as_whoosh_max([self._score(sub, searcher) for sub in q.subqueries], q.boost)
        # Anything else (no question makes one today): Whoosh scores it whole.
        return _whole(q, searcher)

    def _word(self, field: str, text: str, open_searcher: Callable[[], Any]) -> Posting:
        """A word's unboosted score in one field for every document, which documents hold it, and where: read
        when first asked for (a word the index lacks, once every word is read, costs no reading at all)."""
        found = self._words.get((field, text))
        if found is None:
            if self._every is not None:
                return _nothing(self._every)
            found = _read(open_searcher(), field, text)
            if found[1].any():  # only the index's own words are kept: a stream of typos cannot grow it
                with self._lock:
                    self._words.setdefault((field, text), found)
        return found

    def _phrase(self, q: Q.Phrase, open_searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
        """Whoosh's score of a phrase: where its words stand together in order, the sum of their scores (its
        matcher scores the intersection of its words and uses their positions only to choose documents)."""
        parts = [self._word(q.fieldname, word, open_searcher) for word in q.words]
        hits = np.all([h for _, h, _ in parts], axis=0)
        for doc in np.flatnonzero(hits).tolist():
            places = [where.get(doc, frozenset()) for _, _, where in parts]
            hits[doc] = any(all(p + k in later for k, later in enumerate(places[1:], 1)) for p in places[0])
        return np.where(hits, np.sum([s for s, _, _ in parts], axis=0) * q.boost, 0.0), hits

    def vocabulary(self, open_searcher: Callable[[], Any]) -> None:
        """Read every word of the index at once (a few thousand short postings lists), so that no question reads
        the index's files again."""
        if self._every is None:
            with self._lock:
                if self._every is None:
                    searcher = open_searcher()
                    for field, raw in searcher.reader().all_terms():
                        text = searcher.schema[field].from_bytes(raw)
                        self._words[(field, text)] = _scored(searcher, field, raw)
                    self._every = searcher.doc_count_all()


def _adds(q: Q.Query) -> bool:
    """True for an Or whose score is its matching parts' scores added (no boost of its own)."""
    return type(q) is LazyOr and q.boost == 1.0 and bool(q.subqueries)


def _added(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Parts' scores added, and the documents any of them matches."""
    return np.sum([s for s, _ in parts], axis=0), np.any([h for _, h in parts], axis=0)


def _as_whoosh_max(parts: list[tuple[np.ndarray, np.ndarray]], boost: float) -> tuple[np.ndarray, np.ndarray]:
    """A DisjunctionMax scored as Whoosh's matcher scores it: at each document any part matches, the highest score
    each matching part has at the first document it matches from there on (the matcher reads every part that has
    not run out, wherever it stands, not only those on the document)."""
    hits = np.any([h for _, h in parts], axis=0)
    docs = np.flatnonzero(hits)
    best = np.full(len(docs), -np.inf)
    for scores, matched in parts:
        own = np.flatnonzero(matched)
        if len(own):
            at = np.searchsorted(own, docs)
            live = at < len(own)
            best[live] = np.maximum(best[live], scores[own[at[live]]])
    out = np.zeros(len(hits))
    out[docs] = best * boost
    return out, hits


def _whole(q: Q.Query, open_searcher: Callable[[], Any]) -> tuple[np.ndarray, np.ndarray]:
    """One query's score for every document, and which it matches, from one Whoosh search."""
    searcher = open_searcher()
    scores = np.zeros(searcher.doc_count_all())
    hits = np.zeros(len(scores), dtype=bool)
    for score, docnum in searcher.search(q, limit=None).top_n:
        scores[docnum], hits[docnum] = score, True
    return scores, hits


Posting = tuple[np.ndarray, np.ndarray, dict[int, frozenset[int]]]  # scores, which hold it, positions by document


def _read(searcher: Any, field: str, text: str) -> Posting:
    """One word of one field, read from an open searcher (nothing when the index lacks it)."""
    size = searcher.doc_count_all()
    if field not in searcher.schema:
        return _nothing(size)
    try:
        raw = searcher.schema[field].to_bytes(text)
    except ValueError:
        return _nothing(size)
    return _scored(searcher, field, raw) if (field, raw) in searcher.reader() else _nothing(size)


def _scored(searcher: Any, field: str, raw: bytes) -> Posting:
    """A word's postings scored as Whoosh scores a Term query, with its positions where the field keeps them."""
    size = searcher.doc_count_all()
    placed = searcher.schema[field].format.supports("positions")
    values, hits, where = np.zeros(size), np.zeros(size, dtype=bool), {}
    postings = searcher.postings(field, raw)
    while postings.is_active():
        doc = postings.id()
        values[doc], hits[doc] = postings.score(), True
        if placed:
            where[doc] = frozenset(postings.value_as("positions"))
        postings.next()
    return values, hits, where


def _nothing(size: int) -> Posting:
    """A word no document holds."""
    return np.zeros(size), np.zeros(size, dtype=bool), {}
