"""Is a child in danger right now? Cue families (data, content/urgency.yaml) read from the question, combined
by a small logistic model fitted on the bank's train fold at build time. Pure: no index, no I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from kb.adults import AdultsAtRisk
from kb.analysis import stems
from kb.memory import Memory, nearest
from kb.model import any_of
from kb.rank import ADULTS
from kb.rank_fit import fit_logistic
from kb.urgency_text import TextModel, cross_scores, fit_text, ngrams

# Families that mean harm could be close: any one of them beside a time that is now or soon is the core signal.
THREATS = ("danger_to_life", "person_near", "missing", "demand_deadline", "afraid_home", "filming_now")
NOW = ("soon", "happening_now")
INTENT = "intent_to_die"  # the family that is urgent on its own
FAREWELL = "farewell"  # a goodbye: urgent on its own too
# Families that name a danger to the child's life or body by themselves (no time needed: a goodbye is sent now).
DANGER = ("danger_to_life", INTENT, FAREWELL)
MISSING = "missing"
FILMING = "filming_now"  # a child filmed or photographed undressed, as the writer tells it: urgent on its own
MEDICAL = "medical_now"  # a child seriously ill or hurt now (not breathing, unconscious...): urgent on its own
ALARMING = frozenset((*THREATS, *NOW, *DANGER))  # the families that name a danger or the time it comes
HAPPENING = "happening_now"
# The risks (kb.model.RISKS) a question signals through these families (Urgency.risks says when): crisis lines kept
# for a risk are listed in its answer.
RISK_CUES = {"self-harm": DANGER, "medical": (MEDICAL,)}
TOLD_OTHERWISE = ("planning", "hypothetical", "fiction")  # calm families of a policy, lesson or story: no child's words
DERIVED = ("threat_and_now", "threats", "calm", "calm_and_no_now", "nb", "knn", "text", "part_threat_and_now",
           "part_danger", "calm_beside_danger", "part_nb")
# The sentence encoder's evidence (kb.semantic.read_question): the share of emergencies among the question's nearest
# bank questions, how much nearer the nearest emergency is than the nearest calm question, and the urgent probe's
# log-odds. Emergencies told in other words (veiled signs, blackmail told calmly) sit near them in meaning.
SEMANTIC = ("semantic_share", "semantic_gap", "semantic_probe")
# One bank question as fitting sees it: matched families, terms, urgent, writer, its words and word pairs, and the
# families of each of its sentences (none when it has one sentence).
Row = tuple[frozenset[str], Mapping[str, float], bool, str, frozenset[str], tuple[frozenset[str], ...]]
# Where one sentence of a message ends: a long message about something else can hold its danger in one sentence,
# and a calm word (a meeting last week, next term's policy) in another does not make that sentence calm.
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\s*\n\s*")


@dataclass(frozen=True)
class CueFamily:
    """A family of cues: patterns that mean one thing (a threat to life, someone near, a time soon...)."""

    name: str
    raises: bool
    about: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()  # patterns that overrule the family wherever they are found

    @cached_property
    def _any(self) -> re.Pattern[str]:
        return any_of(self.patterns)

    @cached_property
    def _veto(self) -> re.Pattern[str]:
        return any_of(self.unless)

    def matches(self, text: str) -> bool:
        """True when any pattern of the family is in the text (in any case), and none of its `unless` patterns."""
        lowered = text.lower()
        return self._any.search(lowered) is not None and (not self.unless or self._veto.search(lowered) is None)


@dataclass(frozen=True)
class Cues:
    """Every cue family, those that raise urgency and those (calm) that lower it."""

    families: tuple[CueFamily, ...] = ()
    pleasantries: frozenset[str] = frozenset()  # greetings, thanks, goodbyes: a message of these alone is calm
    adults: AdultsAtRisk = AdultsAtRisk()  # the one at risk said to be an adult: declined with the line "call 999"

    def pleasantry(self, text: str) -> bool:
        """Whether the text is nothing but greetings, thanks or goodbyes ("thanks, bye", "diolch yn fawr")."""
        words = re.findall(r"[^\W\d_]+", text.lower())
        i = 0
        while i < len(words):
            step = next((n for n in (3, 2, 1) if " ".join(words[i:i + n]) in self.pleasantries), 0)
            if not step:
                return False
            i += step
        return bool(words)

    def matched(self, *texts: str) -> frozenset[str]:
        """The names of the families found in any of the texts (as typed and as corrected)."""
        distinct = [t for t in dict.fromkeys(texts) if t]  # most questions need no correction: read them once
        return frozenset(f.name for f in self.families for t in distinct if f.matches(t))

    def parts(self, *texts: str) -> tuple[frozenset[str], ...]:
        """The families found in each sentence of the texts (none for a text of one sentence)."""
        return tuple(self.matched(p) for p in sentences(*texts))

    def calm(self, matched: frozenset[str]) -> frozenset[str]:
        """The calm families (planning, the past, a story, adults only...) among those matched."""
        return frozenset(f.name for f in self.families if not f.raises and f.name in matched)

    @property
    def names(self) -> tuple[str, ...]:
        """Family names in file order."""
        return tuple(f.name for f in self.families)


@dataclass(frozen=True)
class Urgency:
    """How urgent a question reads: the model's probability, and whether it is urgent or maybe urgent."""

    probability: float
    urgent: bool
    maybe: bool
    cues: frozenset[str]
    sure: bool = False  # so clearly an emergency that the answer is the 999 step itself
    ruled: bool = False  # the safety rules read an emergency, whether or not the model gave it their floor
    adult: bool = False  # the danger of someone said to be an adult (Cues.adults): the line "call 999", declined

    @property
    def named(self) -> bool:
        """Whether the question names a danger (a threat, a child meaning to end their life or saying goodbye), not
        only a time."""
        return any(name in self.cues for name in (*DANGER, *THREATS, MEDICAL))

    @property
    def risks(self) -> frozenset[str]:
        """The risks the question signals: when it reads as urgent or maybe urgent, or when it says a child means to
        end their life or says goodbye, told as it happened, not as a policy, lesson or story ("she said she wants
        to die, but she is fine now": the crisis lines are still what to give her)."""
        said = bool(self.cues & {INTENT, FAREWELL}) and not self.cues & set(TOLD_OTHERWISE)
        if not (self.urgent or self.maybe or said):
            return frozenset()
        return frozenset(risk for risk, names in RISK_CUES.items() if self.cues & set(names))


