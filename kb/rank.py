"""Learned ranking: features per (question, section), over the memory of labelled questions (kb/memory.py), and
the logistic models fitted at build time. Pure numpy: no index, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb.memory import Memory, nearest

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
                  "subject", "classifier_out", "classifier_top", "adults", "length", "nearest_gap", "semantic_out",
                  "semantic_gap", "semantic_probe")
NEIGHBOURS = 10
# The calm cue family (content/urgency.yaml) that finds questions about adults only: evidence for scope too, since
# the guidance is about children.
ADULTS = "adults_only"
NO_SOURCE = "\0"  # a key no label has


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
    # The encoder's evidence: the nearest bank questions' share out of scope and gap (kb.semantic), the probe's.
    semantic: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def outside(self) -> bool:
        """It names a concern the guidance does not cover and none of the guidance's core words."""
        return self.elsewhere and not self.core


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
    # Below this probability that the guidance answers, a question that reads urgent is about something else (an
    # adult, an animal, a building): it gets the line "call 999" and is declined, not answered as a child's
    # emergency (0: never). Fitted below the least in-scope-looking emergency of the bank.
    outside: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON form, stored with the index."""
        return {"weights": list(self.weights), "bias": self.bias, "scope_weights": list(self.scope_weights),
                "scope_bias": self.scope_bias, "threshold": self.threshold, "priors": dict(self.priors),
                "within": list(self.within), "outside": self.outside, "features": list(FEATURES),
                "scope_features": list(SCOPE_FEATURES)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        """The model stored with an index; a model fitted for other features is not used."""
        if list(data.get("features", [])) != list(FEATURES) or list(data.get("scope_features", [])) != list(
                SCOPE_FEATURES):
            return cls()
        return cls(tuple(data["weights"]), float(data["bias"]), tuple(data["scope_weights"]),
                   float(data["scope_bias"]), float(data["threshold"]), dict(data["priors"]),
                   tuple(data.get("within", cls.within)), float(data.get("outside", 0.0)))

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
    out_vote = nearest = gap = 0.0
    if memory is not None and memory.items:
        vote, closest, _, _ = near if near is not None else neighbours(question, memory, exclude)
        out_vote = vote.get("", 0.0)
        nearest = max(closest.values(), default=0.0)
        # How much nearer the closest question the guidance answers is than the closest one it does not (train
        # writer-fold CV: out-of-scope abstention 0.928 -> 0.930, false abstention 0.020 both).
        gap = max((v for k, v in closest.items() if k), default=0.0) - closest.get("", 0.0)
    subject = memory.log_odds("scope", question.terms, exclude) if memory is not None else 0.0
    classes = question.classes
    # Another subject named, and none of this one's core words: the guidance's words alone are not its subject.
    # The question's length (its distinct words, log): a long message's scores and shares read differently from a
    # search of three words (train writer-fold CV: out-of-scope abstention 0.922 -> 0.926, false abstention 0.020
    # -> 0.021).
    return np.array([float(question.elsewhere and not question.core), top, top - second, out_vote, nearest,
                     float(question.core), question.coverage, question.unknown, float(question.unknown == 0.0),
                     subject, classes.get("", 0.0), max((p for c, p in classes.items() if c), default=0.0),
                     float(ADULTS in question.cues), math.log1p(len(question.terms)), gap, *question.semantic])


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
