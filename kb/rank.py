"""Learned ranking: a memory of labelled questions (the bank's train fold and each section's `asks`), features
per (question, section), and logistic models fitted at build time. Pure numpy: no index, no I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The features of one (question, section) pair, in the order the model's weights follow.
FEATURES = (
    "bm25",        # the section's BM25F score over the best section's
    "bm25_rank",   # 1 / its rank in BM25F order (0 when it did not match)
    "knn_vote",    # share of the nearest labelled questions that the section's source section answers
    "knn_max",     # cosine of the nearest labelled question its source section answers
    "centroid",    # cosine to the mean of the questions its source section answers
    "asks_max",    # cosine of the nearest of the section's own `asks`
    "heading",     # share of the heading's words in the question
    "place",       # +1 about the nation asked about, -1 about another one, 0 everywhere
    "unplaced",    # 1 for a section about some nations only when the question names none
    "intent",      # the question's intent names the section's source section
    "prior",       # how often the source section answers bank questions (log share)
    "classifier",  # the text classifier's probability of the source section (kb/classify.py)
    "classifier_log",  # its log: the ranking is linear, and the classifier's evidence adds up in logits
)
# The features that tell apart sections restating the same source section (the others are the same for them).
WITHIN_FEATURES = ("bm25", "asks_max", "heading", "place", "unplaced")
WITHIN_COLUMNS = [FEATURES.index(f) for f in WITHIN_FEATURES]
# Question-level features for deciding whether the guidance answers at all.
SCOPE_FEATURES = ("elsewhere", "top", "margin", "knn_out", "nearest", "core", "coverage", "unknown", "known",
                  "subject", "classifier_out", "classifier_top", "adults")
NEIGHBOURS = 10
# The calm cue family (content/urgency.yaml) that finds questions about adults only: evidence for scope too, since
# the guidance is about children.
ADULTS = "adults_only"
NO_SOURCE = "\0"  # a key no label has


@dataclass(frozen=True)
class Labelled:
    """One remembered question: its terms, the source sections that answer it (empty: out of scope), where it
    came from (a bank writer, or `asks` of a section), the article section it belongs to when it is an ask, and
    whether a child was in danger right now."""

    terms: Mapping[str, float]
    labels: tuple[str, ...]
    group: str
    section: str = ""
    urgent: bool = False


# Two yes/no questions the memory's word counts answer by naive Bayes: is a question in the guidance's subject,
# and is a child in danger right now. Each maps a remembered bank question to its class (None: not counted).
SPLITS: dict[str, Callable[[Labelled], bool | None]] = {
    "scope": lambda item: None if item.section else bool(item.labels),
    "urgent": lambda item: None if item.section else item.urgent,
}


@dataclass(frozen=True)
class Counts:
    """Word counts of the two classes of one split, overall and per group (to leave a writer out)."""

    total: tuple[Mapping[str, float], Mapping[str, float]]
    sizes: tuple[int, int]
    groups: Mapping[str, tuple[Mapping[str, float], Mapping[str, float], int, int]]

    @classmethod
    def of(cls, items: Sequence[Labelled], classify: Callable[[Labelled], bool | None]) -> Counts:
        """Count every remembered question's words under its class."""
        total: tuple[dict[str, float], dict[str, float]] = ({}, {})
        sizes = [0, 0]
        words: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        numbers: dict[str, list[int]] = {}
        for item in items:
            cls_ = classify(item)
            if cls_ is None:
                continue
            k = int(cls_)
            sizes[k] += 1
            numbers.setdefault(item.group, [0, 0])[k] += 1
            own = words.setdefault(item.group, ({}, {}))[k]
            for term in item.terms:
                total[k][term] = total[k].get(term, 0.0) + 1.0
                own[term] = own.get(term, 0.0) + 1.0
        return cls(total, (sizes[0], sizes[1]),
                   {g: (a, b, numbers[g][0], numbers[g][1]) for g, (a, b) in words.items()})

    def log_odds(self, terms: Iterable[str], exclude: str = "") -> float:
        """Naive Bayes log-odds of the 'yes' class for these words (a group's own counts left out)."""
        no, yes = self.total
        n_no, n_yes = self.sizes
        left = self.groups.get(exclude) if exclude else None
        if left is not None:
            n_no, n_yes = n_no - left[2], n_yes - left[3]
        if n_no <= 0 or n_yes <= 0:
            return 0.0
        out = 0.0
        for term in terms:
            c_no, c_yes = no.get(term, 0.0), yes.get(term, 0.0)
            if left is not None:
                c_no, c_yes = c_no - left[0].get(term, 0.0), c_yes - left[1].get(term, 0.0)
            if c_no or c_yes:
                out += math.log((c_yes + 0.5) / (n_yes + 1.0)) - math.log((c_no + 0.5) / (n_no + 1.0))
        return out