@dataclass(frozen=True)
class UrgencyModel:
    """Logistic weights over the cue families and derived features (the words' own model among them), with three
    thresholds: maybe urgent (the one line "call 999"), urgent (the emergency answer) and sure (the 999 step)."""

    names: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    bias: float = 0.0
    threshold: float = 0.5
    maybe: float = 0.2
    sure: float = 0.5
    text: TextModel = TextModel()
    floor: float = 0.0  # the safety rules make a question urgent from this probability up

    @property
    def reads_semantic(self) -> bool:
        """Whether the model reads the encoder's evidence (SEMANTIC)."""
        return SEMANTIC[0] in self.names

    def as_dict(self) -> dict[str, Any]:
        """A JSON form, stored with the index."""
        return {"names": list(self.names), "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, "maybe": self.maybe, "sure": self.sure, "text": self.text.as_dict(),
                "floor": self.floor}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UrgencyModel:
        """The stored model (an empty one, which falls back to the rule, when absent)."""
        if not data:
            return cls()
        return cls(tuple(data["names"]), tuple(data["weights"]), float(data["bias"]), float(data["threshold"]),
                   float(data["maybe"]), float(data.get("sure", 0.5)), TextModel.from_dict(data.get("text", {})),
                   float(data.get("floor", 0.0)))


def sentences(*texts: str) -> list[str]:
    """The sentences of each distinct text, in turn (none of a text of one sentence: it is read whole)."""
    out: list[str] = []
    for text in dict.fromkeys(t for t in texts if t):
        pieces = [p for p in _SENTENCE.split(text) if p.strip()]
        if len(pieces) > 1:
            out.extend(pieces)
    return out


def sentence_stems(*texts: str) -> tuple[frozenset[str], ...]:
    """The stems of each sentence of the texts, in Cues.parts' order."""
    return tuple(frozenset(stems(p)) for p in sentences(*texts))


def feature_names(cues: Cues, semantic: bool = False) -> tuple[str, ...]:
    """The model's inputs: one per family, then the derived ones, then (semantic) the encoder's evidence."""
    return (*cues.names, *DERIVED, *(SEMANTIC if semantic else ()))


