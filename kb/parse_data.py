"""Parse the data files (roles, legislation, references, contacts, glossary, sources, changes, routes) into
frozen values: pure functions, text in, values and path:line problems out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from kb.model import (
    LAW_GROUPS,
    NATIONS,
    REFERENCE_KINDS,
    RISKS,
    STATUSES,
    TOPICS,
    Change,
    Contact,
    GlossaryEntry,
    LawItem,
    NationRoute,
    Problem,
    Provenance,
    Reference,
    SourceDocument,
    VerifiedUrl,
)
from kb.parse import SLUG, Fields, Parsed, duplicates, mapping_of, records_of, resolve_heading
from kb.roles import Roles, SectionRole, Task

T = TypeVar("T")
SECTION_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*#[a-z0-9]+(?:-[a-z0-9]+)*$")
SITE_PATH = re.compile(r"^/(?!/)\S*$")


def _each(text: str, path: str, what: str, make: Callable[[Fields], T]) -> tuple[list[T], list[Problem]]:
    """One value per mapping of a YAML list file, and every problem found on the way (in file order)."""
    records, problems = records_of(text, path, what)
    return [make(Fields(data, path, problems)) for data in records], problems


def parse_legislation(text: str, path: str = "legislation.yaml", *, source: str) -> Parsed:
    """Legislation items from legislation.yaml; `source` is the document that `provenance: {source: ...}` means."""
    items, problems = _each(text, path, "legislation items", lambda f: _law_item(f, source))
    problems += duplicates([(i.id, i.line) for i in items], path, "legislation id")
    return Parsed(tuple(items), tuple(problems))


def _ages(f: Fields) -> tuple[int, ...]:
    """A legislation item's `ages`: the youngest and oldest age of a child it turns on (none: it turns on none)."""
    value = f.data.get("ages")
    if value is None:
        return ()
    if not (isinstance(value, list) and len(value) == 2 and value == sorted(value)
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 17 for v in value)):
        f.problem("'ages' must be two whole numbers from 0 to 17, the youngest first", key="ages")
        return ()
    return (value[0], value[1])


def _law_item(f: Fields, source: str) -> LawItem:
    """One legislation item; its problems go to the file's list."""
    law_id = f.text("id")
    if law_id and not SLUG.match(law_id):
        f.problem(f"id '{law_id}' must be lower-case words joined by hyphens", key="id")
    prov = f.data.get("provenance") or {}
    if not isinstance(prov, dict) or not (prov.get("source") or prov.get("document")):
        f.problem("'provenance' must name a source heading or a document", key="provenance")
        prov = {}
    url = f.url("url", f"legislation '{law_id}'")
    # Law from another document is sourced by its own page unless the provenance names another (the contract: a
    # document not the source names its URL).
    prov_url = str(prov.get("url") or ("" if prov.get("source") else url))
    if prov and not prov.get("source") and not prov_url:
        f.problem("'provenance' naming a document needs its 'url' (or the item's own 'url')", key="provenance")
    note, note_url = f.text("note", required=False), f.url("note_url")
    if note and not note_url:
        f.problem("a 'note' needs its 'note_url'", key="note")
    correction, correction_url = f.text("correction", required=False), f.url("correction_url")
    if correction and not correction_url:
        f.problem("a 'correction' needs its 'correction_url'", key="correction")
    return LawItem(
        id=law_id,
        title=f.text("title"),
        provision=f.text("provision"),
        group=f.choice("group", tuple(LAW_GROUPS)),
        nations=f.items("nations", NATIONS, required=True),
        summary=f.text("summary"),
        status=f.choice("status", STATUSES),
        url=url,
        provenance=Provenance(
            document=str(prov.get("document") or source),
            section=str(prov.get("source") or ""),
            url=prov_url,
        ),
        topics=f.items("topics", TOPICS),
        keywords=f.items("keywords"),
        ages=_ages(f),
        in_force_from=f.date("in_force_from"),
        in_force_note=f.text("in_force_note", required=False),
        amended_by=f.items("amended_by"),
        replaced_by=f.items("replaced_by"),
        note=note,
        note_url=note_url,
        correction=correction,
        correction_url=correction_url,
        url_label=f.text("url_label", required=False),
        line=f.line,
        field_lines=tuple(f.lines.items()),
    )


