"""The tools: the referral decision aid, the record sheet and the policy checklist (answers live in the address
only; nothing typed is sent or kept)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from flask import Blueprint, Response, abort, render_template, request, url_for

from kb.answering import contacts_for as answer_contacts
from kb.model import NATION_NAMES, NATIONS, Contact, NationRoute
from kb.tools import (
    BadState,
    Decision,
    PolicyCheck,
    PolicyChecklist,
    Step,
    Tools,
    check_policy,
    decide,
    policy_markdown,
)
from web import engine
from web.filters import day, site_url, today
from web.params import with_query

bp = Blueprint("tools", __name__)


def _tools() -> Tools:
    """The tools of the current index's content (tools.yaml), or a 503 with the emergency contacts."""
    ix = engine.current()
    tools = ix.content.tools if ix else None
    if tools is None:
        abort(503, "The tools are not available right now.")
    return tools


def _section_titles() -> dict[str, str]:
    """The heading of each article section (and the title of each article) by its link, when indexed."""
    ix = engine.current()
    if ix is None:
        return {}
    titles = {a.url: a.title for a in ix.content.articles}
    titles.update({f"{a.url}#{s.anchor}": s.heading for a in ix.content.articles for s in a.sections})
    return titles


def _invalid(message: str, restart: str, label: str) -> NoReturn:
    """A 400 for a tool's address that no run of the tool makes, with a way to start again."""
    page = render_template("decide_invalid.html", message=message, restart=restart, restart_label=label)
    abort(Response(page, status=400, mimetype="text/html"))


@bp.get("/decide")
def decide_page() -> str:
    """The referral decision aid: one question a page, the answers carried in the query string."""
    aid = _tools().decide
    try:
        decision = decide(aid, request.args.to_dict(flat=False))
    except BadState as exc:
        _invalid(str(exc), url_for("tools.decide_page"), "Start the questions again")
    answered = len(decision.query())
    back = with_query("tools.decide_page", decision.query(-1)) if answered else ""
    if decision.question is not None:
        return render_template("decide.html", aid=aid, decision=decision, q=decision.question,
                               number=answered + 1, total=len(aid.questions) + 1, back=back,
                               choices=[(n, NATION_NAMES[n]) for n in NATIONS], titles=_section_titles())
    changes = [with_query("tools.decide_page", decision.query(i)) for i in range(answered)]
    contacts = contacts_for(decision.nation)
    risks = frozenset(q.risk for q in decision.met if q.risk)
    crisis = [c for c in answer_contacts(engine.content(), decision.nation or None, risks) if c.risks]
    return render_template("decide_result.html", aid=aid, decision=decision, outcome=decision.outcome,
                           back=back, changes=changes, contacts=contacts, titles=_section_titles(), crisis=crisis,
                           routes=route_views(aid.routes, decision, contacts),
                           nation_routes=nation_routes(decision.nation))


def contacts_for(nation: str) -> dict[str, Contact]:
    """The contacts by id that serve this nation (every contact when no nation was answered)."""
    return {c.id: c for c in engine.contacts() if c.serves(nation)}


def nation_routes(nation: str) -> list[tuple[NationRoute, str]]:
    """A nation's own arrangements from routes.yaml, each with its source's title (none without a nation)."""
    ix = engine.current()
    if ix is None or not nation:
        return []
    routes = [r for r in ix.content.routes if r.nation == nation]
    return [(r, doc.title if (doc := ix.content.source(r.document)) else r.url) for r in routes]


@dataclass(frozen=True)
class Route:
    """A route to share a concern as the result shows it, for the answered nation."""

    step: Step
    flagged: bool  # the answers point to this route in particular
    text: str
    contacts: tuple[Contact, ...]


def route_views(routes: Iterable[Step], decision: Decision, contacts: Mapping[str, Contact]) -> list[Route]:
    """Each route with the contacts that serve the nation. A route whose one contact is the nation's own (the
    council's services, or Northern Ireland's Gateway teams) says what that contact's description says."""
    met = {q.id for q in decision.met}
    views = []
    for route in routes:
        shown = tuple(contacts[c] for c in route.contacts if c in contacts)
        own = len(shown) == 1 and decision.nation and len(shown[0].nations) < len(NATIONS)
        views.append(Route(route, bool(met & set(route.when)), shown[0].when if own else route.text, shown))
    return views


@bp.get("/record")
def record() -> str:
    """The incident record sheet: fields to fill in and print; nothing on it is ever sent here."""
    return render_template("record.html", sheet=_tools().record, titles=_section_titles())


def _checked() -> tuple[PolicyChecklist, tuple[PolicyCheck, ...]]:
    """The checklist and what the ticked points in the address cover, or a 400 page for an address no run makes."""
    checklist = _tools().policy
    try:
        return checklist, check_policy(checklist, request.args.getlist("point"))
    except BadState as exc:
        _invalid(str(exc), url_for("tools.policy"), "Start the checklist again")


@bp.get("/policy")
def policy() -> str:
    """The policy and procedures checklist: a GET form of what the guidance says they must cover."""
    checklist, checks = _checked()
    chosen = {p.id for check in checks for p in check.covered}
    return render_template("policy.html", checklist=checklist, chosen=chosen, titles=_section_titles())


@bp.get("/policy/check")
def policy_check() -> str:
    """What the ticked policy covers and what it is missing, to print or download."""
    checklist, checks = _checked()
    pairs = [("point", p.id) for check in checks for p in check.covered]
    return render_template("policy_check.html", checklist=checklist, checks=checks, covered=len(pairs),
                           total=len(checklist.point_ids), change=with_query("tools.policy", pairs),
                           download=with_query("tools.policy_download", pairs), titles=_section_titles())


@bp.get("/policy/download")
def policy_download() -> Response:
    """The checklist's result as a markdown file, made from the query string and stored nowhere."""
    checklist, checks = _checked()
    now = today()
    response = Response(policy_markdown(checklist, checks, day(now), site_url()), mimetype="text/markdown")
    response.headers["Content-Disposition"] = f'attachment; filename="policy-checklist-{now.isoformat()}.md"'
    return response