def row(cues: Cues, matched: frozenset[str], terms: Mapping[str, float], memory: Memory | None,
        exclude: str = "", cos: np.ndarray | None = None, text: float = 0.0, parts: Sequence[frozenset[str]] = (),
        part_stems: Sequence[frozenset[str]] = (), share: float | None = None,
        semantic: tuple[float, ...] | None = None) -> np.ndarray:
    """The feature row of one question (text: the words' model's log-odds; parts: its sentences' families;
    part_stems: its sentences' stems, in the same order; share: its urgent_share, when already worked out;
    semantic: the encoder's evidence, for a model that reads it)."""
    calm = len(cues.calm(matched))
    threats = sum(1 for name in THREATS if name in matched)
    now = any(name in matched for name in NOW)
    # A sentence with no calm word of its own: the danger and the time it names are read together.
    pieces = parts or (matched,)
    clear = [p for p in pieces if not cues.calm(p)]
    # The calm words in the sentences that name a danger or its time: a payslip "last month" in another sentence of
    # a long message does not make its danger past (the whole message's calm words are an input too).
    beside = max((len(cues.calm(p)) for p in pieces if not p.isdisjoint(ALARMING)), default=0)
    nb = knn = part_nb = 0.0
    if memory is not None and memory.items:
        nb = memory.log_odds("urgent", terms, exclude)
        knn = urgent_share(memory, terms, exclude, cos=cos) if share is None else share
        # The words of a sentence that names a danger or its time, weighed alone: a long message about other
        # things does not dilute them.
        pairs = zip(parts, part_stems, strict=True) if part_stems else ()
        part_nb = max((memory.log_odds("urgent", [t for t in terms if t in own], exclude)
                       for p, own in pairs if not p.isdisjoint(ALARMING)), default=nb)
    values = {"threat_and_now": float(threats > 0 and now), "threats": float(threats), "calm": float(calm),
              "calm_and_no_now": float(calm > 0 and not now), "nb": max(-10.0, min(10.0, nb)) / 10.0, "knn": knn,
              "text": max(-10.0, min(10.0, text)) / 10.0,
              "part_threat_and_now": float(any(not p.isdisjoint(THREATS) and not p.isdisjoint(NOW) for p in clear)),
              "part_danger": float(any(not p.isdisjoint(DANGER) for p in clear)),
              "calm_beside_danger": float(beside), "part_nb": max(-10.0, min(10.0, part_nb)) / 10.0}
    return np.array([float(name in matched) for name in cues.names] + [values[name] for name in DERIVED]
                    + list(semantic or ()))


def urgent_share(memory: Memory, terms: Mapping[str, float], exclude: str, k: int = 10,
                  cos: np.ndarray | None = None) -> float:
    """Share of the nearest remembered bank questions that were emergencies (cosine-weighted)."""
    table = memory.table
    if table is None:
        return 0.0
    cos = (memory.cosines(terms) if cos is None else cos) * table.bank
    keep = table.group_mask(exclude)
    if keep is not None:
        cos = np.where(keep, cos, 0.0)
    top = nearest(cos, k)
    total = float(cos[top].sum())
    return float(cos[top] @ table.urgent[top]) / total if total else 0.0


def rule(cues: Cues, matched: frozenset[str]) -> bool:
    """The fallback without a fitted model: a threat to life, or another threat with a time now or soon, and no
    sign of planning or the past without one."""
    calm = bool(cues.calm(matched))
    now = any(name in matched for name in NOW)
    if "danger_to_life" in matched:
        return not calm or now
    return any(name in matched for name in THREATS) and now and not (calm and HAPPENING not in matched)


def certain(cues: Cues, matched: frozenset[str], parts: Sequence[frozenset[str]] = ()) -> bool:
    """Whether the question, or one of its sentences read alone, is certainly urgent (certain_whole): in a long
    message, the past or a policy named in another sentence does not calm a child missing now."""
    # Who is involved holds across sentences as a time does not: a message that says only adults are involved is
    # not made certain by one of its sentences read alone.
    return certain_whole(cues, matched) or (ADULTS not in matched and any(certain_whole(cues, p) for p in parts))


