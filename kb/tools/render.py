"""The policy checklist's result written out as a markdown file."""

from __future__ import annotations

from collections.abc import Sequence

from kb.tools.logic import PolicyCheck
from kb.tools.model import PolicyChecklist


def policy_markdown(checklist: PolicyChecklist, checks: Sequence[PolicyCheck], day: str, site: str) -> str:
    """The checklist's result as a markdown file (site: the absolute address links are made from)."""
    site = site.rstrip("/")
    lines = [f"# {checklist.title}", "",
             f"Checked on {day} against the points that the NSPCC's guidance \"Sexting: advice for "
             "professionals\" (2020) says a policy statement and procedures should cover, as restated at "
             f"{site}/policy. Nothing was stored.", ""]
    for check in checks:
        pl = check.points
        lines += [f"## {pl.heading}: {len(check.covered)} of {len(pl.entries)} covered", ""]
        for p in pl.entries:
            mark = "x" if p in check.covered else " "
            lines.append(f"- [{mark}] {p.label}")
            if p in check.missing:
                lines.append(f"  - Missing. {p.explain} See {site}{p.link}")
        lines.append("")
    return "\n".join(lines)
