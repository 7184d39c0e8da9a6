"""Evidence from the sentence encoder: how a question sits among the bank's questions embedded with the index (for
scope, the share of its nearest ones out of scope and how much nearer the nearest in-scope one is than the nearest
out-of-scope one; for urgency, the same of emergencies); the bank's vectors written with a build and opened with it,
and kept between builds keyed by each question's text."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from kb.encoder import ENCODER, Encoder, write_encoder
from kb.probe import PROBES, Probe, Training, cross_probe

VECTORS = "vectors.npy"  # the bank's questions then the sections' asks, embedded
ASKS = "asks"  # the asks' group (a writer of their own)
# Train writer folds, the encoder's inputs stacked on the engine's scope (as bench/semantic_cv.py): out-of-scope
# abstention 0.9456 / 0.9459 / 0.9459 with 10 / 20 / 40 neighbours, at the engine's false abstention.
NEAREST = 20
CHUNK = 1500  # rows of cosines worked out at once when the build scores the whole bank (about 140 MB)


@dataclass(frozen=True)
class Neighbourhood:
    """The bank's unit vectors, which of them are out of scope, each one's writer (as a number) and which of them are
    emergencies."""

    vectors: np.ndarray
    outside: np.ndarray
    groups: np.ndarray
    urgent: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray, outside: Sequence[bool], groups: Sequence[str],
           urgent: Sequence[bool] | None = None) -> Neighbourhood:
        """From vectors, out-of-scope flags, writer names and emergency flags (none: no emergency), in one order."""
        names = {g: i for i, g in enumerate(dict.fromkeys(groups))}
        marked = np.zeros(len(outside), dtype=bool) if urgent is None else np.array(urgent, dtype=bool)
        return cls(vectors, np.array(outside, dtype=bool), np.array([names[g] for g in groups], dtype=np.int64),
                   marked)

    def evidence(self, asked: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """For each asked unit vector, among its NEAREST bank vectors (its own writer's left out when groups are
        given): the cosine-squared-weighted share out of scope, and the nearest in-scope cosine less the nearest
        out-of-scope one."""
        return self.read(asked, groups)[:, :2]

    def read(self, asked: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """evidence's two columns, then the same of emergencies from the same cosines: the share of the nearest that
        are emergencies, and the nearest emergency's cosine less the nearest other question's (a class the bank
        lacks, or holds alone, gives zeros)."""
        out = np.zeros((len(asked), 4))
        if not len(self.vectors):
            return out
        k = min(NEAREST, len(self.vectors) - 1)
        # Scope's gap is the other question's lead (in scope less out of scope); urgency's is the marked one's.
        marks = ((self.outside, -1.0), (self.urgent, 1.0))
        for start in range(0, len(asked), CHUNK):
            part = slice(start, start + CHUNK)
            cos = asked[part] @ self.vectors.T
            if groups is not None:
                cos[groups[part, None] == self.groups[None, :]] = -1.0
            top = np.argpartition(-cos, k, axis=1)[:, :k]
            weight = np.maximum(np.take_along_axis(cos, top, 1), 0.0) ** 2
            for column, (marked, sign) in zip((0, 2), marks, strict=True):
                if not marked.any() or marked.all():
                    continue
                out[part, column] = (weight * marked[top]).sum(1) / np.maximum(weight.sum(1), 1e-9)
                out[part, column + 1] = sign * (np.where(marked, cos, -1.0).max(1)
                                                - np.where(marked, -1.0, cos).max(1))
        return out


def key(text: str) -> str:
    """A text's key in the vector store (its sha256: the store never holds question text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remembered(store: Path, texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Vectors for texts: those the store holds, the others embedded and added to it (written whole, then swapped
    in, so a reader never sees half a store; a store that cannot be read is started again)."""
    keys = [key(t) for t in texts]
    known: dict[str, np.ndarray] = {}
    try:
        with np.load(store) as saved:
            known = dict(zip((k.decode("ascii") for k in saved["keys"].tolist()), saved["vectors"], strict=True))
    except (OSError, ValueError, KeyError, UnicodeDecodeError, AttributeError):
        pass
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        first = {k: t for k, t in zip(keys, texts, strict=True)}
        for k, v in zip(missing, embed([first[k] for k in missing]), strict=True):
            known[k] = v
        store.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=store.parent, suffix=".npz")
        os.close(handle)
        names = sorted(known)
        np.savez(temp, keys=np.array([k.encode("ascii") for k in names], dtype="S64"),
                 vectors=np.array([known[k] for k in names], dtype=np.float32))
        os.replace(temp, store)
    return np.array([known[k] for k in keys], dtype=np.float32).reshape(len(keys), -1)


def embed_texts(folder: Path, texts: Sequence[str], cache: Path, threads: int) -> np.ndarray:
    """Write the encoder into a folder and embed the texts with it, those the store of earlier builds lacks (filed
    under the encoder's digest in `cache`)."""
    write_encoder(folder)
    encoder = Encoder.open(folder)
    digest = hashlib.sha256((folder / ENCODER).read_bytes()).hexdigest()[:16]
    return remembered(cache / f"vectors-{digest}.npz", texts, partial(encoder.embed_all, threads=threads))


def embed_bank(folder: Path, bank: Sequence[tuple[str, bool, str, bool]], asks: Sequence[str], cache: Path,
               threads: int) -> tuple[np.ndarray, dict[str, list[int]], np.ndarray]:
    """Write the encoder into a build, embed the bank's questions (text, out of scope, writer, emergency) and the
    sections' asks (in scope and calm: the team's own wording of what each section answers), those the store of
    earlier builds lacks, and save the vectors with it. Each bank question's evidence (Neighbourhood.read, its own
    writer's questions left out), what the index stores of the neighbourhood beside the vectors, and the vectors
    (the bank's questions, then the asks)."""
    vectors = embed_texts(folder, [t for t, _, _, _ in bank] + list(asks), cache, threads)
    np.save(folder / VECTORS, vectors)
    calm = [False] * len(asks)
    hood = Neighbourhood.of(vectors, [o for _, o, _, _ in bank] + calm, [g for _, _, g, _ in bank] + [ASKS] * len(asks),
                            [u for _, _, _, u in bank] + calm)
    n = len(bank)
    stored = {"outside": hood.outside.astype(int).tolist(), "groups": hood.groups.tolist(),
              "urgent": hood.urgent.astype(int).tolist()}
    return hood.read(vectors[:n], hood.groups[:n]), stored, vectors


def bank_evidence(folder: Path, bank: Sequence[tuple[str, bool, str, bool]], asks: Sequence[str], cache: Path,
                  threads: int, how: Training) -> tuple[np.ndarray, dict[str, list[int]], dict[str, Probe]]:
    """embed_bank's evidence and what the index stores, each question's evidence followed by the log-odds of each
    probe (PROBES: in scope, an emergency) fitted without its writer's fold, and the probes fitted on the whole bank.
    The asks (in scope and calm) are in every probe's training: the team's wording of what each section answers."""
    evidence, stored, vectors = embed_bank(folder, bank, asks, cache, threads)
    n, groups = len(bank), [g for _, _, g, _ in bank]
    labels = {"scope": [not o for _, o, _, _ in bank], "urgent": [u for _, _, _, u in bank]}
    of_asks = {"scope": 1.0, "urgent": 0.0}
    fitted = {name: cross_probe(vectors[:n], np.array(labels[name], dtype=float), groups, how,
                                (vectors[n:], np.full(len(asks), of_asks[name]))) for name in PROBES}
    return np.c_[evidence, *(fitted[name][0] for name in PROBES)], stored, {k: v[1] for k, v in fitted.items()}


def read_question(encoder: Encoder | None, hood: Neighbourhood | None, probes: Mapping[str, Probe], text: str
                  ) -> np.ndarray:
    """A question's evidence as bank_evidence gives a bank question's (a probe the index lacks reads 0)."""
    if encoder is None or hood is None:
        raise ValueError("this index was built without the sentence encoder")
    vector = encoder.embed([text])
    return np.asarray(np.r_[hood.read(vector)[0], [probes[n].logit(vector)[0] if n in probes else 0.0 for n in PROBES]])


def opened(folder: Path | None, stored: Mapping[str, Sequence[int]]) -> tuple[Encoder | None, Neighbourhood | None]:
    """A build's encoder and its neighbourhood: the vectors with what the index stored of them (None when it was
    built without a bank). The vectors are mapped, not read: the site's workers share one copy."""
    if folder is None or not stored or not (folder / VECTORS).is_file() or not (folder / ENCODER).is_file():
        return None, None
    vectors = np.load(folder / VECTORS, mmap_mode="r")
    if vectors.shape[0] != len(stored["outside"]):
        raise ValueError(f"{VECTORS} has {vectors.shape[0]} rows for {len(stored['outside'])} labels")
    urgent = np.array(stored.get("urgent", [0] * len(stored["outside"])), dtype=bool)
    return Encoder.open(folder), Neighbourhood(vectors, np.array(stored["outside"], dtype=bool),
                                               np.array(stored["groups"], dtype=np.int64), urgent)
