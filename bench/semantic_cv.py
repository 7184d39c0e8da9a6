"""Would a sentence embedding add to the engine now that the bank is large? Measured on the train fold alone.

The measurement that brought the encoder into the product (kb/encoder.py, kb/semantic.py), kept as its record; the
product is now measured by bench/train_cv.py like every other part (its "engine" below now includes the encoder).
Not part of the tests: it reads the wheel as `semantic_probe.py` says. For each of `train_cv.py`'s four writer folds
it builds the index without that fold and records, for each of the fold's questions, the engine's scope and urgency
probabilities and decisions; it embeds every train question with all-MiniLM-L6-v2 and scores each one by its 20
nearest train questions of the other folds (the share of them out of scope, of them emergencies, and how much nearer
the nearest in-scope one is than the nearest out-of-scope one). A logistic model over the engine's log-odds, alone
and with those inputs, is fitted on three folds and scored on the fourth; each is read at the engine's own false
abstention and calm false alarms.

With --heldout, the scope model with the embedding is then fitted on all the train fold's records and cut where the
engine's false abstention is, and applied once to the held-out fold beside the engine built on the whole train fold.

Usage: python bench/semantic_cv.py /tmp/minilm [--records FILE] [--heldout]
(about 20 minutes of builds and questions and 25 of embedding on two cores, more with --heldout; FILE keeps the
records, and is read instead when it exists)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, open_index, questions
from quality import SETS
from semantic_probe import MiniLM
from train_cv import FOLDS, fold_of

from kb import IndexHolder, answer, load_content
from kb.learn import build, engine, rank
from kb.rank_fit import fit_logistic
from kb.understand import understand
from kb.urgency import certain

NEAREST = 20


def records(k: int) -> list[dict[str, Any]]:
    """The engine's probabilities and decisions for fold k's questions, from an index fitted without them."""
    bank = questions(SETS["train"])
    folder = tempfile.mkdtemp(prefix="kb-semcv-")
    build(load_content(ROOT / "content"), folder, force=True, bank=[x for x in bank if fold_of(x) != k])
    ix = IndexHolder(folder).get()
    assert ix is not None
    eng = engine(ix)
    out = []
    for x in (x for x in bank if fold_of(x) == k):
        reply = answer(ix, x["q"], x.get("nation") or None)
        # The reply carries the decisions, not the urgency model's probability or cues: ranked again for those.
        query = understand(ix, x["q"])
        urgency = rank(ix, query, reply.nation).urgency
        sure = certain(eng.cues, urgency.cues, eng.cues.parts(query.typed, query.text))
        out.append({"id": x["id"], "answered": reply.answered, "scope": reply.confidence, "p": urgency.probability,
                    "flag": urgency.urgent, "certain": sure})
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds, clipped away from 0 and 1."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights then bias of the engine's L2 logistic model (a few columns: a light penalty)."""
    weights, bias = fit_logistic(x, y, l2=0.1)
    return np.append(weights, bias)


