"""The words of an emergency: a logistic model over a question's word unigrams and bigrams (as typed and as
corrected), fitted on the bank's train fold, whose score is one input of the urgency model. Pure numpy, sparse."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb.classify import folds

_WORD = re.compile(r"[a-z0-9£]+(?:'[a-z]+)?")


def ngrams(*texts: str) -> frozenset[str]:
    """The lower-cased words and word pairs of the texts (typed and corrected read as one bag)."""
    out: set[str] = set()
    for text in texts:
        found = _WORD.findall(text.lower().replace("\u2019", "'"))
        out.update(found)
        out.update(f"{a} {b}" for a, b in zip(found, found[1:], strict=False))
    return frozenset(out)


@dataclass(frozen=True)
class TextModel:
    """Weights of the n-grams seen at least twice in training; unseen ones weigh nothing and do not count."""

    weights: Mapping[str, float] = field(default_factory=dict)
    bias: float = 0.0

    def score(self, grams: Iterable[str]) -> float:
        """The model's log-odds that the question is an emergency."""
        # Only the n-grams the model knows count towards the length: a misspelt word read as typed beside its
        # correction (never seen in training) does not dilute the rest.
        known = [self.weights[g] for g in grams if g in self.weights]
        return self.bias + sum(known) / math.sqrt(max(len(known), 1))

    def as_dict(self) -> dict[str, Any]:
        """A JSON form, stored with the index (weights rounded: the file stays small)."""
        return {"weights": {g: round(w, 4) for g, w in self.weights.items()}, "bias": self.bias}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextModel:
        """The stored model (an empty one, which scores every question the same, when absent)."""
        return cls(dict(data.get("weights", {})), float(data.get("bias", 0.0))) if data else cls()


@dataclass(frozen=True)
class Coded:
    """Bags of n-grams as numbers, coded once for many fits: the grams in sorted order, and every entry's gram
    code and bag number (each bag's entries in its own order)."""

    names: tuple[str, ...]
    codes: np.ndarray
    bags: np.ndarray

    @classmethod
    def of(cls, bags: Sequence[frozenset[str]]) -> Coded:
        """The bags, coded."""
        names = tuple(sorted(set().union(*bags)))
        index = {g: i for i, g in enumerate(names)}
        codes = np.fromiter((index[g] for bag in bags for g in bag), dtype=np.int64, count=sum(map(len, bags)))
        return cls(names, codes, np.repeat(np.arange(len(bags), dtype=np.int64), [len(b) for b in bags]))


def fit_text(bags: Sequence[frozenset[str]], y: np.ndarray, l2: float = 1.0, positive: float = 2.0,
             steps: int = 400) -> TextModel:
    """L2-regularised logistic regression by Adam on a sparse design (n-grams of at least two questions);
    emergencies weigh `positive` times a calm question. Deterministic: full batches, no randomness."""
    return _fit_coded(Coded.of(bags), np.ones(len(bags), dtype=bool), y, l2, positive, steps)


def _fit_coded(coded: Coded, kept: np.ndarray, y: np.ndarray, l2: float = 1.0, positive: float = 2.0,
               steps: int = 400) -> TextModel:
    """fit_text on the kept bags of coded ones (y: the kept bags' labels)."""
    entries = kept[coded.bags]
    codes = coded.codes[entries]
    known = np.bincount(codes, minlength=len(coded.names)) >= 2
    column = np.cumsum(known) - 1  # a known gram's column: the grams' sorted order, as the names are
    inside = known[codes]
    rows = (np.cumsum(kept) - 1)[coded.bags[entries][inside]]
    cols = column[codes[inside]]
    # Each word counts 1/sqrt(length): a long message about something else is not calm by its many words alone.
    scale = 1.0 / np.sqrt(np.maximum(np.bincount(rows, minlength=len(y)), 1))
    w = _adam(rows, cols, scale, y, np.where(y > 0, positive, 1.0), int(known.sum()), l2, steps)
    names = [g for g, k in zip(coded.names, known.tolist(), strict=True) if k]
    return TextModel(dict(zip(names, (float(v) for v in w[:-1]), strict=True)), float(w[-1]))


def _adam(rows: np.ndarray, cols: np.ndarray, scale: np.ndarray, y: np.ndarray, weight: np.ndarray, d: int,
          l2: float, steps: int, rate: float = 0.05) -> np.ndarray:
    """Weights then bias of the weighted, penalised logistic loss (mean over questions) minimised by Adam (rows and
    cols: the design's entries, each row's contiguous and in row order; scale: each row's value, which all its
    entries share)."""
    n = len(y)
    w = np.zeros(d + 1)
    m = np.zeros(d + 1)
    v = np.zeros(d + 1)
    grad = np.zeros(d + 1)
    # Each row's entries are contiguous and share one value: a row's sum is its entries' weights summed by segment,
    # then scaled once, and each entry's share of the gradient is its row's, repeated (the build's costliest loop).
    starts = np.flatnonzero(np.diff(rows, prepend=-1)) if len(rows) else np.zeros(0, dtype=np.int64)
    owners = rows[starts]
    lengths = np.diff(np.append(starts, len(rows)))
    for t in range(1, steps + 1):
        z = np.full(n, w[-1])
        if len(starts):
            z[owners] += np.add.reduceat(w.take(cols), starts) * scale[owners]
        g = weight * (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))) - y)
        grad[:-1] = np.bincount(cols, weights=np.repeat((g * scale)[owners], lengths), minlength=d)
        grad[:-1] += l2 * w[:-1]
        grad[-1] = g.sum()
        grad /= n
        m *= 0.9
        m += 0.1 * grad
        v *= 0.999
        v += 0.001 * grad * grad
        w -= rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def cross_scores(bags: Sequence[frozenset[str]], y: np.ndarray, groups: Sequence[str], l2: float = 1.0,
                 k: int = 0) -> np.ndarray:
    """Each question's text score from a model fitted without its writer: the scores of an unseen writer. With k,
    writers are dealt into k folds and each fold is scored by a model fitted without it (k fits, not one a writer)."""
    out = np.zeros(len(bags))
    names = list(groups)
    fold = folds(names, k) if k else np.unique(np.array(names, dtype=str), return_inverse=True)[1]
    coded = Coded.of(bags)  # once for every fold's fit
    for f in np.unique(fold):
        left = fold == f
        model = _fit_coded(coded, ~left, y[~left], l2=l2)
        out[left] = [model.score(b) for b, out_of_fold in zip(bags, left, strict=True) if out_of_fold]
    return out
