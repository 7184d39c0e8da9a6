"""The text classifier behind ranking and scope (kb/classify.py): what it reads of a question, that it learns,
that cross-fitting never lets a training question see itself, and that it is stored with the index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import IndexHolder, OpenIndex
from kb.analysis import names_any
from kb.classify import OUT, Batch, Classifier, Fitting, Vectoriser, cross_fit, fit, folds, tokens
from kb.learn import build, engine, question_of, rank
from kb.memory import nearest
from kb.model import Content
from kb.rank import (
    FEATURES,
    SCOPE_FEATURES,
    WITHIN_FEATURES,
    Candidate,
    Model,
    Question,
    as_versions,
    features,
    scope_features,
)
from kb.rank_fit import fit_within
from kb.understand import understand

# Three writers, each with questions about one subject; the words of a writer's subject are theirs alone.
SUBJECTS = {
    "w1": ("image", ["delete the image", "image on phone", "remove image now", "image shared round"]),
    "w2": ("law", ["is it illegal", "illegal to send", "the law on nudes", "crime to share law"]),
    "w3": ("", ["school trip forms", "trip money forms", "forms for the trip", "school forms trip"]),
}


def bank() -> tuple[list[list[str]], list[tuple[str, ...]], list[str]]:
    """The writers' questions as token lists, their labels and their writers."""
    docs, labels, groups = [], [], []
    for writer, (label, questions) in SUBJECTS.items():
        for question in questions:
            docs.append(tokens(question.split(), question.split()))
            labels.append((label,) if label else ())
            groups.append(writer)
    return docs, labels, groups


def test_a_question_is_read_as_stems_word_pairs_and_character_grams() -> None:
    found = tokens(["who", "do", "i", "tell"], ["tell"])
    assert "s tell" in found
    assert "b who do" in found and "b i tell" in found
    assert "c <tel" in found and "c ell>" in found


def test_the_classifier_learns_which_class_a_question_belongs_to() -> None:
    docs, labels, _ = bank()
    model = fit(Vectoriser.of(docs), docs, labels, (OUT, "image", "law"), Fitting(epochs=30))
    assert max(model.predict(tokens(["image", "shared"], ["image", "shared"])).items(), key=lambda kv: kv[1])[0] == (
        "image")
    assert max(model.predict(tokens(["trip", "forms"], ["trip", "forms"])).items(), key=lambda kv: kv[1])[0] == OUT


def test_folds_keep_each_writer_whole() -> None:
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] * 1
    fold = folds(groups, 3)
    for group in set(groups):
        assert len({int(f) for f, g in zip(fold, groups, strict=True) if g == group}) == 1
    assert len(set(fold.tolist())) == 3


def test_cross_fitting_never_lets_a_question_see_itself() -> None:
    """Each question's probabilities are those of a model fitted without its writer: a writer whose words no other
    writer uses gets no sure answer from them, though the served model (which saw every writer) has one."""
    docs, labels, groups = bank()
    how = Fitting(epochs=30)
    probabilities, served = cross_fit(docs, labels, groups, k=3, how=how)
    for i, label in enumerate(labels):
        own = label[0] if label else OUT
        seen = served.predict(docs[i])[own]
        assert probabilities[i][own] < 0.5 < seen
    # And exactly: a question's probabilities are those of the model fitted on the other writers' questions.
    others = [j for j, g in enumerate(groups) if g != groups[0]]
    alone = fit(served.vectoriser, [docs[j] for j in others], [labels[j] for j in others], served.classes, how)
    assert alone.predict(docs[0]) == pytest.approx(probabilities[0])


def test_the_classifier_round_trips_through_json() -> None:
    docs, labels, groups = bank()
    _, model = cross_fit(docs, labels, groups, k=3)
    again = Classifier.from_dict(json.loads(json.dumps(model.as_dict())))
    assert again is not None and again.classes == model.classes
    np.testing.assert_allclose(again.probabilities(docs), model.probabilities(docs), atol=1e-5)
    assert Classifier.from_dict({}) is None


def test_the_served_index_stores_its_classifier_and_ranks_with_it(ix: OpenIndex) -> None:
    classifier = engine(ix).classifier
    assert classifier is not None and OUT in classifier.classes
    assert "classifier" in ix.learned
    ranking = rank(ix, understand(ix, "can I look at the nude on his phone?"), None)
    assert ranking.sections[0].probability > 0.5