def out_of_fold(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each fold's scores from the model fitted on the others."""
    scores = np.zeros(len(y))
    for k in range(FOLDS):
        held = folds == k
        w = fit(x[~held], y[~held].astype(float))
        scores[held] = np.c_[x[held], np.ones(int(held.sum()))] @ w
    return scores


def nearest(asked: np.ndarray, known: np.ndarray, outside: np.ndarray, urgent: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each asked vector, among its NEAREST known ones: the share out of scope and the share of emergencies
    (cosine-squared weighted), and how much nearer the nearest in-scope one is than the nearest out-of-scope one."""
    share_out, share_urgent, gap = np.zeros(len(asked)), np.zeros(len(asked)), np.zeros(len(asked))
    for start in range(0, len(asked), 1500):
        part = slice(start, start + 1500)
        cos = asked[part] @ known.T
        top = np.argpartition(-cos, NEAREST, axis=1)[:, :NEAREST]
        weight = np.maximum(np.take_along_axis(cos, top, 1), 0.0) ** 2
        total = np.maximum(weight.sum(1), 1e-9)
        share_out[part] = (weight * outside[top]).sum(1) / total
        share_urgent[part] = (weight * urgent[top]).sum(1) / total
        gap[part] = np.where(~outside[None, :], cos, -1).max(1) - np.where(outside[None, :], cos, -1).max(1)
    return share_out, share_urgent, gap


def held_out(model: MiniLM, vectors: np.ndarray, outside: np.ndarray, urgent: np.ndarray, weights: np.ndarray,
             cut: float) -> None:
    """The scope model with the embedding, fitted and cut on the train fold, applied once to the held-out fold
    (its neighbours are every train question; the engine is the one `kb build` fits on the whole train fold)."""
    ix, _ = open_index()
    held = questions(SETS["heldout"])
    replies = [answer(ix, x["q"], x.get("nation") or None) for x in held]
    out = np.array([not x.get("expect") for x in held])
    share_out, _, gap = nearest(model.embed_all([x["q"] for x in held]), vectors, outside, urgent)
    flag = np.array([r.urgent for r in replies])
    answered = np.array([r.answered for r in replies])
    score = np.c_[logit(np.array([r.confidence for r in replies])), share_out, gap, np.ones(len(held))] @ weights
    kept = flag | (score >= cut)
    print(f"held-out, {len(held)} questions: the engine's false abstention {np.mean(~answered[~out]):.4f}, "
          f"out-of-scope abstention {np.mean(~answered[out]):.4f}; with the embedding (fitted and cut on train) "
          f"{np.mean(~kept[~out]):.4f} and {np.mean(~kept[out]):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("minilm", type=Path)
    ap.add_argument("--records", type=Path)
    ap.add_argument("--heldout", action="store_true", help="then apply the train fold's fit once to held-out")
    args = ap.parse_args()
    train = questions(SETS["train"])
    if args.records and args.records.is_file():
        found = [json.loads(line) for line in args.records.read_text(encoding="utf-8").splitlines()]
    else:
        with ProcessPoolExecutor(2) as pool:
            found = [r for part in pool.map(records, range(FOLDS)) for r in part]
        if args.records:
            args.records.write_text("".join(json.dumps(r) + "\n" for r in found), encoding="utf-8")
    by_id = {r["id"]: r for r in found}
    rows = [by_id[x["id"]] for x in train]
    model = MiniLM(args.minilm)
    vectors = model.embed_all([x["q"] for x in train])
    folds = np.array([fold_of(x) for x in train])
    outside = np.array([not x.get("expect") for x in train])
    urgent = np.array([bool(x.get("urgent")) for x in train])
    share_out, share_urgent, gap = np.zeros(len(train)), np.zeros(len(train)), np.zeros(len(train))
    for k in range(FOLDS):
        held, rest = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        share_out[held], share_urgent[held], gap[held] = nearest(vectors[held], vectors[rest], outside[rest],
                                                                 urgent[rest])
    flag = np.array([r["flag"] for r in rows])
    answered = np.array([r["answered"] for r in rows])
    sure = np.array([r["certain"] for r in rows])
    scope = logit(np.array([r["scope"] for r in rows]))
    inside = ~outside
    declined = int(np.sum(~answered & inside))
    print(f"train writer-fold CV, {len(train)} questions; the engine: false abstention "
          f"{declined / inside.sum():.4f}, out-of-scope abstention {np.mean(~answered[outside]):.4f}")
    for name, x in (("engine's scope alone", scope[:, None]), ("with the embedding", np.c_[scope, share_out, gap])):
        score = out_of_fold(x, inside, folds)
        cut = np.sort(score[inside & ~flag])[declined]
        kept = flag | (score >= cut)
        print(f"  {name:22} out-of-scope abstention {np.mean(~kept[outside]):.4f} at false abstention "
              f"{np.mean(~kept[inside]):.4f}")
    if args.heldout:
        x = np.c_[scope, share_out, gap]
        weights = fit(x, inside.astype(float))
        score = np.c_[x, np.ones(len(x))] @ weights
        held_out(model, vectors, outside, urgent, weights, float(np.sort(score[inside & ~flag])[declined]))
    calm = ~urgent
    alarms = int(np.sum(flag & calm))
    p = logit(np.array([r["p"] for r in rows]))
    for name, x in (("engine's urgency alone", p[:, None]), ("with the embedding", np.c_[p, share_urgent])):
        score = out_of_fold(x, urgent, folds)
        room = alarms - int(np.sum(sure & calm))
        cut = np.nextafter(np.sort(score[calm & ~sure])[::-1][room], np.inf)
        hit = (score >= cut) | sure
        print(f"  {name:22} urgent recall {np.mean(hit[urgent]):.4f} ({int(np.sum(~hit[urgent]))} missed) at calm "
              f"false alarms {np.mean(hit[calm]):.4f}")


if __name__ == "__main__":
    main()
