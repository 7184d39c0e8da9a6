"""Turn content text into frozen values: pure functions, no disk access."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.attrs import attrs_block_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from kb.model import (
    AUDIENCES,
    LAW_GROUPS,
    NATIONS,
    REFERENCE_KINDS,
    STATUSES,
    TOPICS,
    Article,
    Change,
    Contact,
    ExternalLink,
    GlossaryEntry,
    LawItem,
    NationRoute,
    Problem,
    Provenance,
    Reference,
    Section,
    SourceDocument,
    VerifiedUrl,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BLOCKS = ("warning", "correction", "update", "details")
LINK_SCHEMES = {"law": "/legislation#{}", "ref": "/references#{}", "contact": "/contacts#{}"}
LINE_KEY = "__line__"
LINES_KEY = "__lines__"


class ContentError(Exception):
    """A content file that cannot be parsed at all."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Parsed:
    """A parsed value with the problems found in its text."""

    value: Any
    problems: tuple[Problem, ...]


# ---------------------------------------------------------------- YAML with line numbers


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's first line (1-based) under LINE_KEY, and each key's under
    LINES_KEY, so a problem points at the field that has it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE_KEY] = node.start_mark.line + 1
        mapping[LINES_KEY] = {str(key.value): key.start_mark.line + 1 for key, _ in node.value
                              if isinstance(key, yaml.ScalarNode)}
        return mapping


# Dates stay strings: the content's dates are shown as written and compared as ISO text.
_LineLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str, first_line: int = 1) -> Any:
    """Parse YAML, recording line numbers; raise ContentError with the line of a syntax error."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line if mark else 0) + first_line
        raise ContentError(line, f"bad YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(first_line, f"bad YAML: {exc}") from exc
    if first_line != 1:
        _shift_lines(data, first_line - 1)
    return data


def _shift_lines(data: Any, offset: int) -> None:
    """Move recorded line numbers by offset (for YAML embedded in a larger file)."""
    if isinstance(data, dict):
        if LINE_KEY in data:
            data[LINE_KEY] += offset
        if LINES_KEY in data:
            data[LINES_KEY] = {key: line + offset for key, line in data[LINES_KEY].items()}
        for key, value in data.items():
            if key != LINES_KEY:
                _shift_lines(value, offset)
    elif isinstance(data, list):
        for value in data:
            _shift_lines(value, offset)


class Fields:
    """Typed access to one YAML mapping, collecting problems instead of raising."""

    def __init__(self, data: dict[str, Any], path: str, problems: list[Problem], line: int = 1) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.line = int(data.get(LINE_KEY, line))
        self.lines: dict[str, int] = dict(data.get(LINES_KEY) or {})

    def line_of(self, key: str | None) -> int:
        """The line of a field, or of the mapping when the field is absent."""
        return self.lines.get(key, self.line) if key else self.line

    def problem(self, message: str, severity: str = "error", key: str | None = None) -> None:
        self.problems.append(Problem(self.path, self.line_of(key), message, severity))

    def text(self, key: str, required: bool = True) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.problem(f"missing '{key}'")
            return ""
        if isinstance(value, bool | dict | list):
            self.problem(f"'{key}' must be text, not {type(value).__name__}", key=key)
            return ""
        return str(value).strip()

    def items(self, key: str, allowed: Sequence[str] | None = None, required: bool = False) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.problem(f"missing '{key}'")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.problem(f"'{key}' must be a list of words", key=key)
            return ()
        words = tuple(str(v).strip() for v in value)
        if allowed is not None:
            for word in words:
                if word not in allowed:
                    expected = ", ".join(allowed)
                    self.problem(f"unknown {key.rstrip('s')} '{word}' (expected one of: {expected})", key=key)
            words = tuple(w for w in words if w in allowed)
        return words

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.problem(f"'{key}' must be true or false", key=key)
            return False
        return value

    def choice(self, key: str, allowed: Sequence[str]) -> str:
        value = self.text(key)
        if value and value not in allowed:
            self.problem(f"unknown {key} '{value}' (expected one of: {', '.join(allowed)})", key=key)
            return ""
        return value

    def url(self, key: str, what: str = "") -> str:
        value = self.text(key, required=False)
        if value and not value.startswith("https://"):
            self.problem(f"'{key}' must be an https:// URL, not '{value}'", key=key)
            return ""
        if not value and what:
            self.problem(f"{what} has no verified URL yet", "warning", key=key)
        return value

    def date(self, key: str, required: bool = False) -> str:
        value = self.text(key, required=required)
        if value and not ISO_DATE.match(value):
            self.problem(f"'{key}' must be an ISO date (YYYY-MM-DD), not '{value}'", key=key)
            return ""
        return value


def records_of(text: str, path: str, what: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The mappings of a YAML list file, or a problem saying why there are none."""
    try:
        data = load_yaml(text)
    except ContentError as exc:
        return [], [Problem(path, exc.line, exc.message)]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [Problem(path, 1, f"expected a list of {what}")]
    records, problems = [], []
    for i, item in enumerate(data):
        if isinstance(item, dict):
            records.append(item)
        else:
            problems.append(Problem(path, 1, f"item {i + 1} is not a mapping of fields"))
    return records, problems


