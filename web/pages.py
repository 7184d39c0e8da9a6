"""The reading pages: home, search, ask, articles, the law, references, contacts, glossary and the site's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from kb.answering import contacts_for
from kb.model import LAW_GROUPS, NATION_NAMES, NATIONS, REFERENCE_KINDS, TOPICS, Article, Content, LawItem, Reference
from web import ask as conversation
from web import engine
from web.filters import site_url, topic_name
from web.params import check, page_number, param, question, spelling

bp = Blueprint("pages", __name__)

PAGE_RESULTS = 20
ROLES = {
    "school-staff": "school and college staff",
    "dsl": "designated safeguarding leads",
    "youth-and-sport": "youth and sport workers",
    "police": "police",
    "health-and-social-care": "health and social care staff",
}
TYPE_NAMES = {
    "section": "Guidance", "legislation": "Law", "reference": "References", "glossary": "Glossary",
    "all": "Everything",
}
KIND_NAMES = {
    "reference": "References listed in the 2020 guidance",
    "cited": "Works the 2020 guidance cites but does not list",
    "current-guidance": "Guidance published since 2020",
    "resource": "Services and resources the guidance names",
    "training": "Training",
}


def _tasks(content: Content) -> list[dict[str, Any]]:
    """The home page's tasks: where each leads, what it is about, and the guidance behind a tool."""
    tasks = []
    for task in content.roles.tasks:
        article = content.article(task.slug) if task.slug else None
        href = task.href or (article.url if article else url_for("pages.ask", q=task.question))
        summary = article.summary if article else task.hint
        # A task that leads to a tool keeps a link to the guidance it is built on.
        guide = {"href": article.url, "title": article.title} if article and href != article.url else None
        tasks.append({"label": task.label, "href": href, "summary": summary, "guide": guide})
    return tasks


@bp.get("/")
def home() -> str:
    """Search, tasks, roles and every article (or those for one role)."""
    content = engine.content()
    audience = param("audience")
    if audience and audience not in ROLES:
        abort(400, f"Unknown role '{audience}'. Use one of: {', '.join(ROLES)}.")
    articles = [a for a in content.articles if not audience or {audience, "all"} & set(a.audiences)]
    # Articles written for the role come before those written for everyone.
    articles.sort(key=lambda a: (bool(audience) and audience not in a.audiences, a.order))
    return render_template("home.html", articles=articles, tasks=_tasks(content), roles=ROLES, audience=audience,
                           tools=content.tools)


def _options() -> dict[str, Any]:
    return {"nations": NATION_NAMES, "topics": {t: topic_name(t) for t in TOPICS}, "types": TYPE_NAMES}