def certain_whole(cues: Cues, matched: frozenset[str]) -> bool:
    """Whether the cues are urgent whatever the model makes of the rest, with nothing that says planning, the past,
    a story or adults only: a child meaning to end their life or saying goodbye, a child missing, a threat the
    writer says is happening now, or two kinds of threat at a time now or soon."""
    # Safety first: these are the emergencies of issue 12 told without a calm cue. On the train fold 170 of the 176
    # questions they take in are emergencies (the others: blackmail in progress told calmly, a child not coming in
    # to school); the model alone can score a short one below its threshold when its words are unlike the bank's.
    # A goodbye joined them in the tenth session: veiled goodbyes in long messages were the train fold's most
    # frequent misses (out of fold with the rules, at the same calm false alarms: recall 0.989 -> 0.992).
    if cues.calm(matched):
        return False
    threats = sum(1 for name in THREATS if name in matched)
    now = any(name in matched for name in NOW)
    return (INTENT in matched or FAREWELL in matched or MISSING in matched or FILMING in matched or MEDICAL in matched
            or (threats >= 1 and HAPPENING in matched)
            or (threats >= 2 and now))


def wordless(urgency: Urgency, words: Sequence[str]) -> bool:
    """No cue and no word of three letters or more: noise such as "%00", which the words' model alone can score as
    an emergency. (Words the index does not know are no sign: "daughter 15 in insta-mans car", or Welsh.)"""
    return not urgency.cues and not any(len(w) > 2 for w in words)


def assess(model: UrgencyModel, cues: Cues, texts: Sequence[str], terms: Mapping[str, float],
           memory: Memory | None, cos: np.ndarray | None = None, matched: frozenset[str] | None = None,
           semantic: tuple[float, ...] | None = None) -> Urgency:
    """How urgent the question is (texts: as typed, and as corrected; matched: the families found in them, when
    already known; semantic: the encoder's evidence, which a model that reads it must be given)."""
    matched = cues.matched(*texts) if matched is None else matched
    if model.reads_semantic and semantic is None:
        raise ValueError("this urgency model reads the sentence encoder's evidence")
    if not model.names or model.names != feature_names(cues, model.reads_semantic):
        hit = certain(cues, matched, cues.parts(*texts)) or rule(cues, matched)
        return Urgency(1.0 if hit else 0.0, hit, False, matched, hit)
    parts = cues.parts(*texts)
    x = row(cues, matched, terms, memory, cos=cos, text=model.text.score(ngrams(*texts)), parts=parts,
            part_stems=sentence_stems(*texts), semantic=semantic if model.reads_semantic else None)
    p = _sigmoid(float(x @ np.array(model.weights)) + model.bias)
    ruled = certain(cues, matched, parts)
    # A child seriously ill or hurt now needs 999 whatever the bank's words make of it: its adults' emergencies
    # are labelled calm, and it has almost no child's medical emergency to learn from.
    urgent = p >= model.threshold or (p >= model.floor and ruled) or (ruled and MEDICAL in matched)
    return Urgency(p, urgent, not urgent and p >= model.maybe, matched, p >= model.sure, ruled)


