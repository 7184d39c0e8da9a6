"""The sentence encoder and its evidence of scope (kb/encoder.py, kb/semantic.py): the pinned weights are checked,
a text is embedded the same alone or among many, the nearest bank questions are found without the asker's own
writer, the vector store is reused and never holds text, and the built index carries the encoder and uses it where
scope is decided."""

from __future__ import annotations

import importlib.util
import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kb.learn
from kb import OpenIndex, answer, search
from kb.encoder import ENCODER, PACKAGE, WIDTH, Encoder, EncoderMissing, model_files
from kb.learn import engine
from kb.rank import SCOPE_FEATURES, Model
from kb.semantic import VECTORS, Neighbourhood, key, remembered
from kb.understand import read_by_encoder, understand


def unit(*rows: list[float]) -> np.ndarray:
    """Rows scaled to unit length."""
    x = np.array(rows, dtype=np.float32)
    return np.asarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def test_evidence_is_the_share_of_the_nearest_out_of_scope_and_the_in_scope_lead() -> None:
    # Two clusters: in scope near the x axis, out of scope near the y axis.
    vectors = unit([1, 0.1, 0], [1, 0.2, 0], [0.1, 1, 0], [0.2, 1, 0])
    hood = Neighbourhood.of(vectors, [False, False, True, True], ["a", "a", "b", "b"])
    near_x, near_y = hood.evidence(unit([1, 0, 0], [0, 1, 0]))
    assert near_x[0] < 0.1 < 0.9 < near_y[0]  # cosine-squared weights: the far cluster counts little
    assert near_x[1] > 0.5 and near_y[1] < -0.5  # nearest in scope much nearer, then much farther


def test_the_urgency_evidence_is_the_share_of_the_nearest_emergencies_and_their_lead() -> None:
    # Emergencies near the x axis, calm questions near the y axis; the scope columns are those of evidence.
    vectors = unit([1, 0.1, 0], [1, 0.2, 0], [0.1, 1, 0], [0.2, 1, 0])
    hood = Neighbourhood.of(vectors, [False, True, False, True], ["a", "a", "b", "b"], [True, True, False, False])
    asked = unit([1, 0, 0], [0, 1, 0])
    read = hood.read(asked)
    assert np.array_equal(read[:, :2], hood.evidence(asked))
    assert read[0, 2] > 0.9 > 0.1 > read[1, 2]  # the share of emergencies among the nearest
    assert read[0, 3] > 0.5 and read[1, 3] < -0.5  # the nearest emergency much nearer, then much farther
    assert not Neighbourhood.of(vectors, [False] * 4, ["a"] * 4).read(asked)[:, 2:].any()  # no emergency: nothing


def test_a_question_is_never_its_own_or_its_writers_neighbour() -> None:
    vectors = unit([1, 0, 0], [1, 0.05, 0], [0, 1, 0], [0.3, 1, 0])
    hood = Neighbourhood.of(vectors, [True, True, False, False], ["w1", "w1", "w2", "w3"])
    alone = hood.evidence(vectors, hood.groups)
    # w1's two out-of-scope questions see only the others' in-scope ones: no out-of-scope neighbour at all.
    assert alone[0, 0] == 0.0 and alone[1, 0] == 0.0
    assert hood.evidence(vectors)[0, 0] > 0.9  # counted with their own writer, each is the other's nearest


def test_a_bank_of_one_class_gives_no_evidence() -> None:
    hood = Neighbourhood.of(unit([1, 0], [0, 1]), [False, False], ["a", "b"])
    assert not hood.evidence(unit([1, 0])).any()


