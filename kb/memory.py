"""The memory of labelled questions (the bank's train fold and each section's `asks`): TF-IDF vectors in postings
form for cosine nearest neighbours, their labels as arrays, and word counts for naive Bayes. Pure numpy."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


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
        rows, weights = [], []
        for term, weight in _weigh(terms, self.idf).items():
            found = self.postings.get(term)
            if found is not None:
                rows.append(found[0])
                weights.append(weight * found[1])
        if not rows:
            return np.zeros(len(self.items))
        # One bincount over every posting: each item's terms are summed in the same order as one add per term
        # would (the same bits), at two thirds of the time (the build works out 22,000 questions' cosines).
        return np.bincount(np.concatenate(rows), weights=np.concatenate(weights), minlength=len(self.items))


def _weigh(terms: Mapping[str, float], idf: Mapping[str, float]) -> dict[str, float]:
    """TF-IDF weights, L2-normalised; terms the memory never saw are dropped."""
    vec = {t: w * idf[t] for t, w in terms.items() if t in idf}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def nearest(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the k highest positive scores, highest first (ties in row order)."""
    # A partial sort of the positive scores alone: the bank's thousands of questions are scored for every question,
    # most of them 0, and a partition among that many equal values costs twenty times one among the rest.
    top = np.flatnonzero(scores > 0)
    if len(top) > k:
        values = scores[top]
        kth = np.partition(values, len(values) - k)[len(values) - k]  # the k-th highest score
        above = top[values > kth]
        top = np.concatenate([above, top[values == kth][:k - len(above)]])
    return top[np.lexsort((top, -scores[top]))]
