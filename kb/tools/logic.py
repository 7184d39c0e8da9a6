"""What the tools work out from the answers in an address: the decision aid's next step, the policy check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kb.tools.model import NO, YES, DecisionAid, Outcome, Point, PointList, PolicyChecklist, Question


class BadState(ValueError):
    """Answers in a URL that no run of a tool could have produced."""


@dataclass(frozen=True)
class Decision:
    """Where someone is in the decision aid: the next question to ask, or the outcome."""

    answers: tuple[tuple[Question, bool], ...]
    question: Question | None
    outcome: Outcome | None
    met: tuple[Question, ...]
    unanswered: bool = False

    def query(self, upto: int | None = None) -> list[tuple[str, str]]:
        """The query parameters that carry the first `upto` answers (all of them by default)."""
        return [(q.id, YES if yes else NO) for q, yes in self.answers[:upto]]


def decide(aid: DecisionAid, params: Mapping[str, Sequence[str]]) -> Decision:
    """The next question or the outcome for the answers in a query string; BadState when they are garbled."""
    given: dict[str, bool] = {}
    for q in aid.questions:
        values = list(params.get(q.id) or ())
        if len(values) > 1:
            raise BadState(f"The question '{q.short}' is answered more than once.")
        if values and values[0] not in (YES, NO):
            raise BadState(f"The answer to '{q.short}' must be yes or no.")
        if values:
            given[q.id] = values[0] == YES
    # Immediate danger always wins: a yes to it means "call 999" whatever else the address holds.
    if given.get(aid.danger.id):
        return Decision(((aid.danger, True),), None, aid.outcome("danger"), ())
    answers: list[tuple[Question, bool]] = []
    for i, q in enumerate(aid.questions):
        if q.id not in given:
            later = next((other for other in aid.questions[i + 1:] if other.id in given), None)
            if later is not None:
                raise BadState(f"'{later.short}' is answered before '{q.short}'.")
            asked = list(params.get("asked") or ())
            return Decision(tuple(answers), q, None, (), unanswered=asked[-1:] == [q.id])
        answers.append((q, given[q.id]))
    # Every criterion has been answered: the guidance says to refer when any one of them is met.
    met = tuple(q for q, yes in answers if yes and q is not aid.danger)
    return Decision(tuple(answers), None, aid.outcome("refer" if met else "no-referral"), met)



@dataclass(frozen=True)
class PolicyCheck:
    """What one document covers and what it is missing."""

    points: PointList
    covered: tuple[Point, ...]
    missing: tuple[Point, ...]


def check_policy(checklist: PolicyChecklist, ticked: Sequence[str]) -> tuple[PolicyCheck, ...]:
    """Covered and missing points for the ticked ids; BadState for an id that is not a point."""
    known = set(checklist.point_ids)
    unknown = [t for t in ticked if t not in known]
    if unknown:
        raise BadState("The address names a point that is not on the checklist.")
    chosen = set(ticked)
    return tuple(PolicyCheck(pl, tuple(p for p in pl.points if p.id in chosen),
                             tuple(p for p in pl.points if p.id not in chosen)) for pl in checklist.lists)