def parse_references(text: str, path: str = "references.yaml") -> Parsed:
    """References and resources from references.yaml."""
    items, problems = _each(text, path, "references", _reference)
    problems += duplicates([(i.id, i.line) for i in items], path, "reference id")
    return Parsed(tuple(items), tuple(problems))


def _reference(f: Fields) -> Reference:
    ref_id = f.text("id")
    note, note_url = f.text("note", required=False), f.url("note_url")
    return Reference(
        id=ref_id,
        author=f.text("author"),
        year=f.text("year", required=False),
        title=f.text("title"),
        kind=f.choice("kind", REFERENCE_KINDS),
        url=f.url("url", f"reference '{ref_id}'"),
        publisher=f.text("publisher", required=False),
        format=f.text("format", required=False),
        accessed=f.text("accessed", required=False),
        nations=f.items("nations", NATIONS),
        replacements=f.items("replaced_by"),
        note=note,
        note_url=note_url,
        section=f.text("section", required=False),
        line=f.line,
        field_lines=tuple(f.lines.items()),
    )


def parse_contacts(text: str, path: str = "contacts.yaml") -> Parsed:
    """Contacts from contacts.yaml, in display order."""
    items, problems = _each(text, path, "contacts", _contact)
    problems += duplicates([(i.id, i.line) for i in items], path, "contact id")
    if items and items[0].phone != "999":
        problems.append(Problem(path, items[0].line, "the first contact must be the emergency number 999"))
    return Parsed(tuple(items), tuple(problems))


def _contact(f: Fields) -> Contact:
    contact = Contact(id=f.text("id"), name=f.text("name"), phone=f.text("phone", required=False),
                      when=f.text("when"), url=f.url("url"), email=f.text("email", required=False),
                      audience=f.text("audience", required=False) or "everyone",
                      source=f.text("source", required=False), line=f.line,
                      url_label=f.text("url_label", required=False), nations=f.items("nations", NATIONS) or NATIONS,
                      source_url=f.url("source_url"), risks=f.items("risk", RISKS))
    if not (contact.url or contact.phone or contact.email):
        f.problem(f"contact '{contact.id}' has no verified link, phone or email: say in 'when' how to reach it, "
                  "and add its address once it is verified", "warning")
    return contact


def parse_glossary(text: str, path: str = "glossary.yaml") -> Parsed:
    """Glossary entries from glossary.yaml."""
    items, problems = _each(text, path, "glossary entries", _glossary_entry)
    problems += duplicates([(i.term.lower(), i.line) for i in items], path, "glossary term")
    return Parsed(tuple(items), tuple(problems))


def _glossary_entry(f: Fields) -> GlossaryEntry:
    return GlossaryEntry(term=f.text("term"), also=f.items("also"), means=f.items("means"),
                         definition=f.text("definition"), source=f.text("source", required=False), url=f.url("url"),
                         core=f.flag("core"), line=f.line, respell=f.flag("respell"))


def parse_sources(text: str, path: str = "sources.yaml") -> Parsed:
    """Source documents from sources.yaml."""
    items, problems = _each(text, path, "source documents", _source_document)
    problems += duplicates([(i.id, 1) for i in items], path, "source id")
    problems += duplicates([(v.url, v.line) for i in items for v in i.verified], path, "verified url")
    return Parsed(tuple(items), tuple(problems))


def _source_document(f: Fields) -> SourceDocument:
    doc_id = f.text("id")
    return SourceDocument(id=doc_id, title=f.text("title"), publisher=f.text("publisher", required=False),
                          updated=f.date("updated"), url=f.url("url", f"source document '{doc_id}'"),
                          verified=_verified(f))


