"""Urgency alone, fast: the urgency models fitted on the bank's train fold and scored on held-out and dev2, without
building the ranking (questions are understood and embedded once and cached under /tmp between runs). Two models in
the same run: the served one, which reads the sentence encoder's evidence, and the one of the words alone (the model
of the twenty-first session, which a search reads first).

Usage: python bench/urgency_quality.py [--misses] [--sets heldout,dev2] [--false-alarm 0.03] [--margin 0.5]
       [--line-calm 0.05] [--text-l2 0.03] [--text-folds 8] [--weight 3]

Questions are understood once and cached in the temporary folder, keyed by the sets and the glossary; delete the
cache after changing how questions are understood in code.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, questions, tally_urgency

from kb import IndexHolder, load_content
from kb.config import cache_dir
from kb.forkmap import cores
from kb.index import build_index
from kb.learn import asks_memory, build_engine
from kb.memory import Labelled, Memory
from kb.probe import cross_probe
from kb.semantic import ASKS, Neighbourhood, embed_texts
from kb.signals import is_urgent
from kb.tuning import DEFAULT
from kb.understand import read_by_encoder, understand
from kb.urgency import Cues, UrgencyModel, assess, certain, design, fit, held_out_scores, sentence_stems
from kb.urgency_text import ngrams

HERE = Path(__file__).resolve().parent
SETS = {"train": HERE / "bank" / "train.jsonl", "heldout": HERE / "bank" / "heldout.jsonl",
        "dev2": ROOT.parent / "shared" / "eval" / "dev2.jsonl"}
# Keyed by the question sets, the glossary and the code that read a question (spelling: "doin" is "doing"), not by
# the cues.
_READ = (ROOT / "content" / "glossary.yaml",
         *(ROOT / "kb" / name for name in ("analysis.py", "spelling.py", "understand.py")))
_KEY = hashlib.sha256(b"".join(p.read_bytes() for p in (*SETS.values(), *_READ)))
CACHE = Path(tempfile.gettempdir()) / f"kb-urgency-{_KEY.hexdigest()[:12]}-encoded.pickle"


def understood() -> dict[str, list[dict[str, Any]]]:
    """Every question of every set as typed, as corrected, its terms and its vector (cached: they do not depend on
    cues)."""
    if CACHE.is_file():
        return pickle.loads(CACHE.read_bytes())  # type: ignore[no-any-return]
    content = load_content(ROOT / "content")
    folder = tempfile.mkdtemp(prefix="kb-urgency-")
    build_index(content, folder, force=True)
    ix = IndexHolder(folder).get()
    assert ix is not None
    eng = build_engine(ix)
    asks = [(dict(a.terms), a.labels, a.section) for a in asks_memory(ix, eng.sections)]
    # The encoder reads the asks as the build does (kb.learn.embedded), and every question as the site does.
    read = [read_by_encoder(ix, understand(ix, ask, spelling=False)) for own in ix.content.asks.values() for ask in own]
    out: dict[str, list[dict[str, Any]]] = {"asks": [{"asks": asks}]}
    for name, path in SETS.items():
        rows = []
        for x in questions(path):
            q = understand(ix, x["q"])
            rows.append({"id": x["id"], "q": x["q"], "typed": q.typed, "text": q.text, "terms": dict(q.terms),
                         "urgent": bool(x.get("urgent")), "group": str(x.get("writer", "")),
                         "labels": tuple(x.get("expect") or ()), "read": read_by_encoder(ix, q)})
        out[name] = rows
    texts = read + [r["read"] for name in SETS for r in out[name]]
    vectors = embed_texts(Path(folder), texts, cache_dir(), cores())
    out["asks"][0]["vectors"] = vectors[:len(read)]
    at = len(read)
    for name in SETS:
        for r in out[name]:
            r["vector"] = vectors[at]
            at += 1
    CACHE.write_bytes(pickle.dumps(out))
    return out


def score(name: str, items: list[dict[str, Any]], model: UrgencyModel, cues: Cues, memory: Memory,
          show: bool, semantic: np.ndarray | None = None) -> None:
    """Recall (the emergency answer, and with the line "call 999"), false alarms and the line on calm questions
    (semantic: each item's encoder evidence, for a model that reads it)."""
    n: dict[str, float] = dict.fromkeys(("urg", "calm", "urg_hit", "urg_line", "false_alarm", "maybe", "old_urg",
                                         "old_fa", "fa_out"), 0)
    shown: dict[str, list[str]] = {"missed (not even the line)": [], "the line only": [], "false alarms": []}
    for i, r in enumerate(items):
        evidence = tuple(float(v) for v in semantic[i, 2:5]) if semantic is not None else None
        u = assess(model, cues, (r["typed"], r["text"]), r["terms"], memory, semantic=evidence)
        tally_urgency(n, r["urgent"], u.urgent, u.maybe, is_urgent(r["q"]))
        about = f"  {r['id']} p={u.probability:.2f} {sorted(u.cues)} {r['q'][:110]!r}"
        if r["urgent"] and not (u.urgent or u.maybe):
            shown["missed (not even the line)"].append(about)
        elif r["urgent"] and not u.urgent:
            shown["the line only"].append(about)
        elif u.urgent and not r["urgent"]:
            shown["false alarms"].append(about)
            n["fa_out"] += not r["labels"]
    urg, calm = n["urg"] or 1, n["calm"] or 1
    print(f"== {name}: urgent recall {n['urg_hit'] / urg:.3f} ({n['urg_hit']:.0f}/{n['urg']:.0f}), with the line "
          f"{n['urg_line'] / urg:.3f}; calm false alarms {n['false_alarm'] / calm:.3f} ({n['false_alarm']:.0f}/"
          f"{n['calm']:.0f}, {n['fa_out']:.0f} out of scope), the line on calm {n['maybe'] / calm:.3f}; "
          f"old rules recall {n['old_urg'] / urg:.3f}, false alarms {n['old_fa'] / calm:.3f}")
    for kind, rows in shown.items() if show else ():
        print(f"# {kind}\n" + "\n".join(rows))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--sets", default="heldout,dev2")
    ap.add_argument("--false-alarm", type=float, default=DEFAULT.urgent_false_alarm)
    ap.add_argument("--margin", type=float, default=DEFAULT.urgent_margin)
    ap.add_argument("--line-calm", type=float, default=DEFAULT.urgent_line_calm)
    ap.add_argument("--text-l2", type=float, default=DEFAULT.urgent_text_l2)
    ap.add_argument("--text-folds", type=int, default=DEFAULT.urgent_text_folds)
    ap.add_argument("--weight", type=float, default=DEFAULT.urgent_weight)
    a = ap.parse_args()
    data = understood()
    cues = load_content(ROOT / "content").cues
    assert cues is not None
    asks = [Labelled(t, tuple(lab), "asks", section=s) for t, lab, s in data["asks"][0]["asks"]]
    train = data["train"]
    memory = Memory.of([Labelled(r["terms"], r["labels"], r["group"], urgent=r["urgent"]) for r in train] + asks)
    rows = [(cues.matched(r["typed"], r["text"]), r["terms"], r["urgent"], r["group"], ngrams(r["typed"], r["text"]),
             cues.parts(r["typed"], r["text"]))
            for r in train]
    part_stems = [sentence_stems(r["typed"], r["text"]) for r in train]
    # The encoder's evidence as the build reads it: each train question among the others' (its writer left out),
    # the sections' asks calm and in scope; held-out and dev2 questions among all of them.
    ask_vectors = data["asks"][0]["vectors"]
    hood = Neighbourhood.of(np.vstack([[r["vector"] for r in train], ask_vectors]),
                            [not r["labels"] for r in train] + [False] * len(ask_vectors),
                            [r["group"] for r in train] + [ASKS] * len(ask_vectors),
                            [r["urgent"] for r in train] + [False] * len(ask_vectors))
    evidence = hood.read(np.array([r["vector"] for r in train]), hood.groups[:len(train)])
    # The urgent probe as the build fits it (kb.semantic.bank_evidence): out of each writer's fold for the train fold.
    urgent = np.array([r["urgent"] for r in train], dtype=float)
    oof, probe = cross_probe(np.array([r["vector"] for r in train]), urgent, [r["group"] for r in train],
                             DEFAULT.probe, (ask_vectors, np.zeros(len(ask_vectors))))
    for served in (True, False):
        semantic = [(float(e[2]), float(e[3]), float(o)) for e, o in zip(evidence, oof, strict=True)] if served else []
        print("### with the encoder's evidence (served)" if served else "### the words alone (a search's first look)")
        model = fit(cues, rows, memory, false_alarm=a.false_alarm, margin=a.margin, text_l2=a.text_l2,
                    text_folds=a.text_folds, line_calm=a.line_calm, part_stems=part_stems, urgent_weight=a.weight,
                    semantic=semantic)
        # The measure to choose by: each train writer scored by models fitted without them, at the alarm the fit set
        # on those same scores (where `false_alarm` of the calm ones reach, those the safety rules flag among them).
        x, y, weight = design(cues, rows, memory, a.text_l2, a.text_folds, part_stems, urgent_weight=a.weight,
                              semantic=semantic)
        p = held_out_scores(x, y, weight, np.array([r[3] for r in rows]))
        report(train, rows, cues, model, p, y, a.margin, a.misses and served)
        for name in a.sets.split(","):
            vectors = np.array([r["vector"] for r in data[name]])
            score(name, data[name], model, cues, memory, a.misses and served,
                  np.c_[hood.read(vectors), probe.logit(vectors)] if served else None)


def report(train: list[dict[str, Any]], rows: list[Any], cues: Cues, model: UrgencyModel, p: np.ndarray,
           y: np.ndarray, margin: float, misses: bool) -> None:
    """The train fold out of fold: recall and false alarms at the fitted alarm, the line, and (misses) what each
    train emergency missed and calm question flagged reads like."""
    cut = model.threshold
    sure = np.array([certain(cues, r[0], r[5]) for r in rows]) & (p >= model.floor)
    alarms = ((p >= cut) | sure)[y == 0]  # the calm train questions flagged, and those the guidance does not answer
    outside = np.array([not r["labels"] for r in train])[y == 0]
    print(f"== train, out of fold: urgent recall {np.mean(p[y > 0] >= cut):.3f} at calm false alarms "
          f"{np.mean(p[y == 0] >= cut):.3f}; with the safety rules {np.mean((p >= cut)[y > 0] | sure[y > 0]):.4f} "
          f"({int(np.sum(~((p >= cut)[y > 0] | sure[y > 0])))} missed) "
          f"at {np.mean((p >= cut)[y == 0] | sure[y == 0]):.4f}; emergencies below the lowest train line: "
          f"{int(np.sum(p[y > 0] < margin * p[y > 0].min()))}; the line: recall "
          f"{np.mean(p[y > 0] >= model.maybe):.3f} at calm {np.mean(p[y == 0] >= model.maybe):.3f}; false alarms "
          f"out of scope: {int(np.sum(alarms & outside))} of {int(np.sum(alarms))}")
    if misses:  # the train emergencies the out-of-fold models and the safety rules both miss: what to learn from
        for r, score_, rule in zip(train, p, sure, strict=True):
            if r["urgent"] and score_ < cut and not rule:
                print(f"  train miss {r['id']} p={score_:.3f} {sorted(cues.matched(r['typed'], r['text']))} "
                      f"{r['typed'][:110]!r}")
        for r, score_, rule in zip(train, p, sure, strict=True):  # and the calm ones they flag: what calms
            if not r["urgent"] and (score_ >= cut or rule):
                print(f"  train false alarm {r['id']} p={score_:.3f}{' rule' if rule else ''} "
                      f"{sorted(cues.matched(r['typed'], r['text']))} {r['typed'][:110]!r}")
    print(f"thresholds: rules {model.floor:.3f}, maybe {model.maybe:.3f}, urgent {model.threshold:.3f}, "
          f"sure {model.sure:.3f}; weights: "
          + ", ".join(f"{k} {w:+.2f}" for k, w in zip(model.names, model.weights, strict=True)))

if __name__ == "__main__":
    main()