def _unique(values: Sequence[tuple[str, int]], path: str, what: str) -> list[Problem]:
    """A problem for each id seen before in the same file."""
    seen: set[str] = set()
    problems = []
    for value, line in values:
        if value and value in seen:
            problems.append(Problem(path, line, f"duplicate {what} '{value}'"))
        seen.add(value)
    return problems


# ---------------------------------------------------------------- data files


def parse_legislation(text: str, path: str = "legislation.yaml") -> Parsed:
    """Legislation items from legislation.yaml."""
    records, problems = records_of(text, path, "legislation items")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        law_id = f.text("id")
        if law_id and not SLUG.match(law_id):
            f.problem(f"id '{law_id}' must be lower-case words joined by hyphens", key="id")
        prov = data.get("provenance") or {}
        if not isinstance(prov, dict) or not (prov.get("source") or prov.get("document")):
            f.problem("'provenance' must name a source heading or a document", key="provenance")
            prov = {}
        note, note_url = f.text("note", required=False), f.url("note_url")
        if note and not note_url:
            f.problem("a 'note' needs its 'note_url'", key="note")
        correction, correction_url = f.text("correction", required=False), f.url("correction_url")
        if correction and not correction_url:
            f.problem("a 'correction' needs its 'correction_url'", key="correction")
        items.append(
            LawItem(
                id=law_id,
                title=f.text("title"),
                provision=f.text("provision"),
                group=f.choice("group", tuple(LAW_GROUPS)),
                nations=f.items("nations", NATIONS, required=True),
                summary=f.text("summary"),
                status=f.choice("status", STATUSES),
                url=f.url("url", f"legislation '{law_id}'"),
                provenance=Provenance(
                    document=str(prov.get("document") or "nspcc-sexting-2020"),
                    section=str(prov.get("source") or ""),
                    url=str(prov.get("url") or ""),
                ),
                topics=f.items("topics", TOPICS),
                keywords=f.items("keywords"),
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
        )
    problems += _unique([(i.id, i.line) for i in items], path, "legislation id")
    return Parsed(tuple(items), tuple(problems))


def parse_references(text: str, path: str = "references.yaml") -> Parsed:
    """References and resources from references.yaml."""
    records, problems = records_of(text, path, "references")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        ref_id = f.text("id")
        note, note_url = f.text("note", required=False), f.url("note_url")
        items.append(
            Reference(
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
        )
    problems += _unique([(i.id, i.line) for i in items], path, "reference id")
    return Parsed(tuple(items), tuple(problems))


def parse_contacts(text: str, path: str = "contacts.yaml") -> Parsed:
    """Contacts from contacts.yaml, in display order."""
    records, problems = records_of(text, path, "contacts")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        items.append(
            Contact(
                id=f.text("id"),
                name=f.text("name"),
                phone=f.text("phone", required=False),
                when=f.text("when"),
                url=f.url("url"),
                email=f.text("email", required=False),
                audience=f.text("audience", required=False) or "everyone",
                source=f.text("source", required=False),
                line=f.line,
                url_label=f.text("url_label", required=False),
                nations=f.items("nations", NATIONS) or NATIONS,
                source_url=f.url("source_url"),
            )
        )
        if not (items[-1].url or items[-1].phone or items[-1].email):
            f.problem(f"contact '{items[-1].id}' has no verified link, phone or email: say in 'when' how to reach "
                      "it, and add its address once it is verified", "warning")
    problems += _unique([(i.id, i.line) for i in items], path, "contact id")
    if items and items[0].phone != "999":
        problems.append(Problem(path, items[0].line, "the first contact must be the emergency number 999"))
    return Parsed(tuple(items), tuple(problems))


def parse_glossary(text: str, path: str = "glossary.yaml") -> Parsed:
    """Glossary entries from glossary.yaml."""
    records, problems = records_of(text, path, "glossary entries")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        items.append(
            GlossaryEntry(
                term=f.text("term"),
                also=f.items("also"),
                means=f.items("means"),
                definition=f.text("definition"),
                source=f.text("source", required=False),
                url=f.url("url"),
                core=f.flag("core"),
                line=f.line,
            )
        )
    problems += _unique([(i.term.lower(), i.line) for i in items], path, "glossary term")
    return Parsed(tuple(items), tuple(problems))


def parse_sources(text: str, path: str = "sources.yaml") -> Parsed:
    """Source documents from sources.yaml."""
    records, problems = records_of(text, path, "source documents")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        doc_id = f.text("id")
        items.append(
            SourceDocument(
                id=doc_id,
                title=f.text("title"),
                publisher=f.text("publisher", required=False),
                updated=f.date("updated"),
                url=f.url("url", f"source document '{doc_id}'"),
                verified=_verified(f),
            )
        )
    problems += _unique([(i.id, 1) for i in items], path, "source id")
    problems += _unique([(v.url, v.line) for i in items for v in i.verified], path, "verified url")
    return Parsed(tuple(items), tuple(problems))


def _verified(f: Fields) -> tuple[VerifiedUrl, ...]:
    """A source document's `verified` list: each address with where its check is recorded."""
    value = f.data.get("verified")
    if value is None:
        return ()
    if not isinstance(value, list):
        f.problem("'verified' must be a list of {url, where}", key="verified")
        return ()
    out = []
    for item in value:
        if not isinstance(item, dict):
            f.problem("each 'verified' entry must be a mapping with 'url' and 'where'", key="verified")
            continue
        entry = Fields(item, f.path, f.problems, f.line_of("verified"))
        url = entry.url("url")
        if not url:
            entry.problem("a 'verified' entry needs its https:// 'url'")
        out.append(VerifiedUrl(url=url, where=entry.text("where"), line=entry.line))
    return tuple(out)


def parse_changes(text: str, path: str = "changes.yaml") -> Parsed:
    """The content change log from changes.yaml."""
    records, problems = records_of(text, path, "changes")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        items.append(Change(date=f.date("date", required=True), summary=f.text("summary")))
    return Parsed(tuple(items), tuple(problems))


def parse_routes(text: str, path: str = "routes.yaml") -> Parsed:
    """Each nation's own referral arrangements, from routes.yaml; every one cites an official https source."""
    records, problems = records_of(text, path, "nation routes")
    items = []
    for data in records:
        f = Fields(data, path, problems)
        url = f.url("url")
        if not url:
            f.problem("a nation's route must cite its official source ('url')")
        items.append(NationRoute(nation=f.choice("nation", NATIONS), title=f.text("title"), text=f.text("text"),
                                 document=f.text("document"), url=url, line=f.line))
    return Parsed(tuple(items), tuple(problems))


def parse_headings(text: str) -> tuple[str, ...]:
    """The source's section headings, one a line."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


# ---------------------------------------------------------------- markdown


def _render_container(name: str) -> Callable[..., str]:
    """A renderer for one `::: name` block."""

    labels = {
        "warning": ("callout callout--warning", "Warning"),
        "correction": ("callout callout--correction", "Correction to the 2020 guidance"),
        "update": ("callout callout--update", "Updated since 2020"),
    }

    def render(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        if token.nesting != 1:
            return "</div></details>\n" if name == "details" else "</div>\n"
        if name == "details":
            summary = token.info.strip()[len("details") :].strip() or "More detail"
            return (
                '<details class="details"><summary class="details__summary">'
                f'{html.escape(summary)}</summary><div class="details__text">\n'
            )
        css, label = labels[name]
        return f'<div class="{css}"><p class="callout__label"><strong>{label}</strong></p>\n'

    return render


def make_markdown() -> MarkdownIt:
    """The one markdown parser: CommonMark with tables, attribute lines and our blocks; raw HTML off."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.use(front_matter_plugin).use(attrs_block_plugin)
    for name in BLOCKS:
        md.use(container_plugin, name=name, render=_render_container(name))
    return md


MD = make_markdown()


def _attr(token: Token, key: str) -> str:
    value = token.attrs.get(key, "")
    return str(value).strip()


def _words(value: str) -> tuple[str, ...]:
    """Split an attribute list on commas or spaces (ids) or commas (phrases)."""
    sep = "," if "," in value else None
    return tuple(w.strip() for w in value.split(sep) if w.strip())


def inline_text(token: Token) -> str:
    """The plain text of an inline token."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def plain_text(tokens: Sequence[Token]) -> str:
    """Plain text of a run of block tokens: one line a paragraph or list item."""
    lines = []
    depth = 0
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "inline":
            text = inline_text(token)
            if text:
                lines.append(("- " if depth else "") + text)
        elif token.type.startswith("container_") and token.nesting == 1 and token.info.strip().startswith("details"):
            summary = token.info.strip()[len("details") :].strip()
            if summary:
                lines.append(summary)
    return "\n".join(lines)


def _check_links(
    tokens: Sequence[Token], path: str, problems: list[Problem], first_line: int,
    external: list[ExternalLink] | None = None,
) -> tuple[list[tuple[str, int]], list[str], list[str]]:
    """Rewrite our link schemes to site URLs; return each link target with its line, and the ids named.

    Each https:// link is added to `external` with its label, so checks can compare what a label names
    with what the link opens.
    """
    links: list[tuple[str, int]] = []
    laws, refs = [], []
    for token in tokens:
        if token.type != "inline":
            continue
        line = first_line + (token.map[0] if token.map else 0)
        label: list[str] | None = None
        href_line = (line, "")
        for child in token.children or []:
            if child.type in ("softbreak", "hardbreak"):
                line += 1  # a paragraph spans lines: count them so each link has its own
                if label is not None:
                    label.append(" ")
                continue
            if label is not None:
                if child.type == "link_close":
                    if external is not None:
                        external.append(ExternalLink(href_line[1], " ".join("".join(label).split()), href_line[0]))
                    label = None
                elif child.type in ("text", "code_inline"):
                    label.append(child.content)
            if child.type == "text" and "](" in child.content:
                problems.append(Problem(path, line, f"link not recognised (unsafe or malformed): {child.content!r}"))
            if child.type != "link_open":
                continue
            href = str(child.attrs.get("href", ""))
            scheme, _, rest = href.partition(":")
            if scheme in LINK_SCHEMES and rest:
                links.append((href, line))
                if scheme == "law":
                    laws.append(rest)
                elif scheme == "ref":
                    refs.append(rest)
                child.attrs["href"] = LINK_SCHEMES[scheme].format(rest)
            elif href.startswith("/") or href.startswith("#"):
                links.append((href, line))
            elif href.startswith("https://"):
                label, href_line = [], (line, href)
            elif href.startswith("mailto:") or href.startswith("tel:"):
                pass
            else:
                message = f"link '{href}' must be https://, /articles/..., law:, ref: or contact:"
                problems.append(Problem(path, line, message))
                child.attrs["href"] = "#"
    return links, laws, refs


def _render(tokens: list[Token]) -> str:
    """Safe HTML for a run of tokens: ids only on headings, step lists marked."""
    for token in tokens:
        if token.type == "heading_open":
            anchor = token.attrs.get("id")
            token.attrs = {"id": anchor} if anchor else {}
        elif token.type == "ordered_list_open":
            token.attrs["class"] = "steps"
        elif token.type == "table_open":
            token.attrs["class"] = "table"
    return str(MD.renderer.render(tokens, MD.options, {}))


def _section_nations(head: Token, path: str, line: int, problems: list[Problem]) -> tuple[str, ...]:
    """The nations a section is specifically about (its `nations="..."` attribute), checked."""
    named = _words(_attr(head, "nations"))
    for nation in named:
        if nation not in NATIONS:
            problems.append(Problem(path, line, f"unknown nation '{nation}' (expected one of: {', '.join(NATIONS)})"))
    return tuple(n for n in named if n in NATIONS)


def resolve_heading(value: str, headings: Sequence[str]) -> str | None:
    """The full source heading that value names exactly or by an unambiguous leading part."""
    if value in headings:
        return value
    matches = [h for h in headings if h.startswith(value + " ")]
    return matches[0] if len(matches) == 1 else None


def parse_article(text: str, path: str, headings: Sequence[str]) -> Parsed:
    """An Article from a markdown file's text; problems carry path:line."""
    problems: list[Problem] = []
    try:
        tokens = MD.parse(text)
    except Exception as exc:  # noqa: BLE001 - markdown-it raises plain exceptions on bad input
        return Parsed(None, (Problem(path, 1, f"cannot parse markdown: {exc}"),))
    if not tokens or tokens[0].type != "front_matter":
        return Parsed(None, (Problem(path, 1, "missing front matter (a block between '---' lines at the top)"),))
    try:
        meta = load_yaml(tokens[0].content, first_line=2)
    except ContentError as exc:
        return Parsed(None, (Problem(path, exc.line, exc.message),))
    if not isinstance(meta, dict):
        return Parsed(None, (Problem(path, 2, "front matter must be a mapping of fields"),))

    f = Fields(meta, path, problems)
    slug = f.text("slug")
    if slug and not SLUG.match(slug):
        f.problem(f"slug '{slug}' must be lower-case words joined by hyphens", key="slug")
    order_value = meta.get("order", 100)
    if not isinstance(order_value, int) or isinstance(order_value, bool):
        f.problem("'order' must be a whole number", key="order")
        order_value = 100
    refs, laws = f.items("references"), f.items("legislation")

    body = tokens[1:]
    starts = [i for i, t in enumerate(body) if t.type == "heading_open" and t.tag in ("h2", "h3")]
    for t in body:
        if t.type == "heading_open" and t.tag == "h1":
            message = "use H2/H3 in the body; the title is in front matter"
            problems.append(Problem(path, (t.map[0] if t.map else 0) + 1, message))
    lead = body[: starts[0]] if starts else body
    external: list[ExternalLink] = []
    _check_links(lead, path, problems, 1, external)
    sections = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(body)
        chunk = body[start:end]
        head = chunk[0]
        line = (head.map[0] if head.map else 0) + 1
        heading = inline_text(chunk[1])
        anchor = _attr(head, "id")
        if not anchor:
            message = f"section '{heading}' needs an attribute line {{#anchor source=\"...\"}} above it"
            problems.append(Problem(path, line, message))
            continue
        if not SLUG.match(anchor):
            problems.append(Problem(path, line, f"anchor '{anchor}' must be lower-case words joined by hyphens"))
        source, document, url = _attr(head, "source"), _attr(head, "document"), _attr(head, "url")
        if source:
            full = resolve_heading(source, headings)
            if full is None:
                message = f"provenance '{source}' is not a heading of the source (sections.txt)"
                problems.append(Problem(path, line, message))
                full = source
            provenance = Provenance(document="nspcc-sexting-2020", section=full)
        elif document:
            if not url.startswith("https://"):
                message = f"section '{heading}' names document '{document}' but no https:// url"
                problems.append(Problem(path, line, message))
            provenance = Provenance(document=document, url=url)
        else:
            message = f"section '{heading}' has no provenance (source=\"...\" or document=... url=...)"
            problems.append(Problem(path, line, message))
            provenance = Provenance(document="")
        links, link_laws, link_refs = _check_links(chunk, path, problems, 1, external)
        for block in chunk:
            if block.type == "container_correction_open" and "https://" not in _raw(chunk, block):
                at = (block.map[0] if block.map else 0) + 1
                problems.append(Problem(path, at, "a correction must cite an https:// source"))
        sec_refs = _words(_attr(head, "refs")) + tuple(link_refs)
        sec_laws = _words(_attr(head, "laws")) + tuple(link_laws)
        sections.append(
            Section(
                anchor=anchor,
                heading=heading,
                level=int(head.tag[1]),
                provenance=provenance,
                text=plain_text(chunk[3:]),
                html=_render(chunk[3:]),
                keywords=_words(_attr(head, "keywords")),
                refs=tuple(dict.fromkeys(sec_refs or refs)),
                laws=tuple(dict.fromkeys(sec_laws or laws)),
                links=tuple(href for href, _ in links),
                link_lines=tuple(n for _, n in links),
                line=line,
                nations=_section_nations(head, path, line, problems),
            )
        )
    if not sections:
        problems.append(Problem(path, 1, "an article needs at least one H2 section"))
    problems += _unique([(s.anchor, s.line) for s in sections], path, "anchor")
    article = Article(
        slug=slug,
        title=f.text("title"),
        summary=f.text("summary"),
        order=order_value,
        topics=f.items("topics", TOPICS, required=True),
        nations=f.items("nations", NATIONS, required=True),
        audiences=f.items("audiences", AUDIENCES, required=True),
        keywords=f.items("keywords"),
        references=refs,
        legislation=laws,
        last_reviewed=f.date("last_reviewed", required=True),
        source=f.text("source"),
        question=f.text("question", required=False),
        next=f.items("next"),
        lead_html=_render(list(lead)),
        sections=tuple(sections),
        path=path,
        field_lines=tuple(f.lines.items()),
        external_links=tuple(external),
    )
    return Parsed(article, tuple(problems))


def _raw(chunk: Sequence[Token], opener: Token) -> str:
    """The link targets and text inside a container, to check it cites a source."""
    inside, depth, out = False, 0, []
    for token in chunk:
        if token is opener:
            inside, depth = True, 1
            continue
        if not inside:
            continue
        if token.type == opener.type:
            depth += 1
        elif token.type == opener.type.replace("_open", "_close"):
            depth -= 1
            if depth == 0:
                break
        for child in token.children or []:
            out.append(str(child.attrs.get("href", "")) + child.content)
    return " ".join(out)
