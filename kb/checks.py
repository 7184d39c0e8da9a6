"""Checks across content files, as named rules: each takes the whole content and returns the problems it finds
(path:line). Pure: the loader (kb/content.py) reads the files and hands their texts over."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kb.guide import check_conversation
from kb.model import CURRENT_STATUSES, Article, Content, Problem, Section
from kb.tools import check_tools

LEGISLATION_HOST = "legislation.gov.uk"
# A site named in a link's words (legislation.gov.uk, gov.uk, gov.scot, ...): the link must open that site.
SITE_NAME = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:uk|scot|wales|org|com|net)\b", re.IGNORECASE)
# An address as written in markdown or YAML: it ends at a space, a bracket or a quote.
URL = re.compile(r"https://[^\s()<>\[\]\"'`]+")
# The provision an item's default link label names ("section 33", "sections 66B to 66D", "article 72A", "Part 1").
PROVISION = re.compile(r"^(section|article|part)s?\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Whole:
    """What the rules look at: the content, the source headings, the path each file is shown as (by file name),
    every file's text (for the addresses it links to), and the ids each data file defines."""

    content: Content
    headings: tuple[str, ...]
    files: Mapping[str, str]
    texts: Mapping[str, str] = field(default_factory=dict)
    law_ids: frozenset[str] = frozenset()
    ref_ids: frozenset[str] = frozenset()
    contact_ids: frozenset[str] = frozenset()
    source_ids: frozenset[str] = frozenset()
    anchors: Mapping[str, frozenset[str]] = field(default_factory=dict)  # article slug -> its sections' anchors

    @classmethod
    def of(cls, content: Content, headings: tuple[str, ...], files: Mapping[str, str],
           texts: Mapping[str, str] | None = None) -> Whole:
        """The whole content with the ids the rules resolve against."""
        anchors: dict[str, set[str]] = {}
        for a in content.articles:
            anchors.setdefault(a.slug, set()).update(s.anchor for s in a.sections)
        return cls(content, headings, files, texts or {},
                   law_ids=frozenset(item.id for item in content.legislation),
                   ref_ids=frozenset(r.id for r in content.references),
                   contact_ids=frozenset(c.id for c in content.contacts),
                   source_ids=frozenset(s.id for s in content.sources),
                   anchors={slug: frozenset(found) for slug, found in anchors.items()})

    def sections(self) -> Iterator[tuple[Article, Section]]:
        """Every article section, in content order."""
        return ((a, s) for a in self.content.articles for s in a.sections)


Rule = Callable[[Whole], list[Problem]]


# ---------------------------------------------------------------- roles: what the code relies on


def role_source_is_listed(w: Whole) -> list[Problem]:
    """The source document roles.yaml names is in sources.yaml."""
    roles = w.content.roles
    if not roles.source or roles.source in w.source_ids:
        return []
    return [Problem(w.files["roles.yaml"], roles.line_of("source"),
                    f"source document '{roles.source}' is not in sources.yaml")]


def role_sections_restate_their_source(w: Whole) -> list[Problem]:
    """The emergency and image-handling sections exist and restate the source sections roles.yaml says."""
    problems = []
    roles = w.content.roles
    for key, role in (("emergency", roles.emergency), ("image_handling", roles.image_handling)):
        found = w.content.section(role.section) if role.section else None
        restates = found[1].provenance.section if found else ""
        if role.section and found is None:
            problems.append(Problem(w.files["roles.yaml"], role.line,
                                    f"{key} section '{role.section}' is not a section of any article"))
        elif found and role.restates and restates != role.restates:
            problems.append(Problem(w.files["roles.yaml"], role.line, f"{key} section '{role.section}' restates "
                                                                      f"'{restates}', not '{role.restates}'"))
    return problems


def emergency_section_says_999(w: Whole) -> list[Problem]:
    """The emergency section is the step that says to call 999."""
    found = w.content.emergency_section()
    if found is None or "999" in found[1].text:
        return []
    return [Problem(w.files["roles.yaml"], w.content.roles.emergency.line,
                    f"emergency section '{w.content.roles.emergency.section}' does not mention 999")]


def tasks_open_articles(w: Whole) -> list[Problem]:
    """Each task on the home page that names an article names one that exists."""
    return [Problem(w.files["roles.yaml"], task.line, f"task '{task.label}': article '{task.slug}' does not exist")
            for task in w.content.roles.tasks if task.slug and w.content.article(task.slug) is None]