@settings(deadline=None, max_examples=30)
@given(st.integers(2, 60), st.integers(0, 2**31 - 1))
def test_the_share_is_a_share_and_the_gap_a_difference_of_cosines(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = unit(*rng.normal(size=(n, 8)).tolist())
    outside = [i % 2 == 0 for i in range(n)]
    hood = Neighbourhood.of(vectors, outside, [f"w{i % 3}" for i in range(n)])
    found = hood.evidence(unit(*rng.normal(size=(5, 8)).tolist()))
    assert ((found[:, 0] >= 0) & (found[:, 0] <= 1)).all() and (np.abs(found[:, 1]) <= 2).all()


def test_the_store_embeds_only_what_it_lacks_and_keeps_no_text(tmp_path: Path) -> None:
    asked: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        asked.append(texts)
        return unit(*[[len(t), 1.0, 0.0] for t in texts])

    store = tmp_path / "vectors.npz"
    first = remembered(store, ["a nude was shared", "who do I tell"], embed)
    again = remembered(store, ["who do I tell", "a pupil is missing", "who do I tell"], embed)
    assert asked == [["a nude was shared", "who do I tell"], ["a pupil is missing"]]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[0], again[2])
    assert b"who do I tell" not in store.read_bytes() and key("who do I tell").encode() in store.read_bytes()


def test_a_store_that_cannot_be_read_is_started_again(tmp_path: Path) -> None:
    store = tmp_path / "vectors.npz"
    store.write_bytes(b"not a store")
    got = remembered(store, ["one"], lambda texts: unit(*[[1.0, 0.0]] * len(texts)))
    assert got.shape == (1, 2)
    assert remembered(store, ["one"], lambda texts: pytest.fail("embedded again")).shape == (1, 2)


def test_the_weights_are_the_pinned_ones() -> None:
    weights, vocabulary = model_files()
    assert len(weights) > 80_000_000 and json.loads(vocabulary)["model"]["type"] == "WordPiece"


def test_weights_that_differ_from_the_pin_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    with zipfile.ZipFile(package / "model.zip", "w") as z:
        z.writestr("model.safetensors", b"other weights")
        z.writestr("tokenizer.json", b"{}")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    with pytest.raises(EncoderMissing, match="model.safetensors is not the pinned file"):
        model_files()


def test_a_missing_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find(name: str, *args: Any) -> Any:
        return None if name == PACKAGE else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find)
    with pytest.raises(EncoderMissing, match="is not installed"):
        model_files()


@pytest.fixture(scope="module")
def encoder(ix: OpenIndex) -> Encoder:
    """The session index's encoder."""
    assert ix.folder is not None
    return Encoder.open(ix.folder)


def test_vectors_are_unit_length_and_a_text_alone_is_a_text_among_many(encoder: Encoder) -> None:
    texts = ["my pupil sent a nude to her boyfriend", "burglary sentencing guidelines", "", "x " * 400]
    alone = np.vstack([encoder.embed([t]) for t in texts])
    assert alone.shape == (4, WIDTH) and np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    assert np.allclose(encoder.embed_all(texts, threads=2), alone)


@settings(deadline=None, max_examples=60)
@given(st.text(max_size=300))
def test_any_text_gets_a_unit_vector(encoder: Encoder, text: str) -> None:
    vector = encoder.embed([text])
    assert vector.shape == (1, WIDTH) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_a_lone_surrogate_is_read_as_a_replacement_character(encoder: Encoder) -> None:
    assert np.allclose(encoder.embed(["nudes \ud800 sent"]), encoder.embed(["nudes ? sent"]))


def test_questions_that_mean_the_same_are_nearer_than_others(encoder: Encoder) -> None:
    a, b, c = encoder.embed(["a boy shared a naked photo of a girl in his class",
                             "pupil forwarded a nude picture of a classmate",
                             "how do I apply for a parking permit"])
    assert a @ b > a @ c + 0.3 and a @ b > b @ c + 0.3