@dataclass(frozen=True)
class Table:
    """The memory's labels as arrays, so that neighbour votes are a few matrix products, not Python loops."""

    labels: tuple[str, ...]
    votes: np.ndarray      # items x labels: 1 for an item's first label, 0.5 for the others
    sections: tuple[str, ...]
    asks: np.ndarray       # items x sections: 1 where the item is an ask of the section
    urgent: np.ndarray     # 1 for a remembered emergency
    bank: np.ndarray       # 1 for a bank question (not an ask)
    ask_rows: np.ndarray   # the items that are asks
    # Each label's items as one run of row numbers (label_rows[label_starts[i]:][:label_counts[i]]), so that
    # per-label maxima and sums cost one pass over the items, not a pass over items x labels.
    label_rows: np.ndarray
    label_starts: np.ndarray
    label_counts: np.ndarray
    group_codes: np.ndarray  # each item's group, as a number
    group_code: Mapping[str, int]  # the number of each group

    @classmethod
    def of(cls, items: Sequence[Labelled]) -> Table:
        """Arrays for the labels, sections and groups of items."""
        labels = tuple(dict.fromkeys(label for item in items for label in (item.labels or ("",))))
        sections = tuple(dict.fromkeys(item.section for item in items if item.section))
        column = {label: i for i, label in enumerate(labels)}
        where = {section: i for i, section in enumerate(sections)}
        votes = np.zeros((len(items), len(labels)))
        asks = np.zeros((len(items), len(sections)))
        for i, item in enumerate(items):
            for j, label in enumerate(item.labels or ("",)):
                votes[i, column[label]] = 1.0 if j == 0 else 0.5
            if item.section:
                asks[i, where[item.section]] = 1.0
        runs = [np.flatnonzero(votes[:, j]) for j in range(len(labels))]
        counts = np.array([len(r) for r in runs], dtype=np.int64)
        code = {group: i for i, group in enumerate(dict.fromkeys(item.group for item in items))}
        return cls(labels=labels, votes=votes, sections=sections, asks=asks,
                   urgent=np.array([float(item.urgent) for item in items]),
                   bank=np.array([0.0 if item.section else 1.0 for item in items]),
                   ask_rows=np.array([i for i, item in enumerate(items) if item.section], dtype=np.int64),
                   label_rows=np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64),
                   label_starts=np.cumsum(counts) - counts,
                   label_counts=counts,
                   group_codes=np.array([code[item.group] for item in items], dtype=np.int64), group_code=code)

    def group_mask(self, exclude: str) -> np.ndarray | None:
        """True for the items outside the group (None when no item is in it)."""
        found = self.group_code.get(exclude) if exclude else None
        return self.group_codes != found if found is not None else None


@dataclass(frozen=True)
class Memory:
    """Labelled questions as L2-normalised TF-IDF vectors in postings form, for fast cosine nearest neighbours,
    and their word counts for naive Bayes."""

    items: tuple[Labelled, ...]
    idf: Mapping[str, float]
    postings: Mapping[str, tuple[np.ndarray, np.ndarray]]
    counts: Mapping[str, Counts] = field(default_factory=dict)
    table: Table | None = None

    @classmethod
    def of(cls, items: Sequence[Labelled]) -> Memory:
        """Index labelled questions."""
        df: dict[str, int] = {}
        for item in items:
            for term in item.terms:
                df[term] = df.get(term, 0) + 1
        n = len(items)
        idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
        lists: dict[str, tuple[list[int], list[float]]] = {}
        for i, item in enumerate(items):
            vec = _weigh(item.terms, idf)
            for term, weight in vec.items():
                docs, weights = lists.setdefault(term, ([], []))
                docs.append(i)
                weights.append(weight)
        postings = {t: (np.array(d, dtype=np.int32), np.array(w)) for t, (d, w) in lists.items()}
        return cls(tuple(items), idf, postings, {name: Counts.of(items, rule) for name, rule in SPLITS.items()},
                   Table.of(items))

    def log_odds(self, split: str, terms: Iterable[str], exclude: str = "") -> float:
        """Naive Bayes log-odds for one split ('scope' or 'urgent')."""
        counts = self.counts.get(split)
        return counts.log_odds(terms, exclude) if counts else 0.0

    def cosines(self, terms: Mapping[str, float]) -> np.ndarray:
        """Cosine similarity of a question to every remembered question."""
        scores = np.zeros(len(self.items))
        for term, weight in _weigh(terms, self.idf).items():
            found = self.postings.get(term)
            if found is not None:
                scores[found[0]] += weight * found[1]
        return scores


