"""A small neural probe on the sentence encoder's vectors: one hidden layer of rectified units reads a question's
unit vector and gives the log-odds that the guidance answers it. Fitted at build time by minibatch Adam and
cross-fitted by groups of writers, so a training question's score comes from a probe that never saw its writer.
Pure numpy: no index, no I/O."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PROBES = ("scope", "urgent")  # what each probe of an index reads: the guidance answers it; it is an emergency


@dataclass(frozen=True)
class Training:
    """How a probe is fitted (kb.tuning holds the values a build uses and why)."""

    hidden: int = 128
    epochs: int = 30
    rate: float = 3e-3
    l2: float = 1e-2
    batch: int = 200
    seed: int = 0
    limit: float = 4.0  # the log-odds it gives are held within +-limit (see Probe)
    folds: int = 5  # cross_probe's folds of writers


@dataclass(frozen=True)
class Probe:
    """A fitted probe: the hidden layer's weights and bias, then the output unit's, and the bound of its log-odds."""

    hidden_weights: np.ndarray
    hidden_bias: np.ndarray
    out_weights: np.ndarray
    out_bias: float
    limit: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The log-odds of each row (a unit vector), within +-limit."""
        # A probe fitted this closely reads some new wordings as far outside (log-odds of -10 for a plain question
        # the guidance answers): held within the limit, its word is one among the other features', never the last.
        hidden = np.maximum(np.asarray(x, dtype=np.float32) @ self.hidden_weights + self.hidden_bias, 0.0)
        return np.asarray(np.clip(hidden @ self.out_weights + self.out_bias, -self.limit, self.limit), dtype=float)

    def as_dict(self) -> dict[str, Any]:
        """A JSON form, stored with the index (the weights as base64 float32)."""
        return {"shape": list(self.hidden_weights.shape), "hidden_weights": _packed(self.hidden_weights),
                "hidden_bias": _packed(self.hidden_bias), "out_weights": _packed(self.out_weights),
                "out_bias": self.out_bias, "limit": self.limit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Probe | None:
        """The stored probe, or None when the index has none."""
        if not data:
            return None
        rows, columns = (int(n) for n in data["shape"])
        return cls(_unpacked(data["hidden_weights"]).reshape(rows, columns), _unpacked(data["hidden_bias"]),
                   _unpacked(data["out_weights"]), float(data["out_bias"]), float(data["limit"]))


def fit(x: np.ndarray, y: np.ndarray, how: Training = Training()) -> Probe:
    """Fit a probe of rows x to labels y (1: the guidance answers) by minibatch Adam on the log loss, with an L2
    penalty on the weights of `l2` over the number of rows."""
    rng = np.random.default_rng(how.seed)
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
    n, width = x.shape
    params = [rng.normal(0.0, np.sqrt(2.0 / width), (width, how.hidden)).astype(np.float32),
              np.zeros(how.hidden, dtype=np.float32),
              rng.normal(0.0, np.sqrt(1.0 / how.hidden), how.hidden).astype(np.float32),
              np.zeros(1, dtype=np.float32)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(how.epochs):
        order = rng.permutation(n)
        for start in range(0, n, how.batch):
            chosen = order[start:start + how.batch]
            step += 1
            grads = _gradients(params, x[chosen], y[chosen], how.l2 / n)
            for p, g, m, v in zip(params, grads, first, second, strict=True):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                p -= how.rate * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    return Probe(params[0], params[1], params[2], float(params[3][0]), how.limit)


def _gradients(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, shrink: float) -> list[np.ndarray]:
    """The mean log loss's gradients for one batch, with the weights' L2 penalty (`shrink` a row)."""
    hidden = np.maximum(x @ params[0] + params[1], 0.0)
    z = hidden @ params[2] + params[3][0]
    error = (1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))) - y) / len(y)
    back = np.outer(error, params[2]) * (hidden > 0)
    return [x.T @ back + shrink * params[0], back.sum(0), hidden.T @ error + shrink * params[2],
            np.array([error.sum()], dtype=np.float32)]


def cross_probe(x: np.ndarray, y: np.ndarray, groups: Sequence[str], how: Training = Training(),
                always: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, Probe]:
    """Each row's log-odds from a probe fitted without its writers' fold (writers dealt to `how.folds` folds in
    turn, in order of first appearance), and the probe fitted on every row, which is served; `always` (rows, labels)
    are in every probe's training and scored by none."""
    folds = how.folds
    extra_x, extra_y = always if always is not None else (np.zeros((0, x.shape[1])), np.zeros(0))
    names = list(dict.fromkeys(groups))
    fold_of = {g: i % folds for i, g in enumerate(names)}
    fold = np.array([fold_of[g] for g in groups])
    out = np.zeros(len(y))
    for k in range(folds):
        held = fold == k
        if held.all() or not held.any():
            continue
        out[held] = fit(np.vstack([x[~held], extra_x]), np.r_[y[~held], extra_y], how).logit(x[held])
    probe = fit(np.vstack([x, extra_x]), np.r_[y, extra_y], how)
    if folds < 2 or len(names) < 2:
        out = probe.logit(x)
    return out, probe


def _packed(a: np.ndarray) -> str:
    return base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode("ascii")


def _unpacked(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)
