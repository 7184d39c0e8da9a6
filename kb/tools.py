"""The tools as data (decision aid, record sheet, policy checklist) and their logic; loaders read files."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kb.model import NATIONS, SOURCE_DOCUMENT, Content, Problem, Provenance
from kb.parse import ContentError, Fields, Parsed, load_yaml

TOOLS_FILE = "tools.yaml"
TOOL_URLS = {"decide": "/decide", "record": "/record", "policy": "/policy"}
YES, NO = "yes", "no"
OUTCOMES = ("danger", "refer", "no-referral")
FIELD_KINDS = ("text", "textarea", "radios", "checkboxes", "signature")
# The decision aid's first question: where the child lives. Its answer is a nation slug in `nation=`, the
# parameter every page of the site reads, so a nation chosen elsewhere is already answered here.
NATION = "nation"
# Query parameters the decision aid uses itself, so no yes/no question may take their names.
RESERVED = frozenset({"asked", NATION})
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ARTICLE_LINK = re.compile(r"^/articles/([a-z0-9-]+)(?:#([a-z0-9-]+))?$")


# ---------------------------------------------------------------- values


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
class FieldGroup:
    """A part of the record sheet, with the source section it comes from."""

    id: str
    heading: str
    intro: str
    link: str
    provenance: Provenance
    fields: tuple[Field, ...]
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
    groups: tuple[FieldGroup, ...]


@dataclass(frozen=True)
class Point:
    """One thing a policy statement or the procedures must cover."""

    id: str
    label: str
    explain: str
    link: str
    line: int = 0


@dataclass(frozen=True)
class PointList:
    """The points one document (the policy statement, or the procedures) must cover."""

    id: str
    heading: str
    question: str
    link: str
    provenance: Provenance
    points: tuple[Point, ...]
    line: int = 0


@dataclass(frozen=True)
class PolicyChecklist:
    """The policy and procedures checklist."""

    title: str
    summary: str
    intro: str
    lists: tuple[PointList, ...]

    @property
    def point_ids(self) -> tuple[str, ...]:
        """Every point's id, in order."""
        return tuple(p.id for pl in self.lists for p in pl.points)


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


# ---------------------------------------------------------------- parsing


