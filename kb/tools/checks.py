"""The tools checked against the rest of the content: sources, links and contacts resolve."""

from __future__ import annotations

from collections.abc import Sequence

from kb.model import Content, Problem, Provenance
from kb.tools.model import ARTICLE_LINK, TOOLS_FILE, DecisionAid, Field, Part, Point, Tools


class _Checks:
    """The problems of one tools file, found against the content's sections and the source's headings."""

    def __init__(self, content: Content, headings: Sequence[str], path: str) -> None:
        self.anchors = {a.slug: {s.anchor for s in a.sections} for a in content.articles}
        self.contacts = {c.id for c in content.contacts}
        self.headings = headings
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def source(self, prov: Provenance, line: int) -> None:
        """The source section a part of a tool comes from is a heading of the source."""
        if prov.section not in self.headings:
            self.problem(line, f"source '{prov.section}' is not a source heading")

    def link(self, target: str, line: int) -> None:
        """A link to an article section lands on one."""
        match = ARTICLE_LINK.match(target)
        if not match:
            return  # the parser has already said so
        slug, anchor = match.groups()
        if slug not in self.anchors or (anchor and anchor not in self.anchors[slug]):
            self.problem(line, f"broken link '{target}'")

    def decision_aid(self, aid: DecisionAid) -> None:
        """Its questions and steps cite the source and link to sections; steps name known contacts and criteria."""
        criteria = {q.id for q in aid.criteria}
        self.source(aid.provenance, 1)
        self.link(aid.link, 1)
        for q in (aid.nation, *aid.questions):
            self.source(q.provenance, q.line)
            self.link(q.link, q.line)
        for step in [s for o in aid.outcomes for s in o.steps] + list(aid.routes) + list(aid.next_steps):
            self.source(step.provenance, step.line)
            self.link(step.link, step.line)
            for contact in step.contacts:
                if contact not in self.contacts:
                    self.problem(step.line, f"contact id '{contact}' is not in contacts.yaml")
            for criterion in step.when:
                if criterion not in criteria:
                    self.problem(step.line, f"'when' names unknown criterion '{criterion}'")


def check_tools(tools: Tools, content: Content, headings: Sequence[str],
                path: str = TOOLS_FILE) -> list[Problem]:
    """Cross-file checks: sources are source headings, links land on article sections, contacts exist."""
    checks = _Checks(content, headings, path)
    checks.decision_aid(tools.decide)
    checks.link(tools.record.warning_link, 1)
    parts: tuple[Part[Field] | Part[Point], ...] = (*tools.record.groups, *tools.policy.lists)
    for part in parts:
        checks.source(part.provenance, part.line)
        checks.link(part.link, part.line)
    for point in (p for point_list in tools.policy.lists for p in point_list.entries):
        checks.link(point.link, point.line)
    for tool_link in tools.links:
        for heading in tool_link.sources:
            if heading not in headings:
                checks.problem(tool_link.line, f"source '{heading}' is not a source heading")
    return checks.problems
