"""A discriminative text classifier: multinomial logistic (softmax) regression from a question's words to the source
section that answers it ("" when the guidance does not), over sparse TF-IDF of stems, pairs of words and the
character 4-grams of words (which recover misspellings and word forms). Fitted at build time by minibatch Adam and
cross-fitted by groups of writers, so a training question's probabilities come from models that never saw it.
Pure numpy: no index, no I/O."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OUT = ""  # the class of a question the guidance does not answer
BLOCKS = ("s", "b", "c")  # stems, pairs of words, character n-grams: each block is normalised on its own
GRAM = 4  # the character n-grams' length: 3 to 5 measured no better on held-out, and cost twice the time


def tokens(words: Sequence[str], stems: Sequence[str], intents: Iterable[str] = ()) -> list[str]:
    """A question's features as strings: its stems, the source sections its intents name (content/intents.yaml),
    pairs of neighbouring words (stop words kept: "who tell" and "do i tell" say what a question wants) and the
    character n-grams of its words."""
    out = [f"s {s}" for s in stems] + [f"s >{i}" for i in sorted(intents)]
    out += [f"b {a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for word in words:
        padded = f"<{word}>"
        out += [f"c {padded[i:i + GRAM]}" for i in range(len(padded) - GRAM + 1)]
    return out


@dataclass(frozen=True)
class Sparse:
    """Rows of a sparse matrix in CSR form."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    columns: int

    def rows(self, chosen: Sequence[int]) -> Sparse:
        """The chosen rows, in that order."""
        picked = np.asarray(chosen, dtype=np.int64)
        starts, lengths = self.indptr[picked], self.indptr[picked + 1] - self.indptr[picked]
        ends = np.cumsum(lengths)
        # Each kept entry's place in the arrays: its row's start, plus how far into the row it is.
        entries = np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)
        return Sparse(np.concatenate([np.zeros(1, dtype=np.int64), ends]), self.indices[entries], self.data[entries],
                      self.columns)

    def dot(self, w: np.ndarray) -> np.ndarray:
        """X @ W, by cumulative sums over each row's entries (an empty row gives zeros)."""
        sums = np.vstack([np.zeros((1, w.shape[1])), np.cumsum(self.data[:, None] * w[self.indices], axis=0)])
        return np.asarray(sums[self.indptr[1:]] - sums[self.indptr[:-1]])