def _weigh(terms: Mapping[str, float], idf: Mapping[str, float]) -> dict[str, float]:
    """TF-IDF weights, L2-normalised; terms the memory never saw are dropped."""
    vec = {t: w * idf[t] for t, w in terms.items() if t in idf}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


@dataclass(frozen=True)
class Candidate:
    """What retrieval knows of one section for one question."""

    id: str
    source: str
    heading_stems: frozenset[str]
    places: tuple[str, ...] = ()
    bm25: float = 0.0
    rank: int = 0


@dataclass(frozen=True)
class Question:
    """What ranking needs of a question."""

    terms: Mapping[str, float]
    stems: frozenset[str]
    place: str | None = None
    intents: frozenset[str] = frozenset()  # source sections the question's intents point to
    core: bool = False
    coverage: float = 0.0
    unknown: float = 0.0
    classes: Mapping[str, float] = field(default_factory=dict)  # the classifier's probabilities ("" out of scope)
    cues: frozenset[str] = frozenset()  # the cue families it matches (content/urgency.yaml)
    elsewhere: bool = False  # it names a concern or place the guidance does not cover (content/scope.yaml)


@dataclass(frozen=True)
class Model:
    """Logistic weights for ranking and for scope, with the priors they were fitted with."""

    weights: tuple[float, ...] = (3.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0)
    bias: float = -2.0
    scope_weights: tuple[float, ...] = (0.0,) * len(SCOPE_FEATURES)
    scope_bias: float = 5.0
    threshold: float = 0.5
    priors: Mapping[str, float] = field(default_factory=dict)
    # Which of the sections restating one source section answers best: weights of WITHIN_FEATURES, fitted on the
    # sections' asks (the bank's labels name source sections only, so the ranking cannot learn this).
    within: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, -1.0)

    def as_dict(self) -> dict[str, Any]:
        """A JSON form, stored with the index."""
        return {"weights": list(self.weights), "bias": self.bias, "scope_weights": list(self.scope_weights),
                "scope_bias": self.scope_bias, "threshold": self.threshold, "priors": dict(self.priors),
                "within": list(self.within), "features": list(FEATURES), "scope_features": list(SCOPE_FEATURES)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        """The model stored with an index; a model fitted for other features is not used."""
        if list(data.get("features", [])) != list(FEATURES) or list(data.get("scope_features", [])) != list(
                SCOPE_FEATURES):
            return cls()
        return cls(tuple(data["weights"]), float(data["bias"]), tuple(data["scope_weights"]),
                   float(data["scope_bias"]), float(data["threshold"]), dict(data["priors"]),
                   tuple(data.get("within", cls.within)))

    def within_scores(self, rows: np.ndarray) -> np.ndarray:
        """How well each section answers beside the other sections of its source section (rows of FEATURES)."""
        if len(self.within) != len(WITHIN_COLUMNS) or not len(rows):
            return np.zeros(len(rows))
        return np.asarray(rows[:, WITHIN_COLUMNS] @ np.array(self.within))


Neighbours = tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, float]]


def features(question: Question, candidates: Sequence[Candidate], memory: Memory | None,
             priors: Mapping[str, float], exclude: str = "", near: Neighbours | None = None) -> np.ndarray:
    """The feature matrix of a question's candidate sections (one row each, columns as FEATURES).

    `exclude` leaves one writer's questions out of the memory (cross-fitting: a question never finds itself).
    """
    best = max((c.bm25 for c in candidates), default=0.0) or 1.0
    vote, nearest, centroid, asks = near if near is not None else neighbours(question, memory, exclude)
    rows = []
    for c in candidates:
        # "" labels out of scope in the memory and the classifier: a section that restates no source section
        # (law from other documents) has no votes of its own, not those of out-of-scope questions.
        own = c.source or NO_SOURCE
        heading = len(c.heading_stems & question.stems) / len(c.heading_stems) if c.heading_stems else 0.0
        place = 0.0
        if question.place and c.places:
            place = 1.0 if question.place in c.places else -1.0
        rows.append((
            c.bm25 / best,
            1.0 / c.rank if c.rank else 0.0,
            vote.get(own, 0.0),
            nearest.get(own, 0.0),
            centroid.get(own, 0.0),
            asks.get(c.id, 0.0),
            heading,
            place,
            1.0 if c.places and not question.place else 0.0,
            1.0 if c.source in question.intents else 0.0,
            priors.get(c.source, math.log(1e-3)),
            question.classes.get(own, 0.0),
            math.log(question.classes.get(own, 0.0) + 1e-4),
        ))
    return np.array(rows, dtype=float).reshape(len(candidates), len(FEATURES))


