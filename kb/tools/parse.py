"""Parse content/tools.yaml into the tools' values: pure, text in, values and problems out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from kb.model import RISKS, Problem, Provenance
from kb.parse import ContentError, Fields, Parsed, duplicates, load_yaml, resolve_heading
from kb.tools.model import (
    ARTICLE_LINK,
    FIELD_KINDS,
    NATION,
    OUTCOMES,
    TOOL_URLS,
    TOOLS_FILE,
    DecisionAid,
    E,
    Field,
    Outcome,
    Part,
    Point,
    PolicyChecklist,
    Question,
    RecordSheet,
    Step,
    ToolLink,
    Tools,
)

# Query parameters the decision aid uses itself, so no yes/no question may take their names.
RESERVED = frozenset({"asked", NATION})
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class _Map(Fields):
    """The parser's field reader, for the nested mappings of tools.yaml (problems point at the field)."""

    fold_space = True

    def __init__(self, data: Any, path: str, problems: list[Problem], line: int = 1, what: str = "",
                 headings: Sequence[str] = (), source: str = "") -> None:
        if not isinstance(data, dict):
            problems.append(Problem(path, line, f"{what or 'this'} must be a mapping of fields"))
            data = {}
        super().__init__(data, path, problems, line)
        self.headings = headings
        self.source = source  # the id of the document the tools' `source` headings belong to

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
        return resolve_heading(value, self.headings) or value

    def provenance(self, key: str = "source") -> Provenance:
        return Provenance(document=self.source, section=self.heading(self.text(key)))

    def child(self, key: str, what: str) -> _Map:
        return _Map(self.data.get(key), self.path, self.problems, self.line_of(key), what, self.headings, self.source)

    def children(self, key: str, what: str) -> list[_Map]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            self.problem(f"'{key}' must be a list of {what}", key=key)
            return []
        return [_Map(item, self.path, self.problems, self.line_of(key), what, self.headings, self.source)
                for item in value]


def _question(m: _Map) -> Question:
    question_id = m.slug()
    if question_id in RESERVED:
        m.problem(f"question id '{question_id}' is reserved", key="id")
    risk = m.text("risk", required=False)
    if risk and risk not in RISKS:
        m.problem(f"unknown risk '{risk}' (expected one of: {', '.join(RISKS)})", key="risk")
        risk = ""
    return Question(id=question_id, short=m.text("short"), question=m.text("question"), hint=m.text("hint"),
                    means=m.text("means"), link=m.link(), provenance=m.provenance(), line=m.line, risk=risk)


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


def _parts(m: _Map, key: str, entry: Callable[[_Map], E], entry_key: str, text: tuple[str, bool],
           names: tuple[str, str, str]) -> tuple[Part[E], ...]:
    """The parts under `key`, each with its entries under `entry_key`; text: the key of each part's text and
    whether it is required; names: of the parts, of the entries and of an entry's id, for problems."""
    parts = [Part(id=p.slug(), heading=p.text("heading"), text=p.text(text[0], required=text[1]), link=p.link(),
                  provenance=p.provenance(), line=p.line,
                  entries=tuple(entry(e) for e in p.children(entry_key, names[1])))
             for p in m.children(key, names[0])]
    m.problems += duplicates([(e.id, e.line) for p in parts for e in p.entries], m.path, names[2])
    return tuple(parts)


def _point(m: _Map) -> Point:
    return Point(id=m.slug(), label=m.text("label"), explain=m.text("explain"), link=m.link(), line=m.line)


def _record_sheet(m: _Map) -> RecordSheet:
    groups = _parts(m, "groups", _field, "fields", ("intro", False), ("groups of fields", "fields", "field id"))
    return RecordSheet(title=m.text("title"), summary=m.text("summary"), intro=m.text("intro"),
                       privacy=m.text("privacy"), warning=m.text("warning"),
                       warning_link=m.link("warning_link"), groups=groups)


def _policy_checklist(m: _Map) -> PolicyChecklist:
    lists = _parts(m, "lists", _point, "points", ("question", True), ("lists of points", "points", "point id"))
    return PolicyChecklist(title=m.text("title"), summary=m.text("summary"), intro=m.text("intro"), lists=lists)


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


def parse_tools(text: str, path: str = TOOLS_FILE, headings: Sequence[str] = (), *, source: str) -> Parsed:
    """The tools in tools.yaml's text (None when it has errors); headings resolve leading-word sources of the
    document `source`."""
    try:
        data = load_yaml(text)
    except ContentError as exc:
        return Parsed(None, (Problem(path, exc.line, exc.message),))
    problems: list[Problem] = []
    root = _Map(data, path, problems, what="tools.yaml", headings=headings, source=source)
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
