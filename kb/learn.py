"""The learned engine of an opened index (its memory of labelled questions, the ranking, scope and urgency models,
and the facts of each section), built once per index; ranking a Query with it; and fitting it on the train fold of
the question bank when an index is built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from kb.analysis import names_any, stems, telling_words, words
from kb.classify import Classifier, Fitting, cross_fit, tokens
from kb.config import bank_digest, cache_dir, training_bank
from kb.coverage import SectionStats, coverage, section_stats
from kb.encoder import Encoder
from kb.forkmap import beside, collector_paused, cores, fork_map
from kb.index import Learner, OpenIndex, build_index, is_current
from kb.memory import Labelled, Memory
from kb.model import Content
from kb.probe import Probe
from kb.rank import (
    WITHIN_COLUMNS,
    Candidate,
    Model,
    Neighbours,
    Question,
    as_versions,
    features,
    in_scope,
    neighbours,
    scope_features,
    score,
)
from kb.rank_fit import Example, fit_within
from kb.rank_fit import fit as fit_ranking
from kb.ranked import Ranked, Ranking, SectionFacts, diversify, in_order, settled
from kb.retrieve import leaves_of, searcher_for, section_scores
from kb.retrieve_leaves import OnDemand
from kb.semantic import Neighbourhood, bank_evidence, opened, read_question
from kb.spelling import vocabulary
from kb.tuning import DEFAULT, Tuning
from kb.understand import Query, intended, read_by_encoder, understand
from kb.urgency import Cues, UrgencyModel, assess, sentence_stems, urgent_share
from kb.urgency import Row as UrgencyRow
from kb.urgency import fit as fit_urgency
from kb.urgency_text import ngrams

# Clauses kept while the build reads the bank (about a kilobyte each: the bank pass's peak memory grows by about
# 70 MB over a served index's bound, and the build is 4 s shorter).
BUILD_CLAUSES = 1_000_000


@dataclass(frozen=True)
class Engine:
    """Everything learned or worked out once for an opened index."""

    sections: tuple[SectionFacts, ...]
    memory: Memory | None
    model: Model
    urgency: UrgencyModel
    cues: Cues
    stats: SectionStats
    classifier: Classifier | None = None
    elsewhere: tuple[tuple[str, ...], ...] = ()  # the stems of each phrase of content/scope.yaml
    encoder: Encoder | None = None  # the sentence encoder and the bank's vectors (None: built without a bank)
    neighbourhood: Neighbourhood | None = None
    probes: Mapping[str, Probe] = field(default_factory=dict)  # kb.probe's, by name (PROBES)
    words_urgency: UrgencyModel = UrgencyModel()  # urgency from the words alone: a search's first look

    @cached_property
    def unmatched(self) -> tuple[Candidate, ...]:
        """Every section as a candidate that no search matched (score and rank 0)."""
        return tuple(Candidate(f.id, f.source, f.heading_stems, f.places) for f in self.sections)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each section's place in `sections`, by id."""
        return {f.id: i for i, f in enumerate(self.sections)}


def engine(ix: OpenIndex) -> Engine:
    """The engine of an opened index, built the first time it is asked for."""
    return ix.memo.get("engine", lambda: build_engine(ix))  # type: ignore[no-any-return]


def build_engine(ix: OpenIndex) -> Engine:
    """Section facts, the memory (bank questions learned with the index, and every section's asks) and models."""
    content = ix.content
    telling = telling_words([s.heading for a in content.articles for s in a.sections])
    facts = tuple(
        SectionFacts(f"{a.slug}#{s.anchor}", s.provenance.section, frozenset(stems(s.heading)), s.nations, a, s,
                     frozenset(words(s.heading)) & telling)
        for a in content.articles for s in a.sections
    )
    learned = ix.learned
    items = [Labelled(dict(m["terms"]), tuple(m["labels"]), str(m["group"]), urgent=bool(m.get("urgent")))
             for m in learned.get("memory", [])]
    items += asks_memory(ix, facts)
    memory = Memory.of(items) if items else None
    encoder, neighbourhood = opened(ix.folder, ix.learned.get("semantic", {}))
    return Engine(
        sections=facts,
        memory=memory,
        model=Model.from_dict(learned["ranking"]) if "ranking" in learned else Model(),
        urgency=UrgencyModel.from_dict(learned.get("urgency", {})),
        cues=content.cues if isinstance(content.cues, Cues) else Cues(),
        stats=section_stats(content),
        classifier=Classifier.from_dict(learned.get("classifier", {})),
        elsewhere=tuple(tuple(stems(p)) for p in content.elsewhere if stems(p)),
        encoder=encoder,
        neighbourhood=neighbourhood,
        probes={k: p for k, v in learned.get("probes", {}).items() if (p := Probe.from_dict(v)) is not None},
        words_urgency=UrgencyModel.from_dict(learned.get("urgency_words", {})),
    )


