"""The probes on the encoder's vectors (kb/probe.py): a probe learns what a linear reading cannot, a writer's rows are
scored by probes that never saw them, a probe round-trips through JSON, and the built index serves one of scope and
one of urgency as features of what the encoder reads."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import OpenIndex
from kb.learn import engine
from kb.probe import PROBES, Probe, Training, cross_probe, fit
from kb.rank import SCOPE_FEATURES, Model
from kb.semantic import read_question
from kb.understand import read_by_encoder, understand

QUICK = Training(hidden=16, epochs=60, rate=1e-2, l2=1e-3, batch=32)


def rings(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on two circles of one plane, the inner one labelled 1: no line parts them."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    inner = np.arange(n) % 2 == 0
    radius = np.where(inner, 0.3, 1.0)
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)], inner.astype(float)


def test_the_probe_learns_a_boundary_no_line_draws() -> None:
    x, y = rings(400)
    logits = fit(x, y, QUICK).logit(x)
    assert ((logits > 0) == (y > 0)).mean() > 0.95


def test_the_log_odds_are_held_within_the_limit() -> None:
    x, y = rings(400)
    free, held = fit(x, y, replace(QUICK, limit=100.0)).logit(x), fit(x, y, replace(QUICK, limit=1.0)).logit(x)
    assert np.abs(free).max() > 1.0  # unbounded, a close fit reads some rows far beyond it
    assert np.abs(held).max() == 1.0 and np.array_equal(held, np.clip(free, -1.0, 1.0))


def test_rows_always_trained_on_are_in_every_fold_and_scored_by_none() -> None:
    # Every writer's rows say "out" where the rows always trained on say "in", with far more weight: each fold's
    # probe, and so each writer's score, reads them.
    x, _ = rings(60)
    always = (np.repeat(x, 10, axis=0), np.ones(600))
    logits, _ = cross_probe(x, np.zeros(60), ["a", "b", "c"] * 20, replace(QUICK, folds=3), always=always)
    assert logits.shape == (60,) and (logits > 0).all()
    alone, _ = cross_probe(x, np.zeros(60), ["a", "b", "c"] * 20, replace(QUICK, folds=3))
    assert (alone < 0).all()


def test_a_writers_rows_are_scored_by_probes_that_never_saw_them() -> None:
    # Two writers ask the same questions and disagree on every label: each is scored by a probe of the other alone.
    x, _ = rings(200)
    x = np.vstack([x, x])
    y = np.r_[np.ones(200), np.zeros(200)]
    groups = ["a"] * 200 + ["b"] * 200
    logits, served = cross_probe(x, y, groups, replace(QUICK, folds=2))
    assert (logits[:200] < 0).all() and (logits[200:] > 0).all()
    assert served.logit(x).shape == (400,)  # the served probe saw both


def test_one_writer_alone_is_scored_by_the_probe_of_every_row() -> None:
    x, y = rings(100)
    logits, served = cross_probe(x, y, ["a"] * 100, QUICK)
    assert np.allclose(logits, served.logit(x))


@settings(deadline=None, max_examples=10)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_the_probe_round_trips_through_json(seed: int) -> None:
    x, y = rings(60, seed)
    probe = fit(x, y, Training(hidden=4, epochs=2, batch=16, seed=seed))
    again = Probe.from_dict(json.loads(json.dumps(probe.as_dict())))
    assert again is not None and np.array_equal(again.logit(x), probe.logit(x)) and again.limit == probe.limit
    assert Probe.from_dict({}) is None


def test_the_index_serves_a_probe_of_scope_and_one_of_urgency(ix: OpenIndex) -> None:
    eng = engine(ix)
    assert set(eng.probes) == set(PROBES) and eng.encoder is not None
    scope = dict(zip(SCOPE_FEATURES, Model.from_dict(ix.learned["ranking"]).scope_weights, strict=True))
    urgency = dict(zip(eng.urgency.names, eng.urgency.weights, strict=True))
    # Each probe's log-odds: more likely answered, more likely an emergency.
    assert scope["semantic_probe"] > 0 and urgency["semantic_probe"] > 0

    def logit(name: str, text: str) -> float:
        assert eng.encoder is not None
        return float(eng.probes[name].logit(eng.encoder.embed([read_by_encoder(ix, understand(ix, text))]))[0])

    calm = "a pupil shared a nude photo of another pupil last term, what should our policy say"
    assert logit("scope", calm) > 0 > logit("scope", "how do I renew the school minibus insurance")
    assert logit("urgent", "she says he is outside the school gates now and she is terrified") > 0 > logit(
        "urgent", calm)


def test_a_question_is_read_with_each_probe_after_the_neighbourhood(ix: OpenIndex) -> None:
    eng = engine(ix)
    assert eng.encoder is not None and eng.neighbourhood is not None
    text = read_by_encoder(ix, understand(ix, "can I delete a nude from a pupil's phone"))
    read = read_question(eng.encoder, eng.neighbourhood, eng.probes, text)
    vector = eng.encoder.embed([text])
    assert np.allclose(read[:4], eng.neighbourhood.read(vector)[0])
    assert np.allclose(read[4:], [eng.probes[name].logit(vector)[0] for name in PROBES])
    assert np.allclose(read_question(eng.encoder, eng.neighbourhood, {}, text)[4:], 0.0)  # none: nothing read