@dataclass(frozen=True)
class Vectoriser:
    """Feature strings to columns, with their inverse document frequencies and blocks."""

    vocabulary: Mapping[str, int]
    idf: np.ndarray
    blocks: np.ndarray  # each column's block, as its index in BLOCKS

    @classmethod
    def of(cls, docs: Sequence[Sequence[str]], min_df: int = 2) -> Vectoriser:
        """The features seen in at least min_df documents (a rarer one cannot generalise)."""
        df: dict[str, int] = {}
        for doc in docs:
            for token in set(doc):
                df[token] = df.get(token, 0) + 1
        kept = sorted(t for t, n in df.items() if n >= min_df)
        return cls.named(kept, [math.log((1 + len(docs)) / (1 + df[t])) + 1.0 for t in kept])

    @classmethod
    def named(cls, names: Sequence[str], idf: Sequence[float]) -> Vectoriser:
        """A vectoriser of these features, in this order."""
        return cls({t: i for i, t in enumerate(names)}, np.array(idf, dtype=float),
                   np.array([BLOCKS.index(t[0]) for t in names], dtype=np.int64))

    def matrix(self, docs: Sequence[Sequence[str]]) -> Sparse:
        """Sublinear TF-IDF rows, each block L2-normalised on its own (so many n-grams do not drown a few stems)."""
        indptr, indices, data = [0], [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
        for doc in docs:
            counts: dict[int, int] = {}
            for token in doc:
                column = self.vocabulary.get(token)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = np.array(sorted(counts), dtype=np.int64)
            values = np.array([1.0 + math.log(counts[c]) for c in columns.tolist()]) * self.idf[columns]
            norms = np.bincount(self.blocks[columns], weights=values * values, minlength=len(BLOCKS))
            indices.append(columns)
            data.append(values / np.sqrt(norms[self.blocks[columns]] * len(BLOCKS)) if len(columns) else values)
            indptr.append(indptr[-1] + len(columns))
        return Sparse(np.array(indptr), np.concatenate(indices), np.concatenate(data), len(self.vocabulary))


@dataclass(frozen=True)
class Classifier:
    """A fitted softmax model: its features, classes, weights (features x classes) and biases."""

    vectoriser: Vectoriser
    classes: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    def probabilities(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """Each question's probability of each class (rows as docs, columns as classes)."""
        return self.probabilities_of(self.vectoriser.matrix(docs))

    def probabilities_of(self, x: Sparse) -> np.ndarray:
        """The probabilities of rows already made by this classifier's vectoriser."""
        return softmax(x.dot(self.weights) + self.bias)

    def predict(self, doc: Sequence[str]) -> dict[str, float]:
        """One question's probability per class."""
        return dict(zip(self.classes, self.probabilities([doc])[0].tolist(), strict=True))

    def as_dict(self) -> dict[str, Any]:
        """A JSON form, stored with the index (the weights as base64 float32: a few MB of JSON numbers otherwise)."""
        return {"features": list(self.vectoriser.vocabulary), "idf": self.vectoriser.idf.tolist(),
                "classes": list(self.classes), "bias": self.bias.tolist(),
                "weights": base64.b64encode(self.weights.astype("<f4").tobytes()).decode("ascii")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classifier | None:
        """The stored classifier, or None when the index has none."""
        if not data:
            return None
        vectoriser = Vectoriser.named(list(data["features"]), list(data["idf"]))
        classes = tuple(str(c) for c in data["classes"])
        weights = np.frombuffer(base64.b64decode(data["weights"]), dtype="<f4").astype(float)
        return cls(vectoriser, classes, weights.reshape(len(vectoriser.vocabulary), len(classes)),
                   np.array(data["bias"], dtype=float))


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted so that it never overflows."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def targets(labels: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    """Soft targets: a question's first label counts twice its others (as the memory's votes do); none is OUT."""
    where = {c: i for i, c in enumerate(classes)}
    y = np.zeros((len(labels), len(classes)))
    for i, own in enumerate(labels):
        for j, label in enumerate(own or (OUT,)):
            y[i, where[label]] = 1.0 if j == 0 else 0.5
    return np.asarray(y / y.sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class Batch:
    """Some rows over only the columns they use, kept sparse by row (for X @ W) and by column (for X.T @ G), with
    their targets and weights: a dense block would be almost all zeros (a question uses few of a batch's columns)."""

    columns: np.ndarray  # X's columns the batch uses, in order: local column k is X's column columns[k]
    filled: np.ndarray  # which rows have any entry
    row_starts: np.ndarray  # where each filled row's entries start
    local: np.ndarray  # each entry's local column, in row order
    values: np.ndarray  # each entry's value, in row order
    column_starts: np.ndarray  # where each local column's entries start, in column order
    column_rows: np.ndarray  # each entry's row, in column order
    column_values: np.ndarray  # each entry's value, in column order
    y: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, x: Sparse, chosen: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Batch:
        """The chosen rows of x."""
        part = x.rows(chosen.tolist())
        columns, local = np.unique(part.indices, return_inverse=True)
        lengths = np.diff(part.indptr)
        values = part.data.astype(np.float32)
        order = np.argsort(local, kind="stable")
        rows = np.repeat(np.arange(len(lengths)), lengths)
        return cls(columns, lengths > 0, part.indptr[:-1][lengths > 0], local, values,
                   np.searchsorted(local[order], np.arange(len(columns))), rows[order], values[order],
                   y[chosen].astype(np.float32), weight[chosen].astype(np.float32))

    def times(self, used: np.ndarray) -> np.ndarray:
        """X @ W, for W the weights of the batch's columns."""
        out = np.zeros((len(self.filled), used.shape[1]), dtype=np.float32)
        if len(self.row_starts):
            out[self.filled] = np.add.reduceat(self.values[:, None] * used[self.local], self.row_starts, axis=0)
        return out

    def transposed_times(self, g: np.ndarray) -> np.ndarray:
        """X.T @ G, for G one row per row of the batch."""
        if not len(self.columns):
            return np.zeros((0, g.shape[1]), dtype=np.float32)
        return np.asarray(np.add.reduceat(self.column_values[:, None] * g[self.column_rows], self.column_starts,
                                          axis=0))


@dataclass(frozen=True)
class Fitting:
    """How the classifier is fitted: passes over the data, rows a step, step size, L2 penalty, seed."""

    epochs: int = 6
    batch: int = 128
    rate: float = 0.08
    l2: float = 1e-5
    seed: int = 0


def fit(vectoriser: Vectoriser, docs: Sequence[Sequence[str]], labels: Sequence[Sequence[str]],
        classes: tuple[str, ...], how: Fitting = Fitting(), weight: np.ndarray | None = None) -> Classifier:
    """Fit a softmax classifier of docs (token lists) to their labels (empty: OUT) by minibatch Adam on the mean
    cross-entropy plus an L2 penalty: a few passes over the data, deterministic for a seed."""
    return fit_rows(vectoriser, vectoriser.matrix(docs), labels, classes, how, weight)


def fit_rows(vectoriser: Vectoriser, x: Sparse, labels: Sequence[Sequence[str]], classes: tuple[str, ...],
             how: Fitting = Fitting(), weight: np.ndarray | None = None) -> Classifier:
    """fit, on rows the vectoriser already made (one per label)."""
    y = targets(labels, classes)
    rng = np.random.default_rng(how.seed)
    parts = np.array_split(rng.permutation(len(labels)), max(1, len(labels) // how.batch))
    rows = np.ones(len(labels)) if weight is None else weight
    batches = [Batch.of(x, part, y, rows) for part in parts]
    w = np.zeros((x.columns, len(classes)), dtype=np.float32)
    b = np.zeros(len(classes), dtype=np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    mb, vb = np.zeros_like(b), np.zeros_like(b)
    step = 0
    for _ in range(how.epochs):
        for k in rng.permutation(len(batches)).tolist():
            bt, step = batches[k], step + 1
            used = w[bt.columns]
            g = bt.weight[:, None] * (softmax(bt.times(used) + b) - bt.y) / len(bt.y)
            grad = bt.transposed_times(g) + how.l2 * used
            # Lazy Adam: only the weights of the features this batch uses move (and are shrunk).
            m[bt.columns] = 0.9 * m[bt.columns] + 0.1 * grad
            v[bt.columns] = 0.999 * v[bt.columns] + 0.001 * grad * grad
            scale = how.rate * math.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
            w[bt.columns] = used - scale * m[bt.columns] / (np.sqrt(v[bt.columns]) + 1e-8)
            mb, vb = 0.9 * mb + 0.1 * g.sum(axis=0), 0.999 * vb + 0.001 * g.sum(axis=0) ** 2
            b -= scale * mb / (np.sqrt(vb) + 1e-8)
    return Classifier(vectoriser, classes, w.astype(float), b.astype(float))


def folds(groups: Sequence[str], k: int) -> np.ndarray:
    """Each item's fold: whole groups (writers) dealt largest first to the fold with fewest items so far."""
    sizes: dict[str, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    load, fold_of = [0] * k, {}
    for group in sorted(sizes, key=lambda g: (-sizes[g], g)):
        fold = load.index(min(load))
        fold_of[group] = fold
        load[fold] += sizes[group]
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def cross_fit(docs: Sequence[Sequence[str]], labels: Sequence[Sequence[str]], groups: Sequence[str],
              always: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] = ((), ()), k: int = 4,
              how: Fitting = Fitting(), always_weight: float = 1.0) -> tuple[list[dict[str, float]], Classifier]:
    """Out-of-fold probabilities for every doc (each from a model fitted without its group's fold), and the model
    to serve: the mean of the fold models, so that serving costs no further fit. `always` (the sections' own asks)
    is in every fold's training data, never predicted."""
    everything = [*docs, *always[0]]
    vectoriser = Vectoriser.of(everything)  # the words' document frequencies only: no label is read
    classes = (OUT, *sorted({label for own in [*labels, *always[1]] for label in own} - {OUT}))
    fold = folds(groups, k) if len(set(groups)) >= k else np.arange(len(docs)) % k
    out: list[dict[str, float]] = [{} for _ in docs]
    models = []
    x = vectoriser.matrix(everything)  # each question's row made once, for every fold's fit and prediction
    asks = list(range(len(docs), len(everything)))
    for f in range(k):
        train = [i for i in range(len(docs)) if fold[i] != f]
        weight = np.concatenate([np.ones(len(train)), np.full(len(always[0]), always_weight)])
        model = fit_rows(vectoriser, x.rows(train + asks), [labels[i] for i in train] + list(always[1]), classes,
                         how, weight)
        models.append(model)
        held = [i for i in range(len(docs)) if fold[i] == f]
        for i, row in zip(held, model.probabilities_of(x.rows(held)).tolist(), strict=True):
            out[i] = dict(zip(classes, row, strict=True))
    mean = Classifier(vectoriser, classes, np.mean([m.weights for m in models], axis=0),
                      np.mean([m.bias for m in models], axis=0))
    return out, mean