def asks_memory(ix: OpenIndex, facts: Sequence[SectionFacts]) -> list[Labelled]:
    """Each section's `asks` as remembered questions labelled with the section and its source section."""
    source = {f.id: f.source for f in facts}
    return [Labelled(understand(ix, ask, spelling=False).terms, (source[sid],), "asks", section=sid)
            for sid, asks in ix.content.asks.items() if sid in source for ask in asks]


def _question(ix: OpenIndex, eng: Engine, query: Query, place: str | None, shared: OnDemand | None = None
              ) -> tuple[Question, dict[str, float]]:
    """What the models need of a question, and the BM25F scores of the sections it matches (shared: a searcher
    kept open over many questions)."""
    scores = section_scores(ix, query.analysed, place, shared)
    vocab = vocabulary(ix)
    own = [w for w in query.analysed.words if len(w) > 2]
    unknown = sum(1 for w in own if w not in vocab.frequency) / len(own) if own else 0.0
    best = max(scores, key=lambda k: scores[k], default=None)
    cover = coverage(query.analysed, best, eng.stats) if best else 0.0
    intents = intended(ix, query)
    classes = eng.classifier.predict(tokens_of(query, intents)) if eng.classifier is not None else {}
    question = Question(query.terms, frozenset(query.analysed.stems), place, intents, query.analysed.core, cover,
                        unknown, classes, eng.cues.matched(query.typed, query.text),
                        names_any(stems(query.text), eng.elsewhere))
    return question, scores


def question_of(ix: OpenIndex, text: str, place: str | None = None) -> Question:
    """A question as the ranking and scope models read it."""
    return _question(ix, engine(ix), understand(ix, text), place)[0]


def tokens_of(query: Query, intents: frozenset[str]) -> list[str]:
    """The classifier's features of a question: its words as corrected, their stems and what its intents name."""
    return tokens(query.analysed.words, query.analysed.stems, intents)


def _candidates(eng: Engine, scores: Mapping[str, float]) -> tuple[Candidate, ...]:
    """Every section as a candidate, with its BM25F score and rank (0 when it did not match)."""
    # The unmatched candidates are made once: a question matches a third of the sections or fewer, and the build
    # makes the candidates of every bank question.
    out = list(eng.unmatched)
    for i, k in enumerate(sorted(scores, key=lambda k: -scores[k])):
        at = eng.positions.get(k)
        if at is not None:
            c = out[at]
            out[at] = Candidate(c.id, c.source, c.heading_stems, c.places, scores[k], i + 1)
    return tuple(out)


