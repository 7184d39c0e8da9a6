"""What the tools work out from the answers in an address: the decision aid's next step, the policy check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kb.model import NATIONS
from kb.tools.model import NATION, NO, YES, DecisionAid, Outcome, Part, Point, PolicyChecklist, Question


class BadState(ValueError):
    """Answers in a URL that no run of a tool could have produced."""


@dataclass(frozen=True)
class Decision:
    """Where someone is in the decision aid: the next question to ask, or the outcome.

    `answers` are the yes/no answers so far, in order; `nation` the nation answered first ("" before it is
    answered, and on the 999 outcome when immediate danger was answered without one). `met` is the referral
    criterion that decided "refer" (the aid stops at the first one met), else empty.
    """

    answers: tuple[tuple[Question, bool], ...]
    question: Question | None
    outcome: Outcome | None
    met: tuple[Question, ...]
    unanswered: bool = False
    nation: str = ""

    def query(self, upto: int | None = None) -> list[tuple[str, str]]:
        """The query parameters of the first `upto` answers, the nation first (all of them by default)."""
        pairs = [(NATION, self.nation)] if self.nation else []
        pairs += [(q.id, YES if yes else NO) for q, yes in self.answers]
        return pairs[:upto]


def _one(params: Mapping[str, Sequence[str]], key: str, short: str) -> str | None:
    """The single answer a query string gives to one question (None when it gives none)."""
    values = list(params.get(key) or ())
    if len(values) > 1:
        raise BadState(f"The question '{short}' is answered more than once.")
    return values[0] if values else None


def _given(aid: DecisionAid, params: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, bool]]:
    """The nation and the yes/no answers a query string holds; BadState when any of them is garbled."""
    nation = _one(params, NATION, aid.nation.short) or ""
    if nation and nation not in NATIONS:
        raise BadState(f"The answer to '{aid.nation.short}' must be one of the four UK nations.")
    given: dict[str, bool] = {}
    for q in aid.questions:
        value = _one(params, q.id, q.short)
        if value is not None and value not in (YES, NO):
            raise BadState(f"The answer to '{q.short}' must be yes or no.")
        if value is not None:
            given[q.id] = value == YES
    return nation, given


def decide(aid: DecisionAid, params: Mapping[str, Sequence[str]]) -> Decision:
    """The next question or the outcome for the answers in a query string; BadState when they are garbled.

    The nation is asked first, then immediate danger, then the five criteria in order. A yes to immediate
    danger means "call 999" whatever else the address holds; the first criterion answered yes means "refer",
    and answers after it are ignored (the aid never asks them); no yes at all means "no referral".
    """
    nation, given = _given(aid, params)
    asked = list(params.get("asked") or ())[-1:]
    if given.get(aid.danger.id):
        return Decision(((aid.danger, True),), None, aid.outcome("danger"), (), nation=nation)
    order = (aid.nation, *aid.questions)
    answers: list[tuple[Question, bool]] = []
    for i, q in enumerate(order):
        if (q is aid.nation and not nation) or (q is not aid.nation and q.id not in given):
            later = next((other for other in order[i + 1:] if other.id in given), None)
            if later is not None:
                raise BadState(f"'{later.short}' is answered before '{q.short}'.")
            return Decision(tuple(answers), q, None, (), unanswered=asked == [q.id], nation=nation)
        if q is aid.nation:
            continue
        answers.append((q, given[q.id]))
        if given[q.id]:
            # The guidance says to refer when any one criterion applies: one is enough, so stop asking.
            return Decision(tuple(answers), None, aid.outcome("refer"), (q,), nation=nation)
    return Decision(tuple(answers), None, aid.outcome("no-referral"), (), nation=nation)


# ---------------------------------------------------------------- the policy checklist's logic


@dataclass(frozen=True)
class PolicyCheck:
    """What one document covers and what it is missing."""

    points: Part[Point]
    covered: tuple[Point, ...]
    missing: tuple[Point, ...]


def check_policy(checklist: PolicyChecklist, ticked: Sequence[str]) -> tuple[PolicyCheck, ...]:
    """Covered and missing points for the ticked ids; BadState for an id that is not a point."""
    known = set(checklist.point_ids)
    unknown = [t for t in ticked if t not in known]
    if unknown:
        raise BadState("The address names a point that is not on the checklist.")
    chosen = set(ticked)
    return tuple(PolicyCheck(pl, tuple(p for p in pl.entries if p.id in chosen),
                             tuple(p for p in pl.entries if p.id not in chosen)) for pl in checklist.lists)
