"""Read content/ from disk and check it as a whole: the only module that reads content files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from kb import parse, parse_signals
from kb.conversation import CONVERSATION_FILE, Conversation, check_conversation, parse_conversation
from kb.model import CURRENT_STATUSES, Article, Content, Intent, Problem
from kb.tools import TOOLS_FILE, check_tools, parse_tools

HEADINGS_FILE = Path(__file__).with_name("source_sections.txt")
DATA_FILES: dict[str, Callable[[str, str], parse.Parsed]] = {
    "legislation.yaml": parse.parse_legislation,
    "references.yaml": parse.parse_references,
    "contacts.yaml": parse.parse_contacts,
    "glossary.yaml": parse.parse_glossary,
    "sources.yaml": parse.parse_sources,
    "changes.yaml": parse.parse_changes,
    "routes.yaml": parse.parse_routes,
}

OPTIONAL_FILES = ("changes.yaml", "routes.yaml")
# What reading a question relies on (optional: without them the site falls back to plain rules).
SIGNAL_FILES: dict[str, Callable[[str, str], parse.Parsed]] = {
    "urgency.yaml": parse_signals.parse_urgency,
    "places.yaml": parse_signals.parse_places,
    "asks.yaml": parse_signals.parse_asks,
    "intents.yaml": parse_signals.parse_intents,
}
LEGISLATION_HOST = "legislation.gov.uk"
# A site named in a link's words (legislation.gov.uk, gov.uk, gov.scot, ...): the link must open that site.
SITE_NAME = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:uk|scot|wales|org|com|net)\b", re.IGNORECASE)
# The provision an item's default link label names ("section 33", "sections 66B to 66D", "article 72A", "Part 1").
# An address as written in markdown or YAML: it ends at a space, a bracket or a quote.
URL = re.compile(r"https://[^\s()<>\[\]\"'`]+")
PROVISION = re.compile(r"^(section|article|part)s?\s+(\w+)", re.IGNORECASE)


def source_headings() -> tuple[str, ...]:
    """The 31 source section headings (the contract's sections.txt)."""
    return parse.parse_headings(HEADINGS_FILE.read_text(encoding="utf-8"))


def content_files(root: Path) -> list[Path]:
    """Every file the site is built from, in a stable order (the tools' data too)."""
    # A folder named like an article is not one (reading it would raise).
    folder = root / "articles"
    articles = sorted(p for p in folder.glob("*.md") if p.is_file()) if folder.is_dir() else []
    names = [*DATA_FILES, TOOLS_FILE, *SIGNAL_FILES, CONVERSATION_FILE]
    return articles + [root / name for name in names if (root / name).is_file()]


def digest(root: Path) -> str:
    """A hash of the content the index is built from (names and bytes)."""
    h = hashlib.sha256()
    for path in content_files(root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    h.update(HEADINGS_FILE.read_bytes())
    return h.hexdigest()[:16]


def _read(path: Path, shown: str, problems: list[Problem]) -> str | None:
    """A file's text, or None with a problem when it cannot be read as UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        problems.append(Problem(shown, line, "not valid UTF-8 text"))
    except OSError as exc:
        problems.append(Problem(shown, 1, f"cannot read: {exc.strerror}"))
    return None


def load_content(root: Path | str) -> Content:
    """Parse every content file under root and check the whole; problems say path:line."""
    root = Path(root)
    problems: list[Problem] = []
    headings = source_headings()
    if not root.is_dir():
        problems.append(Problem(str(root), 1, "content folder not found"))
    shown = {path: _shown(root, path) for path in content_files(root)}
    texts: dict[str, str] = {}  # every file's text, to find each address it links to
    articles: list[Article] = []
    for path in [p for p in content_files(root) if p.suffix == ".md"]:
        text = _read(path, shown[path], problems)
        if text is None:
            continue
        texts[shown[path]] = text
        parsed = parse.parse_article(text, shown[path], headings)
        problems += parsed.problems
        if parsed.value is not None:
            articles.append(parsed.value)
            if parsed.value.slug and parsed.value.slug != path.stem:
                problems.append(Problem(shown[path], parsed.value.line_of("slug"),
                                        f"slug '{parsed.value.slug}' must match the file name '{path.stem}'"))
    data: dict[str, tuple[object, ...]] = {}
    for name, parser in DATA_FILES.items():
        path = root / name
        if not path.is_file():
            if name not in OPTIONAL_FILES:
                problems.append(Problem(_shown(root, path), 1, "missing data file"))
            data[name] = ()
            continue
        text = _read(path, shown[path], problems)
        texts[shown[path]] = text or ""
        parsed = parser(text or "", shown[path])
        problems += parsed.problems
        data[name] = parsed.value
    content = Content(
        articles=tuple(sorted(articles, key=lambda a: (a.order, a.slug))),
        legislation=data["legislation.yaml"],  # type: ignore[arg-type]
        references=data["references.yaml"],  # type: ignore[arg-type]
        contacts=data["contacts.yaml"],  # type: ignore[arg-type]
        glossary=data["glossary.yaml"],  # type: ignore[arg-type]
        sources=data["sources.yaml"],  # type: ignore[arg-type]
        changes=data["changes.yaml"],  # type: ignore[arg-type]
        routes=data["routes.yaml"],  # type: ignore[arg-type]
        digest=digest(root) if root.is_dir() else "",
    )
    signals: dict[str, object] = {}
    for name, parser in SIGNAL_FILES.items():
        path = root / name
        if path.is_file():
            text = _read(path, shown[path], problems) or ""
            texts[shown[path]] = text
            parsed = parser(text, shown[path])
            problems += parsed.problems
            signals[name] = parsed.value
    content = replace(content, cues=signals.get("urgency.yaml"),
                      places=signals.get("places.yaml", ()),  # type: ignore[arg-type]
                      asks=signals.get("asks.yaml", {}),  # type: ignore[arg-type]
                      intents=signals.get("intents.yaml", ()))  # type: ignore[arg-type]
    problems += check_whole(content, headings, {name: _shown(root, root / name) for name in DATA_FILES})
    problems += check_asks(content, _shown(root, root / "asks.yaml"))
    intents, found = resolve_intents(content.intents, headings, _shown(root, root / "intents.yaml"))
    content = replace(content, intents=intents)
    problems += found
    tools = None
    tools_path = root / TOOLS_FILE
    if tools_path.is_file():
        text = _read(tools_path, _shown(root, tools_path), problems)
        texts[_shown(root, tools_path)] = text or ""
        parsed = parse_tools(text or "", _shown(root, tools_path), headings)
        problems += parsed.problems
        tools = parsed.value
        if tools is not None:
            problems += check_tools(tools, content, headings, _shown(root, tools_path))
    content = replace(content, tools=tools)
    conversation = _conversation(root, content, headings, texts, problems)
    problems += check_urls(texts, content, _shown(root, root / "sources.yaml"))
    return Content(**{**content.__dict__, "problems": tuple(problems), "conversation": conversation})


def _conversation(root: Path, content: Content, headings: tuple[str, ...], texts: dict[str, str],
                  problems: list[Problem]) -> Conversation | None:
    """The conversation of /ask (optional: without it /ask answers one question at a time)."""
    path = root / CONVERSATION_FILE
    if not path.is_file():
        return None
    shown = _shown(root, path)
    text = _read(path, shown, problems) or ""
    texts[shown] = text
    parsed = parse_conversation(text, shown, headings)
    problems += parsed.problems
    if parsed.value is not None:
        problems += check_conversation(parsed.value, content, shown)
    return cast(Conversation | None, parsed.value)


def _shown(root: Path, path: Path) -> str:
    """The path as printed in problems: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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


def check_urls(texts: dict[str, str], content: Content, sources_path: str) -> list[Problem]:
    """Every https:// address in a content file is one that sources.yaml lists as verified, on its site."""
    problems: list[Problem] = []
    verified = {v.url for doc in content.sources for v in doc.verified}
    for path, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            for match in URL.finditer(line):
                url = match.group(0).rstrip(".,;:!?")
                if url not in verified:
                    problems.append(Problem(path, number, f"address '{url}' is not listed as verified in "
                                                          "sources.yaml (add it with where it was checked)"))
    for doc in content.sources:
        for entry in doc.verified:
            # Each address sits under the document whose site it is on, so the list reads as "checked on X".
            if doc.url and _host(entry.url) != _host(doc.url):
                problems.append(Problem(sources_path, entry.line, f"verified address '{entry.url}' is not on "
                                                                 f"{_host(doc.url)}, the site of '{doc.id}'"))
    return problems


def check_whole(content: Content, headings: tuple[str, ...], files: dict[str, str]) -> list[Problem]:
    """Checks across files: ids resolve, every source section has a home, links land, slugs unique."""
    problems: list[Problem] = []
    law_ids = {item.id for item in content.legislation}
    ref_ids = {r.id for r in content.references}
    contact_ids = {c.id for c in content.contacts}
    source_ids = {s.id for s in content.sources}
    anchors: dict[str, set[str]] = {}
    for a in content.articles:
        anchors.setdefault(a.slug, set()).update(s.anchor for s in a.sections)

    seen: dict[str, str] = {}
    for article in content.articles:
        if article.slug in seen:
            problems.append(Problem(article.path, article.line_of("slug"),
                                    f"duplicate slug '{article.slug}' (also in {seen[article.slug]})"))
        seen[article.slug] = article.path
        if article.source and article.source not in source_ids:
            problems.append(Problem(article.path, article.line_of("source"),
                                    f"source '{article.source}' is not in sources.yaml"))
        for law_id in article.legislation:
            if law_id not in law_ids:
                problems.append(Problem(article.path, article.line_of("legislation"),
                                        f"legislation id '{law_id}' does not resolve"))
        for slug in article.next:
            if slug not in anchors:
                problems.append(Problem(article.path, article.line_of("next"),
                                        f"next article '{slug}' does not exist"))
        for ref_id in article.references:
            if ref_id not in ref_ids:
                problems.append(Problem(article.path, article.line_of("references"),
                                        f"reference id '{ref_id}' does not resolve"))
        for ext in article.external_links:
            named = label_misnames_site(ext.label, ext.href)
            if named:
                problems.append(Problem(article.path, ext.line,
                                        f"link labelled '{ext.label}' names {named} but opens {_host(ext.href)}"))
        for section in article.sections:
            where = (article.path, section.line)
            doc = section.provenance.document
            if doc and doc not in source_ids:
                problems.append(Problem(*where, f"document '{doc}' is not in sources.yaml"))
            for law_id in section.laws:
                if law_id not in law_ids and law_id not in article.legislation:
                    problems.append(Problem(article.path, section.link_line(f"law:{law_id}"),
                                            f"legislation id '{law_id}' does not resolve"))
            for ref_id in section.refs:
                if ref_id not in ref_ids and ref_id not in article.references:
                    problems.append(Problem(article.path, section.link_line(f"ref:{ref_id}"),
                                            f"reference id '{ref_id}' does not resolve"))
            for link, line in zip(section.links, section.link_lines, strict=False):
                if link.startswith("contact:") and link[8:] not in contact_ids:
                    problems.append(Problem(article.path, line, f"contact id '{link[8:]}' does not resolve"))
                if link.startswith("#"):
                    link = f"/articles/{article.slug}{link}"
                if link.startswith("/articles/"):
                    slug, _, anchor = link[len("/articles/") :].partition("#")
                    if slug not in anchors or (anchor and anchor not in anchors[slug]):
                        problems.append(Problem(article.path, line, f"broken internal link '{link}'"))

    homes = {s.provenance.section for a in content.articles for s in a.sections}
    for heading in headings:
        if heading not in homes:
            problems.append(Problem(files["sources.yaml"], 1, f"source section '{heading}' has no home in any article"))

    for item in content.legislation:
        where = (files["legislation.yaml"], item.line)
        for key in ("amended_by", "replaced_by"):
            for other in getattr(item, key):
                if other not in law_ids:
                    problems.append(Problem(where[0], item.line_of(key),
                                            f"'{item.id}' points to unknown legislation id '{other}'"))
        link_problem = law_link_problem(item.provision, item.url, item.url_label)
        if link_problem:
            problems.append(Problem(where[0], item.line_of("url_label" if item.url_label else "url"),
                                    f"'{item.id}': {link_problem}"))
        if item.provenance.section and item.provenance.section not in headings:
            problems.append(Problem(where[0], item.line_of("provenance"),
                                    f"provenance '{item.provenance.section}' is not a source heading"))
        # An item that names what replaced it is history: a current status would show it as "in force"
        # under "no longer the law" (the site never offers it as current).
        if item.replaced_by and item.status in CURRENT_STATUSES:
            problems.append(Problem(where[0], item.line_of("status"),
                                    f"'{item.id}' names what replaced it (replaced_by) but its status is "
                                    f"'{item.status}': give the status it has today, or leave the item out"))
        if item.status == "repealed" and not item.replaced_by and not item.note:
            problems.append(Problem(*where, f"repealed '{item.id}' should say what replaced it", "warning"))
    for route in content.routes:
        if route.document and route.document not in source_ids:
            message = f"document '{route.document}' is not in sources.yaml"
            problems.append(Problem(files["routes.yaml"], route.line, message))
    nations_of = {r.id: set(r.nations) for r in content.references}
    for ref in content.references:
        for other in ref.replacements:
            if other not in ref_ids:
                problems.append(Problem(files["references.yaml"], ref.line_of("replaced_by"),
                                        f"'{ref.id}' replaced_by unknown id '{other}'"))
        # Where the old work applied in several nations, each nation needs its replacement named: one
        # nation's document does not replace it in another.
        known = [nations_of[other] for other in ref.replacements if other in ref_ids]
        if ref.nations and known and all(known):
            uncovered = [n for n in ref.nations if not any(n in ns for ns in known)]
            if uncovered:
                problems.append(Problem(files["references.yaml"], ref.line_of("replaced_by"),
                                        f"'{ref.id}' applies in {', '.join(uncovered)} but nothing it is "
                                        f"replaced_by does: name each nation's replacement"))
    return problems


def resolve_intents(intents: tuple[Intent, ...], headings: tuple[str, ...], path: str
                    ) -> tuple[tuple[Intent, ...], list[Problem]]:
    """Intents with each source section named in full (content may name one by its leading words)."""
    problems = []
    resolved = []
    for intent in intents:
        full = []
        for heading in intent.sections:
            name = parse.resolve_heading(heading, headings)
            if name is None:
                message = f"intent '{intent.name}': '{heading}' is not a source heading"
                problems.append(Problem(path, intent.line, message))
            else:
                full.append(name)
        resolved.append(replace(intent, sections=tuple(full)))
    return tuple(resolved), problems


def check_asks(content: Content, path: str) -> list[Problem]:
    """Every `asks` key names a section; when the file is there, every section has its questions."""
    if not content.asks:
        return []
    ids = {f"{a.slug}#{s.anchor}" for a in content.articles for s in a.sections}
    problems = [Problem(path, 1, f"asks for unknown section '{key}'") for key in content.asks if key not in ids]
    # A new section without asks still works (it is found by its words): a warning, so it is written soon.
    problems += [Problem(path, 1, f"section '{key}' has no asks yet", "warning")
                 for key in sorted(ids - set(content.asks))]
    return problems