def _verified(f: Fields) -> tuple[VerifiedUrl, ...]:
    """A source document's `verified` list: each address with where its check is recorded."""
    out = []
    for entry in f.entries("verified", "{url, where}", each="a mapping with 'url' and 'where'"):
        url = entry.url("url")
        if not url:
            entry.problem("a 'verified' entry needs its https:// 'url'")
        out.append(VerifiedUrl(url=url, where=entry.text("where"), line=entry.line))
    return tuple(out)


def parse_changes(text: str, path: str = "changes.yaml") -> Parsed:
    """The content change log from changes.yaml."""
    items, problems = _each(text, path, "changes", lambda f: Change(date=f.date("date", required=True),
                                                                      summary=f.text("summary")))
    return Parsed(tuple(items), tuple(problems))


def parse_routes(text: str, path: str = "routes.yaml") -> Parsed:
    """Each nation's own referral arrangements, from routes.yaml; every one cites an official https source."""
    items, problems = _each(text, path, "nation routes", _route)
    return Parsed(tuple(items), tuple(problems))


def _route(f: Fields) -> NationRoute:
    url = f.url("url")
    if not url:
        f.problem("a nation's route must cite its official source ('url')")
    return NationRoute(nation=f.choice("nation", NATIONS), title=f.text("title"), text=f.text("text"),
                       document=f.text("document"), url=url, line=f.line)


def parse_roles(text: str, path: str, headings: Sequence[str]) -> Parsed:
    """The parts of the content the code relies on, from roles.yaml (source headings in full or by their leading
    words, as articles name them)."""
    data, problems = mapping_of(text, path)
    if data is None:
        return Parsed(Roles(), tuple(problems))
    f = Fields(data, path, problems)
    roles = Roles(
        source=f.text("source"),
        emergency=_section_role(f, "emergency", headings),
        image_handling=_section_role(f, "image_handling", headings),
        law=tuple(_heading(f, "law", value, headings) for value in f.items("law", required=True)),
        references=_heading(f, "references", f.text("references"), headings),
        tasks=_tasks(f),
        field_lines=tuple(f.lines.items()),
    )
    return Parsed(roles, tuple(problems))


def _heading(f: Fields, key: str, value: str, headings: Sequence[str]) -> str:
    """The source heading a value names in full or by its leading words; a problem when it names none."""
    full = resolve_heading(value, headings) if value else ""
    if full is None:
        f.problem(f"'{value}' is not a heading of the source (sections.txt)", key=key)
    return full or value


def _section_role(f: Fields, key: str, headings: Sequence[str]) -> SectionRole:
    """An article section with a role, and the source section it must restate."""
    value = f.data.get(key)
    if not isinstance(value, dict):
        f.problem(f"'{key}' must be a mapping with 'section' (<slug>#<anchor>) and 'restates'", key=key)
        return SectionRole(line=f.line_of(key))
    role = Fields(value, f.path, f.problems, f.line_of(key))
    section = role.text("section")
    if section and not SECTION_ID.match(section):
        role.problem(f"'section' must name an article section as <slug>#<anchor>, not '{section}'", key="section")
    restates = _heading(role, "restates", role.text("restates"), headings)
    return SectionRole(section=section, restates=restates, line=role.line_of("section"))


def _tasks(f: Fields) -> tuple[Task, ...]:
    """The home page's tasks, in order: each opens the article that answers it, or another page of the site."""
    tasks = []
    for t in f.entries("tasks", "the home page's tasks", required=True):
        slug, href = t.text("slug", required=False), t.text("href", required=False)
        if slug and not SLUG.match(slug):
            t.problem(f"slug '{slug}' must be lower-case words joined by hyphens", key="slug")
        if href and not SITE_PATH.match(href):
            t.problem(f"'href' must be a path on this site (/...), not '{href}'", key="href")
        if not slug and not href:
            t.problem("a task needs the article that answers it ('slug') or a page of the site ('href')")
        tasks.append(Task(label=t.text("label"), slug=slug, question=t.text("question"), href=href,
                          hint=t.text("hint", required=False), line=t.line_of("slug")))
    return tuple(tasks)