def fit(cues: Cues, rows: Sequence[Row], memory: Memory, sure: float = 0.5, false_alarm: float = 0.02,
        margin: float = 0.5, text_l2: float = 1.0, text_folds: int = 0, line_calm: float = 1.0,
        part_stems: Sequence[Sequence[frozenset[str]]] = (), shares: Sequence[float] = (),
        urgent_weight: float = 3.0, semantic: Sequence[tuple[float, ...]] = ()) -> UrgencyModel:
    """Fit on bank rows; every writer's features (the memory's evidence, the words' model) come from data without
    them, so the scores are those of unseen writers. Recall first: "maybe urgent" starts at `margin` times the
    score of the train fold's least urgent-looking emergency, so every one of them at least gets the line "call
    999", unless that would show the line on more than `line_calm` of the calm questions; the emergency answer
    starts where no more than `false_alarm` of the calm questions reach, those the safety rules flag among them
    (never below "maybe"); `sure` is where the answer becomes the 999 step itself. part_stems: each row's
    sentences' stems (sentence_stems; none: each row read whole); shares: each row's urgent_share when already
    worked out (none: worked out here); urgent_weight: how much more an emergency weighs than a calm question;
    semantic: each row's encoder evidence, its writer left out (none: a model that does not read it)."""
    x, y, weight = design(cues, rows, memory, text_l2, text_folds, part_stems, shares, urgent_weight, semantic)
    names = feature_names(cues, bool(semantic))
    bags = [r[4] for r in rows]
    w, b = fit_logistic(x, y, l2=1.0, weight=weight)
    if not (y > 0).any() or not (y == 0).any():
        return UrgencyModel(names, tuple(float(v) for v in w), b, sure, sure / 2.0, sure,
                            fit_text(bags, y, l2=text_l2))
    # The thresholds are set on each writer's scores from a model fitted without them: how unseen writers score.
    p = held_out_scores(x, y, weight, np.array([r[3] for r in rows]))
    maybe = margin * float(p[y > 0].min())
    # A line shown above most answers is a line people learn to skip: it reaches at most `line_calm` of them.
    calm_scores = np.sort(p[y == 0])[::-1]
    reach = int(line_calm * len(calm_scores))
    if reach < len(calm_scores):
        maybe = max(maybe, float(np.nextafter(calm_scores[reach], 1.0)))
    # The calm questions the safety rules flag (from their floor up) count among the false alarms, so the score's
    # share is what is left of `false_alarm` (the measure is of the two together).
    ruled_all = np.array([certain(cues, r[0], r[5]) for r in rows])
    floor = rules_floor(p, y, ruled_all, margin)
    ruled = (ruled_all & (p >= floor))[y == 0]
    calm = np.sort(p[y == 0][~ruled])[::-1]
    room = int(false_alarm * len(ruled)) - int(ruled.sum())
    # Just above the score of the first calm question there is no room for, so that `room` of them reach it.
    threshold = max(maybe, float(np.nextafter(calm[max(room, 0)], 1.0)) if len(calm) > max(room, 0) else maybe)
    return UrgencyModel(names, tuple(float(v) for v in w), b, threshold, maybe,
                        max(sure, threshold), fit_text(bags, y, l2=text_l2), floor)


def rules_floor(p: np.ndarray, y: np.ndarray, ruled: np.ndarray, margin: float) -> float:
    """The least probability at which the safety rules make a question urgent: `margin` times the score of the
    least urgent-looking train emergency they catch (each writer scored by a model fitted without them)."""
    # The rules are there for emergencies the model scores low, but not near nothing: a calm question that only
    # shares their words (a dog gone missing, a child off school for weeks: who to tell) scores far lower.
    caught = p[(y > 0) & ruled]
    return margin * float(caught.min()) if len(caught) else 0.0


def design(cues: Cues, rows: Sequence[Row], memory: Memory, text_l2: float = 1.0, text_folds: int = 0,
           part_stems: Sequence[Sequence[frozenset[str]]] = (), shares: Sequence[float] = (),
           urgent_weight: float = 3.0, semantic: Sequence[tuple[float, ...]] = ()
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitting data of bank rows: features (each writer's from data without them), labels and weights;
    part_stems, shares, urgent_weight and semantic as for fit."""
    y = np.array([1.0 if r[2] else 0.0 for r in rows])
    text = cross_scores([r[4] for r in rows], y, [r[3] for r in rows], l2=text_l2, k=text_folds)
    own = part_stems or [()] * len(rows)
    known: Sequence[float | None] = shares or [None] * len(rows)
    read: Sequence[tuple[float, ...] | None] = semantic or [None] * len(rows)
    x = np.vstack([row(cues, matched, terms, memory, exclude=group, text=t, parts=parts, part_stems=ps, share=sh,
                       semantic=se)
                   for (matched, terms, _, group, _, parts), t, ps, sh, se
                   in zip(rows, text, own, known, read, strict=True)])
    # An emergency missed costs far more than a calm question flagged: emergencies weigh more.
    return x, y, np.where(y > 0, urgent_weight, 1.0)


def held_out_scores(x: np.ndarray, y: np.ndarray, weight: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each row's probability from the logistic model fitted without its writer's rows (in-sample for a writer
    alone, or when the rest lack either class)."""
    p = np.zeros(len(y))
    # Each writer's fit starts from the fit on every row: the same optimum in fewer Newton steps.
    start = fit_logistic(x, y, l2=1.0, weight=weight)
    for g in np.unique(groups):
        out = groups == g
        rest = ~out
        if out.all() or not (y[rest] > 0).any() or not (y[rest] == 0).any():
            rest = np.ones(len(y), dtype=bool)
        w, b = fit_logistic(x[rest], y[rest], l2=1.0, weight=weight[rest], start=start)
        p[out] = 1.0 / (1.0 + np.exp(-(x[out] @ w + b)))
    return p


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, v))))
