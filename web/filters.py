"""What templates see: the site's name, contacts and dates, and filters that make data safe to show."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, request, url_for
from markupsafe import Markup

from kb.model import NATION_NAMES, NATIONS, SOURCE_DOCUMENT, Provenance
from web import engine, nation

SITE_NAME = "Responding to nude image sharing"
STATUS_NAMES = {"in force": "In force", "amended": "In force, as amended", "repealed": "Repealed",
                "not yet in force": "Not yet in force"}


def install(app: Flask) -> None:
    app.jinja_env.filters.update(
        day=day, short_day=short_day, nations=nations, safe_href=safe_href, snippet=safe_snippet,
        topic_name=topic_name, status_name=lambda s: STATUS_NAMES.get(s, s), first_sentence=first_sentence,
    )
    app.context_processor(template_context)
    nation.install(app)


def template_context() -> dict[str, Any]:
    ix = engine.current()
    contacts = engine.contacts()
    source = (ix.content.source(SOURCE_DOCUMENT) if ix else None) or engine.site().source
    return {
        "site_name": SITE_NAME,
        "contacts": contacts,
        "strip": [c for c in contacts if c.phone][:3],
        "source_doc": source,
        "report_to": current_app.config["REPORT_MISTAKES_TO"],
        "printed": today(),
        "page_url": site_url() + request.full_path.rstrip("?"),
        "nation_names": NATION_NAMES,
        "nations": NATIONS,
        "static_url": static_url,
        "provenance_line": provenance_line,
        "source_name": source_name,
        "document_title": document_title,
        "tel": tel,
    }


def static_url(filename: str) -> str:
    return url_for("static", filename=filename, v=engine.site().static_version)


def site_url() -> str:
    """The base of an absolute link: SITE_URL, else this request's host (a trusted one: OnlyTrustedHosts)."""
    return str(current_app.config["SITE_URL"] or request.host_url.rstrip("/"))


def today() -> date:
    try:
        return datetime.now(ZoneInfo("Europe/London")).date()
    except ZoneInfoNotFoundError:
        return datetime.now(UTC).date()


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def day(value: Any) -> str:
    """A date as '26 November 2026'."""
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    parsed = _parse_day(value)
    return f"{parsed.day} {parsed:%B %Y}" if parsed else str(value)


def short_day(value: Any) -> str:
    """A date as '01 Oct 2020', the way the source dates itself."""
    parsed = _parse_day(value)
    return f"{parsed:%d %b %Y}" if parsed else str(value)


def nations(values: Iterable[str]) -> str:
    """Nation slugs as 'England and Wales' (all four: 'all four UK nations')."""
    names = [NATION_NAMES.get(v, v) for v in values]
    if len(names) == len(NATIONS):
        return "all four UK nations"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def topic_name(topic: str) -> str:
    return topic.replace("-", " ").capitalize()


def tel(phone: str) -> str:
    return "tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")


def safe_href(url: str) -> str:
    """A link target from data, kept only when it is a site path, a fragment or https/mailto/tel."""
    url = str(url or "").strip()
    if url.startswith(("https://", "mailto:", "tel:", "#")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return url
    return "#"


def safe_snippet(snippet: str) -> Markup:
    """A search snippet as HTML: escaped text with bare <mark> elements, whatever the engine returned."""
    parts = str(snippet).replace("</mark>", "<mark>").split("<mark>")
    out = []
    for i, part in enumerate(parts):
        part = part.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        out.append(f"<mark>{part}</mark>" if i % 2 else part)
    return Markup("".join(out))


def provenance_line(prov: Provenance) -> str:
    """Where a section comes from, in words."""
    if prov.section:
        if prov.document == SOURCE_DOCUMENT:
            return f"From the 2020 guidance: {prov.section}"
        return f"From {prov.document}: {prov.section}"
    ix = engine.current()
    doc = ix.content.source(prov.document) if ix else None
    return f"Source: {doc.title if doc else prov.document}"


def source_name(prov: Provenance) -> str:
    """The document a section or item restates, named for a reader (never by its id): the 2020 guidance and its
    section, or another document's title."""
    if prov.document == SOURCE_DOCUMENT:
        return f"NSPCC, Sexting: advice for professionals (2020), section ‘{prov.section}’" if prov.section else (
            "NSPCC, Sexting: advice for professionals (2020)")
    title = document_title(prov.document)
    return f"{title}, section ‘{prov.section}’" if prov.section else title


def document_title(document: str) -> str:
    """A source document's title (sources.yaml), never its id."""
    ix = engine.current()
    doc = ix.content.source(document) if ix else None
    return doc.title if doc else "a published source"


def first_sentence(text: str) -> str:
    """The first sentence of a plain text (a law's summary), for a short summary of several."""
    found = re.match(r"(.+?[.!?])(?:\s+(?=[A-Z(])|$)", str(text).strip(), re.S)
    return found.group(1) if found else str(text)