def test_a_build_without_a_bank_ranks_without_a_classifier(content: Content, tmp_path: Path) -> None:
    build(content, tmp_path, bank=[])
    opened = IndexHolder(tmp_path).get()
    assert opened is not None and "classifier" not in opened.learned
    assert engine(opened).classifier is None
    ranking = rank(opened, understand(opened, "what to do with a nude image"), None)
    assert ranking.sections and ranking.sections[0].bm25 > 0


def test_a_section_that_restates_no_source_section_gets_no_out_of_scope_evidence() -> None:
    """"" is the out-of-scope class: law from other documents (no source section) must not take its probability."""
    question = Question({}, frozenset(), classes={OUT: 0.9, "Overview": 0.1})
    rows = features(question, [Candidate("the-law#other", "", frozenset()), Candidate("a#b", "Overview", frozenset())],
                    None, {})
    column = FEATURES.index("classifier")
    assert rows[0, column] == 0.0 and rows[1, column] == pytest.approx(0.1)


# ---------------------------------------------------------------- another subject named (content/scope.yaml)


@pytest.mark.parametrize(("elsewhere", "core", "expected"),
                         [(True, False, 1.0), (True, True, 0.0), (False, False, 0.0)])
def test_another_subject_counts_for_scope_only_without_this_ones_core_words(elsewhere: bool, core: bool,
                                                                             expected: float) -> None:
    row = scope_features(Question({}, frozenset(), core=core, elsewhere=elsewhere), np.zeros(0), np.zeros((0, 0)),
                         None)
    assert row[SCOPE_FEATURES.index("elsewhere")] == expected


@pytest.mark.parametrize(("phrases", "named"), [
    ([("man",)], True), ([("isl", "of", "man")], True), ([("of", "man")], True),
    ([("isl", "man")], False),  # its words apart
    ([("man", "isl")], False),  # out of order
    ([(), ("jersey",)], False), ([], False),
])
def test_a_phrase_is_named_only_with_its_stems_together_and_in_order(phrases: list[tuple[str, ...]],
                                                                     named: bool) -> None:
    assert names_any(["law", "in", "the", "isl", "of", "man"], phrases) is named


@pytest.mark.parametrize(("question", "named"), [
    ("a pupil was caught vaping in the toilets, do I tell her parents", True),
    ("what is the law on sexting in the isle of man", True),
    ("a pupil was caught sending nudes in the toilets, do I tell her parents", False),
    ("what is the law on sexting in Cardiff", False),
])
def test_the_engine_reads_which_questions_name_another_subject(ix: OpenIndex, question: str, named: bool) -> None:
    assert question_of(ix, question).elsewhere is named


@pytest.mark.parametrize(("other", "ours"), [
    ("a pupil was caught vaping in the toilets, do I tell her parents",
     "a pupil was caught sending nudes in the toilets, do I tell her parents"),
    ("what is the law on sexting in the isle of man", "what is the law on sexting in Cardiff"),
])
def test_the_served_scope_model_counts_another_subject_against_answering(ix: OpenIndex, other: str, ours: str
                                                                         ) -> None:
    # The whole scope model, not one weight: beside the sentence encoder's evidence (which reads another subject
    # too) the flag's own learned weight is small and may take either sign.
    scope = {q: rank(ix, understand(ix, q), None).in_scope for q in (other, ours)}
    assert scope[other] < scope[ours]


# ---------------------------------------------------------------- which section of a source section answers


def test_the_within_model_learns_that_the_nearer_ask_and_heading_win() -> None:
    # Rows of WITHIN_FEATURES (BM25F share, nearest ask, heading share, place, unplaced).
    examples = [(np.array([[0.9, 0.8, 0.5, 0.0, 0.0], [0.5, 0.3, 0.0, 0.0, 0.0]]), 0),
                (np.array([[0.3, 0.2, 0.0, 0.0, 0.0], [1.0, 0.7, 0.6, 0.0, 0.0], [0.6, 0.1, 0.2, 0.0, 0.0]]), 1),
                (np.array([[0.8, 0.4, 0.0, 1.0, 0.0], [1.0, 0.5, 0.0, -1.0, 0.0]]), 0)]
    weights = fit_within(examples)
    assert all(w > 0 for w in weights[:4]), weights
    assert fit_within([]) == Model.within


def test_the_served_model_picks_the_section_whose_heading_and_asks_fit(ix: OpenIndex) -> None:
    within = dict(zip(WITHIN_FEATURES, ix.learned["ranking"]["within"], strict=True))
    assert within["asks_max"] > 0 and within["heading"] > 0
    # Both sections restate "Talking to a young person"; the question asks how to talk, not what to find out.
    top = rank(ix, understand(ix, "how do I talk to a teenager who sent a nude"), None).sections[0]
    assert top.facts.id == "talking-to-a-young-person#how-to-talk", top.facts.id


