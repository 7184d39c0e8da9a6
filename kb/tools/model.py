"""The tools as values: the decision aid, the record sheet and the policy checklist (content/tools.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from kb.model import Provenance

TOOLS_FILE = "tools.yaml"
TOOL_URLS = {"decide": "/decide", "record": "/record", "policy": "/policy"}
YES, NO = "yes", "no"
OUTCOMES = ("danger", "refer", "no-referral")
FIELD_KINDS = ("text", "textarea", "radios", "checkboxes", "signature")
# The decision aid's first question: where the child lives. Its answer is a nation slug in `nation=`, the
# parameter every page of the site reads, so a nation chosen elsewhere is already answered here.
NATION = "nation"
ARTICLE_LINK = re.compile(r"^/articles/([a-z0-9-]+)(?:#([a-z0-9-]+))?$")


@dataclass(frozen=True)
class Question:
    """One yes/no question of the decision aid."""

    id: str
    short: str
    question: str
    hint: str
    means: str
    link: str
    provenance: Provenance
    line: int = 0
    risk: str = ""  # a risk (kb.model.RISKS) a yes signals: the outcome then lists its crisis lines


@dataclass(frozen=True)
class Step:
    """One thing to do on an outcome page, or one route to share a concern."""

    heading: str
    text: str
    link: str
    provenance: Provenance
    contacts: tuple[str, ...] = ()
    tool: str = ""
    routes: bool = False
    when: tuple[str, ...] = ()
    line: int = 0

    @property
    def contact(self) -> str:
        """The step's first contact id ("" when it names none)."""
        return self.contacts[0] if self.contacts else ""


@dataclass(frozen=True)
class Outcome:
    """Where the decision aid ends: call 999, refer, or no referral on these answers."""

    id: str
    title: str
    lead: str
    steps: tuple[Step, ...]
    line: int = 0


@dataclass(frozen=True)
class DecisionAid:
    """The referral decision aid: the nation first, then immediate danger, then the referral criteria."""

    title: str
    summary: str
    intro: str
    link: str
    provenance: Provenance
    danger: Question
    criteria: tuple[Question, ...]
    outcomes: tuple[Outcome, ...]
    routes: tuple[Step, ...]
    adult_note: str
    nation: Question
    # The guidance's other steps, listed on every outcome whatever the answers.
    next_steps: tuple[Step, ...] = ()

    @property
    def questions(self) -> tuple[Question, ...]:
        """Every yes/no question in the order asked (the nation question comes before them)."""
        return (self.danger, *self.criteria)

    def outcome(self, outcome_id: str) -> Outcome:
        """The outcome with this id (the parser makes sure each exists)."""
        return next(o for o in self.outcomes if o.id == outcome_id)


@dataclass(frozen=True)
class Field:
    """One labelled field of the record sheet."""

    id: str
    label: str
    kind: str = "text"
    hint: str = ""
    options: tuple[str, ...] = ()
    rows: int = 3
    line: int = 0


@dataclass(frozen=True)
class RecordSheet:
    """The incident record sheet."""

    title: str
    summary: str
    intro: str
    privacy: str
    warning: str
    warning_link: str
    groups: tuple[Part[Field], ...]


@dataclass(frozen=True)
class Point:
    """One thing a policy statement or the procedures must cover."""

    id: str
    label: str
    explain: str
    link: str
    line: int = 0


E = TypeVar("E", bound="Entry")


class Entry(Protocol):
    """What a part holds: a field of the record sheet or a point of the checklist."""

    @property
    def id(self) -> str: ...

    @property
    def line(self) -> int: ...


@dataclass(frozen=True)
class Part(Generic[E]):
    """A part of a tool page (a group of the record sheet's fields, or a list of the checklist's points), with
    the source section it comes from."""

    id: str
    heading: str
    text: str  # the group's introduction, or the question the list asks
    link: str
    provenance: Provenance
    entries: tuple[E, ...]
    line: int = 0


@dataclass(frozen=True)
class PolicyChecklist:
    """The policy and procedures checklist."""

    title: str
    summary: str
    intro: str
    lists: tuple[Part[Point], ...]

    @property
    def point_ids(self) -> tuple[str, ...]:
        """Every point's id, in order."""
        return tuple(p.id for pl in self.lists for p in pl.entries)


@dataclass(frozen=True)
class ToolLink:
    """A tool to offer beside answers drawn from some source sections."""

    tool: str
    title: str
    sources: tuple[str, ...]
    line: int = 0

    @property
    def url(self) -> str:
        """Where the site serves the tool."""
        return TOOL_URLS[self.tool]


@dataclass(frozen=True)
class Tools:
    """Everything in content/tools.yaml."""

    decide: DecisionAid
    record: RecordSheet
    policy: PolicyChecklist
    links: tuple[ToolLink, ...]

    def for_section(self, source_heading: str) -> list[tuple[str, str]]:
        """(title, url) of each tool that goes with answers from this source section."""
        return [(link.title, link.url) for link in self.links if source_heading in link.sources]