def rank(ix: OpenIndex, query: Query, place: str | None, scope: bool = True) -> Ranking:
    """Every section ranked for the question by the learned model, with scope and urgency. Without `scope` (a
    search, which orders sections and reads urgency only) the encoder runs only for a question whose words read
    urgent or maybe urgent (it costs about 4.5 ms a question on one core, more than a warm search's median)."""
    eng = engine(ix)
    question, hits = _question(ix, eng, query, place)
    candidates = _candidates(eng, hits)
    # The question's similarity to every remembered one is worked out once and shared by every feature.
    cos = eng.memory.cosines(question.terms) if eng.memory is not None else None
    near = neighbours(question, eng.memory, cos=cos)
    rows = features(question, candidates, eng.memory, eng.model.priors, near=near)
    probs = score(eng.model, rows) if len(candidates) else np.zeros(0)
    # A question of common words only ("who should I tell?") gives the model nothing but priors: a heading that
    # shares two or more of its words, stop words included, comes first; then the model; ties keep the BM25F order,
    # then the heading words, then the content's order. A source section ranks by its best section.
    asked, bare = frozenset(query.analysed.words), not question.stems
    shared = [len(asked & f.heading_words) for f in eng.sections]
    keys = [(-(shared[i] >= 2) if bare else 0, -float(probs[i]), -candidates[i].bm25, -shared[i])
            for i in range(len(candidates))]
    groups = [c.source or c.id for c in candidates]
    own = eng.model.within_scores(rows).tolist()
    # Without a nation, versions of one answer for different nations tie on their best; then the version that
    # fits the question best comes first (the probabilities of a source section's sections saturate together).
    within = own if place else as_versions([f.places for f in eng.sections], groups, own)
    order = in_order(keys, groups, within, own)
    ranked = diversify(tuple(Ranked(eng.sections[i], float(probs[i]), candidates[i].bm25) for i in order),
                       head=ix.tuning.distinct_head)
    urgency_by = partial(assess, cues=eng.cues, texts=(query.typed, query.text), terms=query.terms,
                         memory=eng.memory, cos=cos, matched=question.cues)
    @cache
    def near_by() -> np.ndarray:  # the encoder's evidence (kb.semantic.read_question): worked out once, if at all
        return read_question(eng.encoder, eng.neighbourhood, eng.probes, read_by_encoder(ix, query))
    # A search reads the encoder's evidence of urgency only where the words alone read urgent, maybe urgent or ruled.
    first = urgency_by(eng.words_urgency) if not scope and eng.urgency.reads_semantic else None
    if eng.urgency.reads_semantic and (first is None or first.urgent or first.maybe or first.ruled):
        urgency = urgency_by(eng.urgency, semantic=(float(near_by()[2]), float(near_by()[3]), float(near_by()[5])))
    else:
        urgency = first or urgency_by(eng.urgency)
    # Its evidence of scope where scope is read: an answer, and the adult's-emergency check below.
    if (scope or urgency.urgent) and eng.encoder is not None and eng.neighbourhood is not None:
        question = replace(question, semantic=(float(near_by()[0]), float(near_by()[1]), float(near_by()[4])))
    answers = in_scope(eng.model, scope_features(question, probs, rows, eng.memory, near=near))
    # Below Model.outside, in a short question: an adult's or an animal's danger, which gets the line "call 999".
    low = answers < eng.model.outside and len(query.text.split()) <= ix.tuning.urgent_outside_words
    # ...or, read urgent by the models alone (no cue), far outside the subject: a dog in a hot car.
    # (A search's scope, without the encoder, is not for deciding: there the bound is not read.)
    low = low or (scope and not urgency.cues and answers < ix.tuning.urgent_outside_uncued)
    urgency, answers = settled(urgency, eng.cues, query.typed, query.analysed.words, answers, low)
    return Ranking(ranked, answers, answers >= eng.model.threshold, urgency, question.coverage, question.outside)


# ---------------------------------------------------------------- fitting at build time


def learner(bank: Sequence[Mapping[str, Any]]) -> Learner:
    """The build step that fits the models on a bank of labelled questions (train fold only)."""
    return partial(fit_models, bank=bank)


class BankQuestion(NamedTuple):
    """What fitting needs of one bank question (all of it worked out where the question is read, on every core)."""

    labels: tuple[str, ...]
    group: str
    question: Question
    hits: dict[str, float]
    urgent: bool
    tokens: list[str]  # the classifier's features
    urgency: UrgencyRow
    pieces: tuple[frozenset[str], ...]  # the stems of each sentence, for urgency
    typed: str  # the question as typed (cleaned), its place names taken out, for the encoder
    near_urgent: tuple[float, ...] = (0.0, 0.0, 0.0)  # the encoder's evidence of urgency, its writer left out