def test_without_a_nation_the_versions_for_each_nation_are_one_answer() -> None:
    # Three sections of one source section: England and Wales, Scotland, and one for everywhere; another group.
    places = [("england", "wales"), ("scotland",), (), ("scotland",)]
    groups = ["law", "law", "law", "other"]
    # Scotland's version fits best: England and Wales's takes its score, the section for everywhere keeps its own,
    # and a section of another source section is not a version of them.
    assert as_versions(places, groups, [1.0, 3.0, 2.0, 0.5]) == [3.0, 3.0, 2.0, 0.5]


def test_without_a_nation_the_version_that_fits_the_words_comes_first_of_its_versions(ix: OpenIndex) -> None:
    # The College of Policing and the Sentencing Council are bodies of England and Wales, named in those versions'
    # keywords only: without a nation they lead the versions, whatever tiny difference a saturated probability has.
    for question in ("college of policing guidance on nudes", "sentencing council guidelines indecent images"):
        ranked = rank(ix, understand(ix, question), None).sections
        first = next(r.facts for r in ranked if r.facts.places)
        assert first.places == ("england", "wales"), (question, first.id)


def test_a_nation_named_picks_its_own_version(ix: OpenIndex) -> None:
    told = rank(ix, understand(ix, "is keeping a nude of a 16 year old on your phone a crime in Scotland"),
                "scotland").sections[0].facts
    assert "scotland" in told.places, told.id


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]), max_size=40), st.integers(1, 12))
def test_the_nearest_rows_are_the_k_highest_positive_scores_highest_first(values: list[float], k: int) -> None:
    scores = np.array(values)
    expected = [i for i in sorted(range(len(values)), key=lambda i: (-values[i], i)) if values[i] > 0][:k]
    assert nearest(scores, k).tolist() == expected


@settings(deadline=None, max_examples=100)
@given(st.lists(st.lists(st.sampled_from(["s nude", "s law", "s refer", "c <nud", "b a b", "s zebra"]), max_size=5),
                min_size=1, max_size=8), st.data())
def test_rows_taken_from_a_matrix_are_the_rows_made_for_those_docs(docs: list[list[str]], data: st.DataObject
                                                                   ) -> None:
    # Cross-fitting makes every question's row once and takes each fold's rows from it (repeats and empty rows too).
    vectoriser = Vectoriser.of(docs, min_df=1)
    chosen = data.draw(st.lists(st.integers(0, len(docs) - 1), max_size=10))
    taken, made = vectoriser.matrix(docs).rows(chosen), vectoriser.matrix([docs[i] for i in chosen])
    assert taken.indptr.tolist() == made.indptr.tolist()
    assert taken.indices.tolist() == made.indices.tolist() and taken.data.tolist() == made.data.tolist()


@settings(deadline=None, max_examples=100)
@given(st.lists(st.lists(st.sampled_from(["s nude", "s law", "s refer", "c <nud", "b a b", "s zebra"]), max_size=5),
                min_size=1, max_size=8), st.data())
def test_a_batchs_sparse_products_are_the_dense_products(docs: list[list[str]], data: st.DataObject) -> None:
    # The fit multiplies a batch by the weights (X @ W) and the gradients back (X.T @ G) without a dense block:
    # the same numbers as the dense products, empty rows and repeated rows included.
    vectoriser = Vectoriser.of(docs, min_df=1)
    x = vectoriser.matrix(docs)
    chosen = np.array(data.draw(st.lists(st.integers(0, len(docs) - 1), min_size=1, max_size=10)))
    batch = Batch.of(x, chosen, np.zeros((len(docs), 2)), np.ones(len(docs)))
    dense = np.zeros((len(chosen), x.columns))
    for i, row in enumerate(chosen.tolist()):
        dense[i, x.indices[x.indptr[row]:x.indptr[row + 1]]] = x.data[x.indptr[row]:x.indptr[row + 1]]
    rng = np.random.default_rng(len(docs))
    w, g = rng.normal(size=(x.columns, 3)), rng.normal(size=(len(chosen), 3))
    assert batch.columns.tolist() == np.flatnonzero(dense.any(axis=0)).tolist()
    assert np.allclose(batch.times(w[batch.columns]), dense @ w, atol=1e-5)
    assert np.allclose(batch.transposed_times(g), (dense.T @ g)[batch.columns], atol=1e-5)