# ---------------------------------------------------------------- articles


def slugs_are_unique(w: Whole) -> list[Problem]:
    """No two articles share a slug."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for article in w.content.articles:
        if article.slug in seen:
            problems.append(Problem(article.path, article.line_of("slug"),
                                    f"duplicate slug '{article.slug}' (also in {seen[article.slug]})"))
        seen[article.slug] = article.path
    return problems


def article_sources_are_listed(w: Whole) -> list[Problem]:
    """Each article's `source` is a document in sources.yaml."""
    return [Problem(a.path, a.line_of("source"), f"source '{a.source}' is not in sources.yaml")
            for a in w.content.articles if a.source and a.source not in w.source_ids]


def front_matter_ids_resolve(w: Whole) -> list[Problem]:
    """The law, next articles and references an article's front matter names exist."""
    problems = []
    for a in w.content.articles:
        problems += [Problem(a.path, a.line_of("legislation"), f"legislation id '{law_id}' does not resolve")
                     for law_id in a.legislation if law_id not in w.law_ids]
        problems += [Problem(a.path, a.line_of("next"), f"next article '{slug}' does not exist")
                     for slug in a.next if slug not in w.anchors]
        problems += [Problem(a.path, a.line_of("references"), f"reference id '{ref_id}' does not resolve")
                     for ref_id in a.references if ref_id not in w.ref_ids]
    return problems


def link_labels_name_the_site_they_open(w: Whole) -> list[Problem]:
    """A link whose words name a site (legislation.gov.uk, gov.uk, ...) opens that site."""
    problems = []
    for a in w.content.articles:
        for ext in a.external_links:
            named = label_misnames_site(ext.label, ext.href)
            if named:
                problems.append(Problem(a.path, ext.line,
                                        f"link labelled '{ext.label}' names {named} but opens {_host(ext.href)}"))
    return problems


def section_documents_are_listed(w: Whole) -> list[Problem]:
    """A section drawn from another document names one in sources.yaml."""
    return [Problem(a.path, s.line, f"document '{s.provenance.document}' is not in sources.yaml")
            for a, s in w.sections() if s.provenance.document and s.provenance.document not in w.source_ids]


def section_ids_resolve(w: Whole) -> list[Problem]:
    """The law and references a section names (or links to) exist."""
    problems = []
    for a, s in w.sections():
        problems += [Problem(a.path, s.link_line(f"law:{law_id}"), f"legislation id '{law_id}' does not resolve")
                     for law_id in s.laws if law_id not in w.law_ids and law_id not in a.legislation]
        problems += [Problem(a.path, s.link_line(f"ref:{ref_id}"), f"reference id '{ref_id}' does not resolve")
                     for ref_id in s.refs if ref_id not in w.ref_ids and ref_id not in a.references]
    return problems


def section_links_land(w: Whole) -> list[Problem]:
    """Links to contacts and to article sections land on something that exists."""
    problems = []
    for a, s in w.sections():
        for link, line in zip(s.links, s.link_lines, strict=False):
            if link.startswith("contact:") and link[8:] not in w.contact_ids:
                problems.append(Problem(a.path, line, f"contact id '{link[8:]}' does not resolve"))
            if link.startswith("#"):
                link = f"/articles/{a.slug}{link}"
            if link.startswith("/articles/"):
                slug, _, anchor = link[len("/articles/") :].partition("#")
                if slug not in w.anchors or (anchor and anchor not in w.anchors[slug]):
                    problems.append(Problem(a.path, line, f"broken internal link '{link}'"))
    return problems


def every_source_section_has_a_home(w: Whole) -> list[Problem]:
    """Each of the source's sections is restated by at least one article section."""
    homes = {s.provenance.section for _, s in w.sections()}
    return [Problem(w.files["sources.yaml"], 1, f"source section '{heading}' has no home in any article")
            for heading in w.headings if heading not in homes]


# ---------------------------------------------------------------- the law, routes, references


def law_links_resolve(w: Whole) -> list[Problem]:
    """What a law item is amended or replaced by is another item."""
    return [Problem(w.files["legislation.yaml"], item.line_of(key), f"'{item.id}' points to unknown legislation "
                                                                     f"id '{other}'")
            for item in w.content.legislation for key in ("amended_by", "replaced_by")
            for other in getattr(item, key) if other not in w.law_ids]