def test_the_index_carries_the_encoder_and_a_vector_for_each_bank_question_and_ask(ix: OpenIndex) -> None:
    assert ix.folder is not None and (ix.folder / ENCODER).is_file()
    vectors = np.load(ix.folder / VECTORS)
    asks = sum(len(own) for own in ix.content.asks.values())
    stored = ix.learned["semantic"]
    assert vectors.shape == (len(ix.learned["memory"]) + asks, WIDTH) == (len(stored["outside"]), WIDTH)
    assert not any(stored["outside"][-asks:])  # the sections' asks are in scope
    assert sum(stored["outside"]) == sum(1 for m in ix.learned["memory"] if not m["labels"])
    assert stored["urgent"] == [int(bool(m.get("urgent"))) for m in ix.learned["memory"]] + [0] * asks
    files = ix.meta["files"]
    assert ENCODER in files and VECTORS in files  # checked against the manifest when opened


def test_the_asks_are_read_as_questions_are_with_their_places_taken_out(ix: OpenIndex, encoder: Encoder) -> None:
    assert ix.folder is not None
    asks = [ask for own in ix.content.asks.values() for ask in own]
    vectors = np.load(ix.folder / VECTORS)[-len(asks):]
    placed = [i for i, ask in enumerate(asks) if "Cardiff" in ask or "Belfast" in ask]
    assert placed
    for i in placed:
        read = read_by_encoder(ix, understand(ix, asks[i], spelling=False))
        assert "Cardiff" not in read and "Belfast" not in read
        assert np.allclose(vectors[i], encoder.embed([read])[0], atol=1e-5)


def test_the_scope_model_learned_from_the_encoders_evidence(ix: OpenIndex) -> None:
    model = Model.from_dict(ix.learned["ranking"])
    weights = dict(zip(SCOPE_FEATURES, model.scope_weights, strict=True))
    # More of the nearest questions out of scope: less likely in scope; the in-scope one nearer: more likely.
    assert weights["semantic_out"] < 0 < weights["semantic_gap"]


def test_the_urgency_model_learned_from_the_encoders_evidence(ix: OpenIndex) -> None:
    eng = engine(ix)
    assert eng.urgency.reads_semantic and not eng.words_urgency.reads_semantic
    weights = dict(zip(eng.urgency.names, eng.urgency.weights, strict=True))
    # More of the nearest questions emergencies, or the nearest emergency nearer: more likely urgent.
    assert weights["semantic_share"] > 0 and weights["semantic_gap"] > 0


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many texts each call of the encoder embeds, from now on."""
    calls: list[int] = []
    real = Encoder.embed

    def counted(self: Encoder, texts: Any) -> np.ndarray:
        calls.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(Encoder, "embed", counted)
    return calls


def test_answers_use_the_encoder_and_calm_searches_do_not(ix: OpenIndex, embedded: list[int]) -> None:
    eng = engine(ix)
    assert eng.encoder is not None
    calls = embedded
    search(ix, "can I delete a nude from a pupil's phone")
    assert calls == []
    answer(ix, "can I delete a nude from a pupil's phone")
    assert calls == [1]
    found = search(ix, "he is outside the school gates now waiting for her and she is 13")
    assert found.urgent and calls == [1, 1]  # a search that reads urgent checks scope (an adult's emergency)


def test_a_search_the_safety_rules_read_urgent_reads_the_encoder_under_the_words_floor(
        ix: OpenIndex, monkeypatch: pytest.MonkeyPatch, embedded: list[int]) -> None:
    # The words alone score it under their own floor, threshold and line: the rules still read an emergency, and
    # whether it is one is for the served model, which reads the encoder's evidence.
    eng = engine(ix)
    deaf = replace(eng.words_urgency, floor=1.0, threshold=1.0, maybe=1.0, sure=1.0)
    monkeypatch.setattr(kb.learn, "engine", lambda _: replace(eng, words_urgency=deaf))
    calls = embedded
    search(ix, "can I delete a nude from a pupil's phone")
    assert calls == []
    search(ix, "our 12 year old is missing and her phone is off")
    assert calls