def nearest(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the k highest positive scores, highest first (ties in row order)."""
    # A partial sort: the bank's thousands of questions are scored for every question, and only k are kept.
    top = np.arange(len(scores))
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th highest score
        above = np.flatnonzero(scores > kth)
        top = np.concatenate([above, np.flatnonzero(scores == kth)[:k - len(above)]])
    top = top[np.lexsort((top, -scores[top]))]
    return top[scores[top] > 0]


def neighbours(question: Question, memory: Memory | None, exclude: str = "", cos: np.ndarray | None = None
               ) -> Neighbours:
    """Votes of the nearest remembered questions per source section ("" for out of scope), the nearest cosine
    per source section, the mean cosine per source section, and the nearest `asks` cosine per article section."""
    if memory is None or memory.table is None or not memory.items:
        return {}, {}, {}, {}
    table = memory.table
    cos = memory.cosines(question.terms) if cos is None else cos
    keep = table.group_mask(exclude)
    if keep is not None:
        cos = np.where(keep, cos, 0.0)
    top = nearest(cos, NEIGHBOURS)
    weight = cos[top] ** 2
    vote = (weight @ table.votes[top]) / weight.sum() if len(top) else np.zeros(len(table.labels))
    # Every label has at least one item, so no run is empty; cosines are never negative.
    found = cos[table.label_rows]
    near = np.maximum.reduceat(found, table.label_starts)
    live = np.add.reduceat(keep[table.label_rows], table.label_starts) if keep is not None else table.label_counts
    mean = np.add.reduceat(found, table.label_starts) / np.maximum(live, 1.0)
    # Only the asks' rows can be non-zero: the product over them alone is the same, at a seventh of the cost.
    rows = table.ask_rows
    asks = (table.asks[rows] * cos[rows, None]).max(axis=0) if table.sections and len(rows) else np.zeros(
        len(table.sections))
    labels = table.labels
    return ({labels[i]: float(vote[i]) for i in np.flatnonzero(vote)},
            {labels[i]: float(near[i]) for i in np.flatnonzero(near)},
            {labels[i]: float(mean[i]) for i in range(len(labels))},
            {table.sections[i]: float(asks[i]) for i in np.flatnonzero(asks)})


def scope_features(question: Question, scores: np.ndarray, rows: np.ndarray, memory: Memory | None,
                   exclude: str = "", near: Neighbours | None = None) -> np.ndarray:
    """Question-level evidence that the guidance answers it at all (columns as SCOPE_FEATURES)."""
    ordered = np.sort(scores)[::-1] if len(scores) else np.zeros(2)
    top = float(ordered[0]) if len(ordered) else 0.0
    second = float(ordered[1]) if len(ordered) > 1 else 0.0
    out_vote = 0.0
    nearest = 0.0
    if memory is not None and memory.items:
        vote, closest, _, _ = near if near is not None else neighbours(question, memory, exclude)
        out_vote = vote.get("", 0.0)
        nearest = max(closest.values(), default=0.0)
    subject = memory.log_odds("scope", question.terms, exclude) if memory is not None else 0.0
    classes = question.classes
    # Another subject named, and none of this one's core words: the guidance's words alone are not its subject.
    return np.array([float(question.elsewhere and not question.core), top, top - second, out_vote, nearest,
                     float(question.core), question.coverage, question.unknown, float(question.unknown == 0.0),
                     subject, classes.get("", 0.0), max((p for c, p in classes.items() if c), default=0.0),
                     float(ADULTS in question.cues)])


def score(model: Model, rows: np.ndarray) -> np.ndarray:
    """The model's probability that each section answers."""
    return sigmoid(rows @ np.array(model.weights) + model.bias)


def in_scope(model: Model, row: np.ndarray) -> float:
    """The model's probability that the guidance answers the question."""
    return float(sigmoid(np.array([row @ np.array(model.scope_weights) + model.scope_bias]))[0])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that it never overflows."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))))


def as_versions(places: Sequence[tuple[str, ...]], groups: Sequence[str], within: Sequence[float]) -> list[float]:
    """Without a nation, sections that say one thing for different nations are one answer in several versions:
    each takes the best within-score of its versions (same group, other nations), so the general order picks."""
    members: dict[str, list[int]] = {}
    for i, (where, group) in enumerate(zip(places, groups, strict=True)):
        if where:
            members.setdefault(group, []).append(i)
    out = list(within)
    for same in members.values():
        for i in same:
            out[i] = max([within[i]] + [within[j] for j in same if places[j] != places[i]])
    return out