def law_urls_open_what_their_labels_say(w: Whole) -> list[Problem]:
    """The link shown for a law item opens what its label says."""
    problems = []
    for item in w.content.legislation:
        link_problem = law_link_problem(item.provision, item.url, item.url_label)
        if link_problem:
            problems.append(Problem(w.files["legislation.yaml"], item.line_of("url_label" if item.url_label else "url"),
                                    f"'{item.id}': {link_problem}"))
    return problems


def law_provenance_is_a_heading(w: Whole) -> list[Problem]:
    """A law item drawn from the source names one of its headings."""
    return [Problem(w.files["legislation.yaml"], item.line_of("provenance"),
                    f"provenance '{item.provenance.section}' is not a source heading")
            for item in w.content.legislation
            if item.provenance.section and item.provenance.section not in w.headings]


def replaced_law_is_history(w: Whole) -> list[Problem]:
    """An item that names what replaced it is history: a current status would show it as "in force" under "no
    longer the law" (the site never offers it as current)."""
    return [Problem(w.files["legislation.yaml"], item.line_of("status"),
                    f"'{item.id}' names what replaced it (replaced_by) but its status is "
                    f"'{item.status}': give the status it has today, or leave the item out")
            for item in w.content.legislation if item.replaced_by and item.status in CURRENT_STATUSES]


def repealed_law_says_what_replaced_it(w: Whole) -> list[Problem]:
    """A repealed item names what replaced it, or explains in a note (a warning)."""
    return [Problem(w.files["legislation.yaml"], item.line, f"repealed '{item.id}' should say what replaced it",
                    "warning")
            for item in w.content.legislation if item.status == "repealed" and not item.replaced_by and not item.note]


def route_documents_are_listed(w: Whole) -> list[Problem]:
    """A nation's referral route cites a document in sources.yaml."""
    return [Problem(w.files["routes.yaml"], route.line, f"document '{route.document}' is not in sources.yaml")
            for route in w.content.routes if route.document and route.document not in w.source_ids]


def reference_replacements_resolve(w: Whole) -> list[Problem]:
    """What a reference is replaced by is another reference."""
    return [Problem(w.files["references.yaml"], ref.line_of("replaced_by"),
                    f"'{ref.id}' replaced_by unknown id '{other}'")
            for ref in w.content.references for other in ref.replacements if other not in w.ref_ids]


def each_nation_names_its_replacement(w: Whole) -> list[Problem]:
    """Where the old work applied in several nations, each nation needs its replacement named: one nation's
    document does not replace it in another."""
    problems = []
    nations_of = {r.id: set(r.nations) for r in w.content.references}
    for ref in w.content.references:
        known = [nations_of[other] for other in ref.replacements if other in w.ref_ids]
        if ref.nations and known and all(known):
            uncovered = [n for n in ref.nations if not any(n in ns for ns in known)]
            if uncovered:
                problems.append(Problem(w.files["references.yaml"], ref.line_of("replaced_by"),
                                        f"'{ref.id}' applies in {', '.join(uncovered)} but nothing it is "
                                        f"replaced_by does: name each nation's replacement"))
    return problems


# ---------------------------------------------------------------- asks, tools, addresses


def asks_name_sections(w: Whole) -> list[Problem]:
    """Every `asks` key names a section; when the file is there, every section has its questions (a new section
    without asks still works, found by its words: a warning, so that they are written soon)."""
    if not w.content.asks:
        return []
    path = w.files["asks.yaml"]
    ids = {f"{a.slug}#{s.anchor}" for a, s in w.sections()}
    problems = [Problem(path, 1, f"asks for unknown section '{key}'") for key in w.content.asks if key not in ids]
    problems += [Problem(path, 1, f"section '{key}' has no asks yet", "warning")
                 for key in sorted(ids - set(w.content.asks))]
    return problems


def elsewhere_is_not_the_subject(w: Whole) -> list[Problem]:
    """No word of scope.yaml's subjects elsewhere is one of the glossary's core words (which say a question is on
    this guidance's subject)."""
    core = {" ".join(t.lower().split()) for g in w.content.glossary if g.core for t in (g.term, *g.also)}
    path = w.files.get("scope.yaml", "scope.yaml")
    lines = w.texts.get(path, "").splitlines()
    return [Problem(path, next((i + 1 for i, line in enumerate(lines) if line.strip().lower() == f"- {phrase}"), 1),
                    f"'{phrase}' is a core word of the glossary: it names this guidance's subject")
            for phrase in w.content.elsewhere if phrase in core]


