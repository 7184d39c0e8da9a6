"""The nation someone works in: chosen once, then carried in the address (`?nation=`) by every link and form.

Templates build links with `here(endpoint, **values)`, which keeps the chosen nation; links held in content
(article bodies, tool data) pass through `keep_nation` or `nation_links`. A nation that is not one of the four
is never carried (pages with a picker answer 400 for it; the others ignore it)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask, request, url_for
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from kb.model import NATIONS

# An internal link in HTML made by our own renderer (markdown-it with raw HTML off): href="/path?query#fragment".
_INTERNAL_HREF = re.compile(r'href="(/(?!/)[^"]*)"')
# Paths that are not pages: files and the JSON API keep their addresses as they are.
_NOT_PAGES = ("/static/", "/api/", "/healthz")


def install(app: Flask) -> None:
    app.add_template_global(here)
    app.add_template_global(chosen_nation)
    app.jinja_env.filters.update(keep_nation=_keep_nation, nation_links=_nation_links)


# Jinja folds a filter of a literal ('/articles/...' | keep_nation) when it compiles a template, once for every
# request after: a filter that reads the request must say it needs the context, or the first request's nation
# would be carried on every later page.
@pass_context
def _keep_nation(context: Context, url: str, nation: str | None = None) -> str:
    return keep_nation(url, nation)


@pass_context
def _nation_links(context: Context, html: str) -> Markup:
    return nation_links(html)


def chosen_nation() -> str:
    """The nation this request carries: `?nation=`, else the nation a law page is about, else ""."""
    nation = request.args.get("nation", "")
    if nation in NATIONS:
        return nation
    in_path = (request.view_args or {}).get("nation", "")
    return in_path if in_path in NATIONS else ""


def here(endpoint: str, **values: Any) -> str:
    """url_for that keeps the chosen nation (an explicit `nation=` wins; `nation=None` drops it)."""
    if "nation" not in values:
        values["nation"] = chosen_nation() or None
    return url_for(endpoint, **values)


def keep_nation(url: str, nation: str | None = None) -> str:
    """A site-internal address with the chosen nation added (other addresses are returned as they are)."""
    nation = chosen_nation() if nation is None else nation
    url = str(url or "")
    if not nation or not url.startswith("/") or url.startswith("//") or url.startswith(_NOT_PAGES):
        return url
    parts = urlsplit(url)
    if parts.path == f"/legislation/{nation}":
        return url  # the address already names it
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "nation"]
    query.append(("nation", nation))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))


def nation_links(html: str) -> Markup:
    """Our own rendered HTML (an article section) with the chosen nation added to every internal link."""
    nation = chosen_nation()
    if not nation:
        return Markup(html)

    def carry(match: re.Match[str]) -> str:
        # The href was escaped by the renderer: &amp; stands for & inside it.
        url = keep_nation(match.group(1).replace("&amp;", "&"), nation)
        return 'href="' + url.replace("&", "&amp;") + '"'

    return Markup(_INTERNAL_HREF.sub(carry, str(html)))
