"""The tools checked against the rest of the content: sources, links and contacts resolve."""

from __future__ import annotations

from collections.abc import Sequence

from kb.model import Content, Problem, Provenance
from kb.tools.model import ARTICLE_LINK, TOOLS_FILE, Tools


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
    for q in aid.questions:
        source(q.provenance, q.line)
        link(q.link, q.line)
    for step in [s for o in aid.outcomes for s in o.steps] + list(aid.routes):
        source(step.provenance, step.line)
        link(step.link, step.line)
        if step.contact and step.contact not in contacts:
            problems.append(Problem(path, step.line, f"contact id '{step.contact}' is not in contacts.yaml"))
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