def tools_resolve(w: Whole) -> list[Problem]:
    """The tools' sources are source headings, their links land on sections and their contacts exist."""
    tools = w.content.tools
    return check_tools(tools, w.content, w.headings, w.files["tools.yaml"]) if tools is not None else []


def conversation_resolves(w: Whole) -> list[Problem]:
    """The conversation's links land on sections, its intents exist, and it takes no name the aid uses."""
    found = w.content.conversation
    return check_conversation(found, w.content, w.files["conversation.yaml"]) if found is not None else []


def addresses_are_verified(w: Whole) -> list[Problem]:
    """Every https:// address in a content file is one that sources.yaml lists as verified."""
    verified = {v.url for doc in w.content.sources for v in doc.verified}
    problems = []
    for path, text in w.texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            for match in URL.finditer(line):
                url = match.group(0).rstrip(".,;:!?")
                if url not in verified:
                    problems.append(Problem(path, number, f"address '{url}' is not listed as verified in "
                                                          "sources.yaml (add it with where it was checked)"))
    return problems


def verified_addresses_are_on_their_site(w: Whole) -> list[Problem]:
    """Each verified address sits under the document whose site it is on, so the list reads as "checked on X"."""
    return [Problem(w.files["sources.yaml"], entry.line, f"verified address '{entry.url}' is not on "
                                                         f"{_host(doc.url)}, the site of '{doc.id}'")
            for doc in w.content.sources for entry in doc.verified if doc.url and _host(entry.url) != _host(doc.url)]


RULES: tuple[Rule, ...] = (
    role_source_is_listed,
    role_sections_restate_their_source,
    emergency_section_says_999,
    tasks_open_articles,
    slugs_are_unique,
    article_sources_are_listed,
    front_matter_ids_resolve,
    link_labels_name_the_site_they_open,
    section_documents_are_listed,
    section_ids_resolve,
    section_links_land,
    every_source_section_has_a_home,
    law_links_resolve,
    law_urls_open_what_their_labels_say,
    law_provenance_is_a_heading,
    replaced_law_is_history,
    repealed_law_says_what_replaced_it,
    route_documents_are_listed,
    reference_replacements_resolve,
    each_nation_names_its_replacement,
    asks_name_sections,
    elsewhere_is_not_the_subject,
    tools_resolve,
    conversation_resolves,
    addresses_are_verified,
    verified_addresses_are_on_their_site,
)


def check_whole(whole: Whole, rules: tuple[Rule, ...] = RULES) -> list[Problem]:
    """Every rule's problems, rule by rule."""
    return [problem for rule in rules for problem in rule(whole)]


# ---------------------------------------------------------------- links and what their words say


def _host(url: str) -> str:
    """The host a URL opens, without a leading www."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def label_misnames_site(label: str, url: str) -> str:
    """The site a link's label names when the link opens another site, else ''."""
    host = _host(url)
    for match in SITE_NAME.finditer(label):
        site = match.group(0).lower().removeprefix("www.")
        if host != site and not host.endswith("." + site):
            return match.group(0)
    return ""


def law_link_problem(provision: str, url: str, url_label: str) -> str:
    """Why the link shown for a law item would not open what its label says, else ''."""
    if not url:
        return ""
    if url_label:
        named = label_misnames_site(url_label, url)
        return f"its url_label names {named} but the link opens {_host(url)}" if named else ""
    # Without url_label the page labels the link "<title>, <provision> on legislation.gov.uk".
    if _host(url) != LEGISLATION_HOST:
        return (f"the page labels its url as on legislation.gov.uk but it opens {_host(url)}: "
                "give a url_label saying what it opens")
    match = PROVISION.match(provision)
    if match:
        part = f"/{match.group(1).lower()}/{match.group(2)}".lower()
        path = urlsplit(url).path.lower()
        if not (path.endswith(part) or part + "/" in path):
            return (f"the page labels its url as {provision} but it opens {urlsplit(url).path}: "
                    "give a url_label saying what it opens")
    return ""