class _Map(Fields):
    """The parser's field reader, for the nested mappings of tools.yaml (problems point at the field)."""

    def __init__(self, data: Any, path: str, problems: list[Problem], line: int = 1, what: str = "",
                 headings: Sequence[str] = ()) -> None:
        if not isinstance(data, dict):
            problems.append(Problem(path, line, f"{what or 'this'} must be a mapping of fields"))
            data = {}
        super().__init__(data, path, problems, line)
        self.headings = headings

    def text(self, key: str, required: bool = True) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.problem(f"missing '{key}'")
            return ""
        if isinstance(value, bool | dict | list):
            self.problem(f"'{key}' must be text, not {type(value).__name__}", key=key)
            return ""
        return " ".join(str(value).split())

    def slug(self, key: str = "id") -> str:
        value = self.text(key)
        if value and not SLUG.match(value):
            self.problem(f"'{key}' '{value}' must be lower-case words joined by hyphens", key=key)
        return value

    def words(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None or value == "":
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.problem(f"'{key}' must be a list of words", key=key)
            return ()
        return tuple(" ".join(str(v).split()) for v in value)

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(f"'{key}' must be a whole number from {low} to {high}", key=key)
            return default
        return value

    def link(self, key: str = "link") -> str:
        value = self.text(key)
        if value and not ARTICLE_LINK.match(value):
            self.problem(f"'{key}' must be an article link /articles/<slug>#<anchor>, not '{value}'", key=key)
        return value

    def heading(self, value: str) -> str:
        """A source heading, or the one heading that starts with these whole words (as articles allow)."""
        if not self.headings or value in self.headings:
            return value
        found = [h for h in self.headings if h.startswith(value + " ")]
        return found[0] if len(found) == 1 else value

    def provenance(self, key: str = "source") -> Provenance:
        return Provenance(document=SOURCE_DOCUMENT, section=self.heading(self.text(key)))

    def child(self, key: str, what: str) -> _Map:
        return _Map(self.data.get(key), self.path, self.problems, self.line_of(key), what, self.headings)

    def children(self, key: str, what: str) -> list[_Map]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            self.problem(f"'{key}' must be a list of {what}", key=key)
            return []
        return [_Map(item, self.path, self.problems, self.line_of(key), what, self.headings) for item in value]


def _question(m: _Map) -> Question:
    question_id = m.slug()
    if question_id in RESERVED:
        m.problem(f"question id '{question_id}' is reserved", key="id")
    return Question(id=question_id, short=m.text("short"), question=m.text("question"), hint=m.text("hint"),
                    means=m.text("means"), link=m.link(), provenance=m.provenance(), line=m.line)


def _step(m: _Map) -> Step:
    tool = m.text("tool", required=False)
    if tool and tool not in TOOL_URLS:
        m.problem(f"unknown tool '{tool}' (expected one of: {', '.join(TOOL_URLS)})", key="tool")
        tool = ""
    contacts = m.words("contact") if isinstance(m.data.get("contact"), list) else (
        (m.text("contact", required=False),) if m.data.get("contact") else ())
    return Step(heading=m.text("heading"), text=m.text("text"), link=m.link(), provenance=m.provenance(),
                contacts=contacts, tool=tool, routes=m.flag("routes"), when=m.words("when"), line=m.line)


def _nation_question(m: _Map) -> Question:
    """The first question (where the child lives), answered with a nation slug in `nation=`."""
    if m.data.get("id", NATION) != NATION:
        m.problem(f"the nation question's id must be '{NATION}', the parameter the whole site reads", key="id")
    return Question(id=NATION, short=m.text("short"), question=m.text("question"), hint=m.text("hint"),
                    means=m.text("means"), link=m.link(), provenance=m.provenance(), line=m.line)


def _decision_aid(m: _Map) -> DecisionAid:
    nation = _nation_question(m.child("nation", "the nation question"))
    danger = _question(m.child("danger", "the immediate danger question"))
    criteria = tuple(_question(c) for c in m.children("criteria", "referral criteria"))
    outcomes = []
    for o in m.children("outcomes", "outcomes"):
        outcome_id = o.text("id")
        if outcome_id and outcome_id not in OUTCOMES:
            o.problem(f"unknown outcome '{outcome_id}' (expected one of: {', '.join(OUTCOMES)})", key="id")
        outcomes.append(Outcome(id=outcome_id, title=o.text("title"), lead=o.text("lead"),
                                steps=tuple(_step(s) for s in o.children("steps", "steps")), line=o.line))
    found = [o.id for o in outcomes]
    for outcome_id in OUTCOMES:
        if found.count(outcome_id) != 1:
            m.problem(f"the decision aid needs exactly one '{outcome_id}' outcome", key="outcomes")
    seen: set[str] = set()
    for q in (danger, *criteria):
        if q.id in seen:
            m.problems.append(Problem(m.path, q.line, f"duplicate question id '{q.id}'"))
        seen.add(q.id)
    return DecisionAid(title=m.text("title"), summary=m.text("summary"), intro=m.text("intro"), link=m.link(),
                       provenance=m.provenance(), danger=danger, criteria=criteria, outcomes=tuple(outcomes),
                       routes=tuple(_step(r) for r in m.children("routes", "routes")),
                       adult_note=m.text("adult_note"), nation=nation,
                       next_steps=tuple(_step(s) for s in m.children("next_steps", "next steps")))


def _field(m: _Map) -> Field:
    kind = m.text("kind", required=False) or "text"
    if kind not in FIELD_KINDS:
        m.problem(f"unknown kind '{kind}' (expected one of: {', '.join(FIELD_KINDS)})", key="kind")
        kind = "text"
    options = m.words("options")
    if kind in ("radios", "checkboxes") and len(options) < 2:
        m.problem(f"a '{kind}' field needs at least two options", key="options")
    return Field(id=m.slug(), label=m.text("label"), kind=kind, hint=m.text("hint", required=False),
                 options=options, rows=m.number("rows", 3, 1, 20), line=m.line)


def _record_sheet(m: _Map) -> RecordSheet:
    groups = []
    for g in m.children("groups", "groups of fields"):
        fields = tuple(_field(f) for f in g.children("fields", "fields"))
        groups.append(FieldGroup(id=g.slug(), heading=g.text("heading"),
                                 intro=g.text("intro", required=False), link=g.link(),
                                 provenance=g.provenance(), fields=fields, line=g.line))
    _unique([(f.id, f.line) for g in groups for f in g.fields], m, "field id")
    return RecordSheet(title=m.text("title"), summary=m.text("summary"), intro=m.text("intro"),
                       privacy=m.text("privacy"), warning=m.text("warning"),
                       warning_link=m.link("warning_link"), groups=tuple(groups))


def _policy_checklist(m: _Map) -> PolicyChecklist:
    lists = []
    for pl in m.children("lists", "lists of points"):
        points = tuple(Point(id=p.slug(), label=p.text("label"), explain=p.text("explain"), link=p.link(),
                             line=p.line) for p in pl.children("points", "points"))
        lists.append(PointList(id=pl.slug(), heading=pl.text("heading"), question=pl.text("question"),
                               link=pl.link(), provenance=pl.provenance(), points=points, line=pl.line))
    _unique([(p.id, p.line) for pl in lists for p in pl.points], m, "point id")
    return PolicyChecklist(title=m.text("title"), summary=m.text("summary"), intro=m.text("intro"),
                           lists=tuple(lists))


def _tool_links(root: _Map) -> tuple[ToolLink, ...]:
    links = []
    for m in root.children("links", "tool links"):
        tool = m.text("tool")
        if tool and tool not in TOOL_URLS:
            m.problem(f"unknown tool '{tool}' (expected one of: {', '.join(TOOL_URLS)})", key="tool")
            continue
        sources = tuple(m.heading(s) for s in m.words("sources"))
        if not sources:
            m.problem("'sources' must list at least one source heading", key="sources")
        links.append(ToolLink(tool=tool, title=m.text("title"), sources=sources, line=m.line))
    return tuple(links)


def _unique(values: Sequence[tuple[str, int]], m: _Map, what: str) -> None:
    seen: set[str] = set()
    for value, line in values:
        if value and value in seen:
            m.problems.append(Problem(m.path, line, f"duplicate {what} '{value}'"))
        seen.add(value)


def parse_tools(text: str, path: str = TOOLS_FILE, headings: Sequence[str] = ()) -> Parsed:
    """The tools in tools.yaml's text (None when it has errors); headings resolve leading-word sources."""
    try:
        data = load_yaml(text)
    except ContentError as exc:
        return Parsed(None, (Problem(path, exc.line, exc.message),))
    problems: list[Problem] = []
    root = _Map(data, path, problems, what="tools.yaml", headings=headings)
    if not root.data:
        return Parsed(None, tuple(problems) or (Problem(path, 1, "tools.yaml is empty"),))
    tools = Tools(
        decide=_decision_aid(root.child("decide", "'decide'")),
        record=_record_sheet(root.child("record", "'record'")),
        policy=_policy_checklist(root.child("policy", "'policy'")),
        links=_tool_links(root),
    )
    errors = tuple(problems)
    return Parsed(None if errors else tools, errors)


# ---------------------------------------------------------------- checks against the content


def check_tools(tools: Tools, content: Content, headings: Sequence[str],
                path: str = TOOLS_FILE) -> list[Problem]:
    """Cross-file checks: sources are source headings, links land on article sections, contacts exist."""
    problems: list[Problem] = []
    anchors = {a.slug: {s.anchor for s in a.sections} for a in content.articles}
    contacts = {c.id for c in content.contacts}
    aid = tools.decide
    criteria = {q.id for q in aid.criteria}

    def source(prov: Provenance, line: int) -> None:
        if prov.section not in headings:
            problems.append(Problem(path, line, f"source '{prov.section}' is not a source heading"))

    def link(target: str, line: int) -> None:
        match = ARTICLE_LINK.match(target)
        if not match:
            return  # the parser has already said so
        slug, anchor = match.groups()
        if slug not in anchors or (anchor and anchor not in anchors[slug]):
            problems.append(Problem(path, line, f"broken link '{target}'"))

    source(aid.provenance, 1)
    link(aid.link, 1)
    for q in (aid.nation, *aid.questions):
        source(q.provenance, q.line)
        link(q.link, q.line)
    for step in [s for o in aid.outcomes for s in o.steps] + list(aid.routes) + list(aid.next_steps):
        source(step.provenance, step.line)
        link(step.link, step.line)
        for contact in step.contacts:
            if contact not in contacts:
                problems.append(Problem(path, step.line, f"contact id '{contact}' is not in contacts.yaml"))
        for criterion in step.when:
            if criterion not in criteria:
                problems.append(Problem(path, step.line, f"'when' names unknown criterion '{criterion}'"))
    link(tools.record.warning_link, 1)
    for group in tools.record.groups:
        source(group.provenance, group.line)
        link(group.link, group.line)
    for point_list in tools.policy.lists:
        source(point_list.provenance, point_list.line)
        link(point_list.link, point_list.line)
        for point in point_list.points:
            link(point.link, point.line)
    for tool_link in tools.links:
        for heading in tool_link.sources:
            if heading not in headings:
                problems.append(Problem(path, tool_link.line, f"source '{heading}' is not a source heading"))
    return problems


# ---------------------------------------------------------------- reading the file


# ---------------------------------------------------------------- the decision aid's logic


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


def policy_markdown(checklist: PolicyChecklist, checks: Sequence[PolicyCheck], day: str, site: str) -> str:
    """The checklist's result as a markdown file (site: the absolute address links are made from)."""
    site = site.rstrip("/")
    lines = [f"# {checklist.title}", "",
             f"Checked on {day} against the points that the NSPCC's guidance \"Sexting: advice for "
             "professionals\" (2020) says a policy statement and procedures should cover, as restated at "
             f"{site}/policy. Nothing was stored.", ""]
    for check in checks:
        pl = check.points
        lines += [f"## {pl.heading}: {len(check.covered)} of {len(pl.points)} covered", ""]
        for p in pl.points:
            mark = "x" if p in check.covered else " "
            lines.append(f"- [{mark}] {p.label}")
            if p in check.missing:
                lines.append(f"  - Missing. {p.explain} See {site}{p.link}")
        lines.append("")
    return "\n".join(lines)