@bp.get("/search")
def search_page() -> str:
    """Search results a page at a time, with one set of filters (after the results) and spelling correction."""
    nation, topic, kind = param("nation"), param("topic"), param("type")
    check(nation, topic, kind)
    number = page_number()
    q, message = question()
    filters = {"nation": nation, "topic": topic, "type": kind}
    if not q:
        return render_template("search.html", q="", result=None, filters=filters, options=_options())
    options = {"nation": nation or None, "topic": topic or None, "kind": kind or "section", "limit": PAGE_RESULTS,
               "spelling": spelling(), "facets": True}
    result = engine.find(q, offset=(number - 1) * PAGE_RESULTS, **options)
    last = max(1, -(-result.total // PAGE_RESULTS))
    if number > last:  # past the end (the index changed, or a hand-made address): the last page
        number = last
        result = engine.find(q, offset=(number - 1) * PAGE_RESULTS, **options)
    content = engine.content()
    crisis = [c for c in contacts_for(content, nation or None, result.risks) if c.risks]
    return render_template("search.html", q=q, result=result, filters=filters, options=_options(),
                           message=message, tasks=_tasks(content), crisis=crisis,
                           pages=Pages(number, last, (number - 1) * PAGE_RESULTS))


@dataclass(frozen=True)
class Pages:
    """Where a page of search results stands: its number, the last page's, and the offset of its first result."""

    number: int
    last: int
    offset: int


@bp.get("/ask")
def ask() -> str:
    """The conversation: questions answered in turn, the thread carried in the address (web/ask.py)."""
    return conversation.page(ROLES, _tasks(engine.content()))


@bp.get("/articles/<slug>")
def article(slug: str) -> str:
    """One article: its sections with their provenance, references and law."""
    content = engine.content()
    found = content.article(slug)
    if found is None:
        abort(404)
    return render_template("article.html", article=found, refs=_article_refs(content, found),
                           laws=_article_laws(content, found),
                           next_articles=[a for s in found.next if (a := content.article(s))],
                           source=content.source(found.source))


def _article_refs(content: Content, article: Article) -> list[tuple[Reference, Reference | None]]:
    """The references an article cites, each with its current replacement (shown first)."""
    ids = list(dict.fromkeys(list(article.references) + [r for s in article.sections for r in s.refs]))
    pairs = [(ref, content.reference(ref.replaced_by) if ref.replaced_by else None)
             for ref_id in ids if (ref := content.reference(ref_id))]
    # A replacement the article also cites on its own is shown once, beside what it replaced.
    paired = {current.id for _, current in pairs if current}
    return [(ref, current) for ref, current in pairs if current or ref.id not in paired]


def _article_laws(content: Content, article: Article) -> list[LawItem]:
    ids = list(article.legislation) + [law for s in article.sections for law in s.laws]
    return [item for law_id in dict.fromkeys(ids) if (item := content.law(law_id))]


@bp.get("/legislation")
def legislation() -> str | WerkzeugResponse:
    """The law grouped by where it applies, repealed law as history; the nation picker leads to one nation's law."""
    nation = param("nation")
    check(nation)
    if nation and request.args.get("show"):
        return redirect(url_for("pages.legislation_nation", nation=nation))
    content = engine.content()
    groups: dict[tuple[str, ...], list[LawItem]] = {}
    for item in content.legislation:
        if item.current:
            groups.setdefault(item.nations, []).append(item)
    order = sorted(groups, key=lambda ns: (len(ns) == len(NATIONS), [NATIONS.index(n) for n in ns]))
    history = [i for i in content.legislation if not i.current]
    current = [i for i in content.legislation if i.current]
    counts = {n: sum(1 for i in current if n in i.nations) for n in NATIONS}
    shown = [i for ns in order for i in groups[ns]] + history
    return render_template("legislation.html", groups=[(ns, groups[ns]) for ns in order], history=history,
                           counts=counts, by_id={i.id: i for i in content.legislation},
                           corrections=correction_homes(shown))


def correction_homes(items: list[LawItem]) -> dict[str, str]:
    """For each item with a correction, the item whose box shows it on a page listing these items in this order:
    the first to carry the same words (items that share a correction carry the same words), so each correction is
    shown once."""
    first: dict[str, str] = {}
    return {i.id: first.setdefault(i.correction, i.id) for i in items if i.correction}


@bp.get("/legislation/<nation>")
def legislation_nation(nation: str) -> str:
    """The law that applies in one nation: a plain summary first, then by subject, then what no longer applies."""
    if nation not in NATIONS:
        abort(404)
    content = engine.content()
    here = [i for i in content.legislation if nation in i.nations]
    groups = [(key, name, items) for key, name in LAW_GROUPS.items()
              if (items := [i for i in here if i.group == key and i.current])]
    changed = [i for i in here if (i.note or i.correction) and i.current]
    history = [i for i in here if not i.current]
    refer = content.emergency_section()
    routes = [r for r in content.routes if r.nation == nation]
    shown = [i for _, _, items in groups for i in items] + history
    return render_template("legislation_nation.html", nation=nation, groups=groups, changed=changed,
                           history=history, by_id={i.id: i for i in content.legislation}, routes=routes,
                           refer_url=f"{refer[0].url}" if refer else "",
                           contacts=[c for c in content.contacts if c.serves(nation)],
                           corrections=correction_homes(shown))


@bp.get("/references")
def references() -> str:
    """References and resources, grouped by kind, with what replaced them."""
    content = engine.content()
    # The guidance to follow today comes first; what the 2020 guidance listed and cited follows, as history.
    order = sorted(REFERENCE_KINDS, key=lambda k: k != "current-guidance")
    kinds = [(k, KIND_NAMES.get(k, k), items) for k in order
             if (items := [r for r in content.references if r.kind == k])]
    replaces: dict[str, list[Reference]] = {}
    for ref in content.references:
        for other in ref.replacements:
            replaces.setdefault(other, []).append(ref)
    return render_template("references.html", kinds=kinds, replaces=replaces,
                           by_id={r.id: r for r in content.references})


@bp.get("/print.css")
def print_css() -> Response:
    """The one print rule that needs the site's address: links within the site are printed in full (the rest of
    the print styles are in static/site.css)."""
    rule = f'.main a[href^="/"]::after {{ content: " (" {css_string(site_url())} attr(href) ")"; }}\n'
    return Response(rule, mimetype="text/css")


def css_string(text: str) -> str:
    """Text as a CSS string: anything but letters, digits and a few URL characters as a CSS escape."""
    return '"' + "".join(ch if ch.isascii() and (ch.isalnum() or ch in ":/.-_") else f"\\{ord(ch):x} "
                         for ch in text) + '"'


@bp.get("/contacts")
def contacts() -> str:
    """Whom to call or tell (works without an index)."""
    return render_template("contacts.html")


@bp.get("/glossary")
def glossary() -> str:
    """The words people use and what the guidance calls them."""
    entries = sorted(engine.content().glossary, key=lambda e: e.term.lower())
    return render_template("glossary.html", entries=entries, anchor=glossary_anchor)


def glossary_anchor(term: str) -> str:
    """The fragment the search index links a glossary entry to."""
    return term.lower().replace(" ", "-")


@bp.get("/about")
def about() -> str:
    """What this site is and is not."""
    return render_template("about.html")


@bp.get("/accessibility")
def accessibility() -> str:
    """The accessibility statement."""
    return render_template("accessibility.html")


@bp.get("/privacy")
def privacy() -> str:
    """What is and is not recorded."""
    return render_template("privacy.html", rate_limited=bool(current_app.extensions.get("kb_limiter")))


@bp.get("/changes")
def changes() -> str:
    """The log of content changes."""
    content = engine.content()
    reviewed = sorted(content.articles, key=lambda a: (a.last_reviewed, a.title), reverse=True)
    return render_template("changes.html", changes=content.changes, reviewed=reviewed)


@bp.get("/report-a-mistake")
def report_a_mistake() -> str:
    """How to tell us something is wrong."""
    return render_template("report.html")