def fit_models(ix: OpenIndex, bank: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Fit ranking, scope and urgency on the bank; the memory of its questions is stored with the index."""
    # The bank's questions, their candidates and neighbours are millions of small objects that live to the end of the
    # fit: the cyclic collector's full passes over them cost a sixth of the build (61 -> 52 s, the same memory).
    with collector_paused():
        return _fit_models(ix, bank)


def _fit_models(ix: OpenIndex, bank: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """fit_models' work, with the collector paused."""
    eng = build_engine(ix)
    headings = {f.source for f in eng.sections}
    # The bank's questions share many clauses (an idea, a word pair): the build keeps every one it meets, where a
    # served index keeps a bounded number.
    leaves_of(ix, "section", cap=BUILD_CLAUSES)
    # One searcher a process for the bank's thousands of questions, not one each; every core reads some of them.
    with searcher_for(ix) as shared:
        read = [r for r in fork_map(partial(_read, ix, eng, headings, shared), bank, workers=cores()) if r]
    read, semantic, probes = embedded(ix, read)
    memory_rows: list[dict[str, Any]] = [{"terms": dict(r.question.terms), "labels": list(r.labels), "group": r.group,
                                          "urgent": r.urgent} for r in read]
    # The engine of the fresh index already remembers every section's asks (it has no bank yet).
    asks = [item for item in eng.memory.items if item.section] if eng.memory else []
    bank_items = [Labelled(r["terms"], tuple(r["labels"]), r["group"], urgent=r["urgent"]) for r in memory_rows]
    memory = Memory.of(bank_items + asks)
    tuning = ix.tuning

    # Each question's cosines to the memory, worked out once on every core: its neighbours (for ranking and scope)
    # and the share of emergencies among them (for urgency).
    nearby = fork_map(partial(_nearby, memory), read, cores())
    near, shares = [n for n, _ in nearby], [share for _, share in nearby]

    def ranking() -> tuple[Model, Classifier]:
        examples = [Example(r.question, _candidates(eng, r.hits), r.labels, r.group, r.urgent) for r in read]
        fitted, classifier = classify_examples(ix, eng, examples, [r.tokens for r in read])
        model = fit_ranking(fitted, memory, near, tuning.l2, tuning.max_false_abstention, tuning.urgent_outside)
        within = fit_within(within_examples(ix, eng, memory, len(bank_items)), l2=tuning.l2)
        return replace(model, within=within), classifier

    def urgency() -> tuple[UrgencyModel, UrgencyModel]:
        """The model that reads the encoder's evidence, and the one of the words alone (a search's first look)."""
        if not eng.cues.families:
            return UrgencyModel(), UrgencyModel()
        fit = partial(fit_urgency, eng.cues, [r.urgency for r in read], memory, sure=tuning.urgent_sure,
                      false_alarm=tuning.urgent_false_alarm, margin=tuning.urgent_margin,
                      text_l2=tuning.urgent_text_l2, text_folds=tuning.urgent_text_folds,
                      line_calm=tuning.urgent_line_calm, part_stems=[r.pieces for r in read], shares=shares,
                      urgent_weight=tuning.urgent_weight)
        return fit(semantic=[r.near_urgent for r in read]), fit()

    # Urgency is fitted in a child process beside ranking here: a core each.
    (model, classifier), (urgency_model, words_model) = beside(ranking, urgency)
    return {"memory": memory_rows, "ranking": model.as_dict(), "urgency": urgency_model.as_dict(),
            "urgency_words": words_model.as_dict(), "classifier": classifier.as_dict(), "semantic": semantic,
            "probes": {k: p.as_dict() for k, p in probes.items()}}


def embedded(ix: OpenIndex, read: list[BankQuestion]
             ) -> tuple[list[BankQuestion], dict[str, list[int]], dict[str, Probe]]:
    """The bank's questions with the encoder's evidence (other writers' questions and the asks: kb.semantic) and
    the probes' log-odds (kb.probe) fitted without their writer's fold; what the index keeps; the probes of all."""
    if ix.folder is None:
        raise ValueError("the build's folder is unknown: the encoder has nowhere to go")
    asks = [read_by_encoder(ix, understand(ix, ask, spelling=False)) for own in ix.content.asks.values() for ask in own]
    bank = [(r.typed, not r.labels, r.group, r.urgent) for r in read]
    evidence, stored, probes = bank_evidence(ix.folder, bank, asks, cache_dir(), cores(), ix.tuning.probe)
    return [r._replace(question=replace(r.question, semantic=(float(a), float(b), float(e))),
                       near_urgent=(float(c), float(d), float(f)))
            for r, (a, b, c, d, e, f) in zip(read, evidence, strict=True)], stored, probes


def _nearby(memory: Memory, r: BankQuestion) -> tuple[Neighbours, float]:
    """A bank question's neighbours in the memory and the share of emergencies among them (its writer left out),
    from one set of cosines."""
    cos = memory.cosines(r.question.terms)
    return neighbours(r.question, memory, r.group, cos=cos), urgent_share(memory, r.question.terms, r.group, cos=cos)


def _read(ix: OpenIndex, eng: Engine, headings: set[str], shared: OnDemand, item: Mapping[str, Any]
          ) -> BankQuestion | None:
    """One bank question read for fitting (None when labelled with sections this content does not have)."""
    labels = tuple(h for h in item.get("expect", []) if h in headings)
    if item.get("expect") and not labels:
        return None
    query = understand(ix, str(item["q"]))
    question, hits = _question(ix, eng, query, item.get("nation") or query.nation, shared)
    group, urgent, typed = str(item.get("writer", "")), bool(item.get("urgent")), (query.typed, query.text)
    row: UrgencyRow = (question.cues, query.terms, urgent, group, ngrams(*typed), eng.cues.parts(*typed))
    # The Query itself stays here: it is what children would send back costliest (its terms are the question's).
    return BankQuestion(labels, group, question, hits, urgent, tokens_of(query, question.intents), row,
                        sentence_stems(*typed), read_by_encoder(ix, query))


def within_examples(ix: OpenIndex, eng: Engine, memory: Memory, first: int) -> list[tuple[np.ndarray, int]]:
    """For each ask of a section whose source section other sections restate too: those sections' WITHIN_FEATURES
    rows and which is the ask's own (the memory's asks follow its `first` bank questions, in asks_memory's
    order; each ask's own cosine is left out)."""
    siblings: dict[str, list[int]] = {}
    for i, f in enumerate(eng.sections):
        if f.source:
            siblings.setdefault(f.source, []).append(i)
    where = {f.id: i for i, f in enumerate(eng.sections)}
    k = first
    out = []
    with searcher_for(ix) as shared:  # one searcher for every ask
        for section_id, asks in ix.content.asks.items():
            if section_id not in where:
                continue
            group = siblings.get(eng.sections[where[section_id]].source, [])
            for ask in asks:
                k += 1
                if len(group) < 2:
                    continue
                if memory.items[k - 1].section != section_id:
                    raise ValueError(f"the memory's asks are not in the content's order at {section_id}")
                query = understand(ix, ask, spelling=False)
                question, hits = _question(ix, eng, query, query.nation, shared)
                cos = memory.cosines(question.terms)
                cos[k - 1] = 0.0
                near = neighbours(question, memory, cos=cos)
                rows = features(question, _candidates(eng, hits), memory, {}, near=near)
                out.append((rows[np.ix_(group, WITHIN_COLUMNS)], group.index(where[section_id])))
    return out


def classify_examples(ix: OpenIndex, eng: Engine, examples: Sequence[Example], docs: Sequence[Sequence[str]]
                      ) -> tuple[list[Example], Classifier]:
    """The classifier fitted on the bank and the sections' asks; each example carries the probabilities of models
    fitted without its writer's fold (the ranking learns how far to trust an unseen question's), and the mean
    of those models is served."""
    source = {f.id: f.source for f in eng.sections}
    understood = [(understand(ix, ask, spelling=False), sid) for sid, own in ix.content.asks.items() if sid in source
                  for ask in own]
    asks = [(tokens_of(query, intended(ix, query)), (source[sid],)) for query, sid in understood]
    tuning = ix.tuning
    how = Fitting(epochs=tuning.classifier_epochs, rate=tuning.classifier_rate, l2=tuning.classifier_l2)
    probabilities, classifier = cross_fit(docs, [ex.labels for ex in examples], [ex.group for ex in examples],
                                          ([a for a, _ in asks], [b for _, b in asks]), tuning.classifier_folds, how,
                                          tuning.classifier_asks_weight)
    return [replace(ex, question=replace(ex.question, classes=p))
            for ex, p in zip(examples, probabilities, strict=True)], classifier


def build(content: Content, root: Path | str, force: bool = False,
          bank: Sequence[Mapping[str, Any]] | None = None, tuning: Tuning = DEFAULT) -> dict[str, Any]:
    """Build the index with its learned ranking fitted on the bank (by default the train fold in kb.config), with
    this tuning."""
    bank = training_bank() if bank is None else bank
    return build_index(content, root, force=force, learn=learner(bank) if bank else None,
                       training=bank_digest(bank), tuning=tuning)


def up_to_date(root: Path | str, content: Content) -> bool:
    """True when the index under root was built from this content and the current training bank."""
    return is_current(root, content.digest, bank_digest(training_bank()))
