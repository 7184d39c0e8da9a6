"""Fitting the ranking and scope models on labelled examples at build time: L2-regularised logistic regression,
each writer's features taken from a memory without them. Pure numpy: no index, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kb.memory import Memory
from kb.rank import (
    Candidate,
    Model,
    Neighbours,
    Question,
    features,
    in_scope,
    scope_features,
    score,
    sigmoid,
)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, weight: np.ndarray | None = None,
                 steps: int = 50, start: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method: deterministic, exact, and small enough here (start:
    weights and bias to start from, such as a fit on most of the same rows: the same optimum, in fewer steps)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1) if start is None else np.append(start[0], start[1]).astype(float)
    sample = np.ones(n) if weight is None else weight
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = sigmoid(design @ w)
        grad = design.T @ (sample * (p - y)) + penalty * w
        hess = (design * (sample * p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass(frozen=True)
class Example:
    """One training question, with what retrieval found for it."""

    question: Question
    candidates: tuple[Candidate, ...]
    labels: tuple[str, ...]
    group: str
    urgent: bool = False  # labelled an emergency


def priors_of(examples: Iterable[Example]) -> dict[str, float]:
    """Log share of the bank's in-scope questions each source section answers first (smoothed)."""
    counts: dict[str, float] = {}
    total = 0.0
    for ex in examples:
        if ex.labels:
            counts[ex.labels[0]] = counts.get(ex.labels[0], 0.0) + 1.0
            total += 1.0
    return {k: math.log((v + 1.0) / (total + len(counts))) for k, v in counts.items()}


def fit(examples: Sequence[Example], memory: Memory, near: Sequence[Neighbours], l2: float = 1.0,
        max_false_abstention: float = 0.03, outside_share: float = 0.0) -> Model:
    """Fit ranking and scope on labelled examples; each writer's features come from a memory without them (near:
    each example's neighbours in it, its writer left out, as kb.rank.neighbours finds them)."""
    priors = priors_of(examples)
    # Each example's rows are worked out once, for the ranking and then for scope (the costliest part of fitting).
    every = [features(ex.question, ex.candidates, memory, priors, exclude=ex.group, near=n)
             for ex, n in zip(examples, near, strict=True)]
    xs, ys, ws = [], [], []
    for ex, rows in zip(examples, every, strict=True):
        if not ex.labels or not ex.candidates:
            continue
        labels = np.array([1.0 if c.source in ex.labels else 0.0 for c in ex.candidates])
        if not labels.any():
            continue
        positives = labels.sum()
        # Each question counts once: its positives share one unit of weight, its negatives another.
        xs.append(rows)
        ys.append(labels)
        ws.append(np.where(labels > 0, 1.0 / positives, 1.0 / max(len(labels) - positives, 1.0)))
    weights, bias = fit_logistic(np.vstack(xs), np.concatenate(ys), l2=l2, weight=np.concatenate(ws))
    ranking = Model(tuple(float(w) for w in weights), bias, priors=priors)
    return _fit_scope(examples, every, near, memory, ranking, l2, max_false_abstention, outside_share)


def _fit_scope(examples: Sequence[Example], every: Sequence[np.ndarray], near: Sequence[Neighbours],
               memory: Memory, ranking: Model, l2: float, max_false_abstention: float, outside_share: float) -> Model:
    """Fit the in-scope model, then pick the lowest threshold that keeps false abstention within bounds, and the
    probability below which a question that reads urgent is about something else (Model.outside)."""
    rows, ys = [], []
    for ex, section_rows, n in zip(examples, every, near, strict=True):
        scores = score(ranking, section_rows) if len(ex.candidates) else np.zeros(0)
        rows.append(scope_features(ex.question, scores, section_rows, memory, exclude=ex.group, near=n))
        ys.append(1.0 if ex.labels else 0.0)
    x, y = np.vstack(rows), np.array(ys)
    weights, bias = fit_logistic(x, y, l2=l2)
    model = Model(ranking.weights, ranking.bias, tuple(float(w) for w in weights), bias, 0.5, ranking.priors)
    probs = np.array([in_scope(model, r) for r in x])
    inside = np.sort(probs[y > 0])
    # Decline only below the score of the few least confident in-scope questions (false abstention <= bound).
    cut = int(math.floor(max_false_abstention * len(inside)))
    threshold = float(inside[cut]) if len(inside) else 0.5
    # Safety first: only far below every emergency of the bank (a share of the least in-scope-looking one's score).
    emergencies = probs[[ex.urgent for ex in examples]]
    outside = outside_share * float(emergencies.min()) if len(emergencies) else 0.0
    return Model(model.weights, model.bias, model.scope_weights, model.scope_bias, threshold, model.priors,
                 outside=outside)


def fit_within(examples: Sequence[tuple[np.ndarray, int]], l2: float = 1.0) -> tuple[float, ...]:
    """Weights of WITHIN_FEATURES by pairwise logistic regression: each example holds the rows of the sections
    restating one source section and which of them answers (a section's ask, its own cosine left out)."""
    diffs = [rows[own] - rows[j] for rows, own in examples for j in range(len(rows)) if j != own]
    if not diffs:
        return Model.within
    x = np.vstack(diffs)
    weights, _ = fit_logistic(np.vstack([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))], l2=l2)
    return tuple(float(w) for w in weights)
