"""Parse an article (markdown with YAML front matter) into an Article of sections, each with its provenance,
plain text for indexing and safe HTML for display. Pure: text in, values and path:line problems out."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.attrs import attrs_block_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from kb.model import AUDIENCES, NATIONS, TOPICS, Article, ExternalLink, Problem, Provenance, Section
from kb.parse import SLUG, ContentError, Fields, Parsed, duplicates, load_yaml, resolve_heading

BLOCKS = ("warning", "correction", "update", "details")
LINK_SCHEMES = {"law": "/legislation#{}", "ref": "/references#{}", "contact": "/contacts#{}"}


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
    links = _Links(path, problems, [] if external is None else external)
    for token in tokens:
        if token.type == "inline":
            links.read(token, first_line + (token.map[0] if token.map else 0))
    return links.targets, links.laws, links.refs


class _Links:
    """The links of a run of inline tokens, read one token at a time (each with the line it starts on)."""

    def __init__(self, path: str, problems: list[Problem], external: list[ExternalLink]) -> None:
        self.path, self.problems, self.external = path, problems, external
        self.targets: list[tuple[str, int]] = []
        self.laws: list[str] = []
        self.refs: list[str] = []

    def read(self, token: Token, line: int) -> None:
        """Every link of one inline token; an https:// link's words are gathered until it closes."""
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
                    self.external.append(ExternalLink(href_line[1], " ".join("".join(label).split()), href_line[0]))
                    label = None
                elif child.type in ("text", "code_inline"):
                    label.append(child.content)
            if child.type == "text" and "](" in child.content:
                self.problems.append(Problem(self.path, line,
                                             f"link not recognised (unsafe or malformed): {child.content!r}"))
            if child.type == "link_open" and self.target(child, line):
                label, href_line = [], (line, str(child.attrs.get("href", "")))

    def target(self, child: Token, line: int) -> bool:
        """Note one link's target (rewriting our schemes); True for an https:// link, whose label is wanted."""
        href = str(child.attrs.get("href", ""))
        scheme, _, rest = href.partition(":")
        if scheme in LINK_SCHEMES and rest:
            self.targets.append((href, line))
            if scheme == "law":
                self.laws.append(rest)
            elif scheme == "ref":
                self.refs.append(rest)
            child.attrs["href"] = LINK_SCHEMES[scheme].format(rest)
        elif href.startswith("/") or href.startswith("#"):
            self.targets.append((href, line))
        elif href.startswith("https://"):
            return True
        elif not (href.startswith("mailto:") or href.startswith("tel:")):
            message = f"link '{href}' must be https://, /articles/..., law:, ref: or contact:"
            self.problems.append(Problem(self.path, line, message))
            child.attrs["href"] = "#"
        return False


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


def parse_article(text: str, path: str, headings: Sequence[str], *, source: str) -> Parsed:
    """An Article from a markdown file's text; problems carry path:line. `source` is the id of the document that
    sections with `source="<heading>"` restate."""
    opened = _front_matter(text, path)
    if isinstance(opened, Problem):
        return Parsed(None, (opened,))
    tokens, meta = opened
    problems: list[Problem] = []
    f = Fields(meta, path, problems)
    slug = f.text("slug")
    if slug and not SLUG.match(slug):
        f.problem(f"slug '{slug}' must be lower-case words joined by hyphens", key="slug")
    order_value = meta.get("order", 100)
    if not isinstance(order_value, int) or isinstance(order_value, bool):
        f.problem("'order' must be a whole number", key="order")
        order_value = 100
    reading = _Reading(path, headings, source, problems, f.items("references"), f.items("legislation"))
    lead, sections = _body(tokens[1:], reading)
    article = Article(
        slug=slug,
        title=f.text("title"),
        summary=f.text("summary"),
        order=order_value,
        topics=f.items("topics", TOPICS, required=True),
        nations=f.items("nations", NATIONS, required=True),
        audiences=f.items("audiences", AUDIENCES, required=True),
        keywords=f.items("keywords"),
        references=reading.refs,
        legislation=reading.laws,
        last_reviewed=f.date("last_reviewed", required=True),
        source=f.text("source"),
        question=f.text("question", required=False),
        next=f.items("next"),
        lead_html=_render(lead),
        sections=sections,
        path=path,
        field_lines=tuple(f.lines.items()),
        external_links=tuple(reading.external),
    )
    return Parsed(article, tuple(problems))


def _front_matter(text: str, path: str) -> tuple[list[Token], dict[str, Any]] | Problem:
    """The markdown's tokens and its front matter as a mapping, or the problem that stops the article."""
    try:
        tokens = MD.parse(text)
    except Exception as exc:  # noqa: BLE001 - markdown-it raises plain exceptions on bad input
        return Problem(path, 1, f"cannot parse markdown: {exc}")
    if not tokens or tokens[0].type != "front_matter":
        return Problem(path, 1, "missing front matter (a block between '---' lines at the top)")
    try:
        meta = load_yaml(tokens[0].content, first_line=2)
    except ContentError as exc:
        return Problem(path, exc.line, exc.message)
    if not isinstance(meta, dict):
        return Problem(path, 2, "front matter must be a mapping of fields")
    return tokens, meta


@dataclass
class _Reading:
    """What reading one article's body needs and gathers: its file, the source's headings and document id, the
    problems found, the article's own reference and law ids (a section without its own inherits them) and its
    https:// links."""

    path: str
    headings: Sequence[str]
    source: str
    problems: list[Problem]
    refs: tuple[str, ...]
    laws: tuple[str, ...]
    external: list[ExternalLink] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))


def _body(body: list[Token], reading: _Reading) -> tuple[list[Token], tuple[Section, ...]]:
    """The lead (the tokens before the first H2/H3) and the sections, split at H2/H3."""
    starts = [i for i, t in enumerate(body) if t.type == "heading_open" and t.tag in ("h2", "h3")]
    for t in body:
        if t.type == "heading_open" and t.tag == "h1":
            reading.problem((t.map[0] if t.map else 0) + 1, "use H2/H3 in the body; the title is in front matter")
    lead = body[: starts[0]] if starts else body
    _check_links(lead, reading.path, reading.problems, 1, reading.external)
    ends = [*starts[1:], len(body)]
    sections = tuple(s for s in (_section(body[a:b], reading) for a, b in zip(starts, ends, strict=False)) if s)
    if not sections:
        reading.problem(1, "an article needs at least one H2 section")
    reading.problems += duplicates([(s.anchor, s.line) for s in sections], reading.path, "anchor")
    return list(lead), sections


def _section(chunk: list[Token], reading: _Reading) -> Section | None:
    """One section from its tokens (heading first), or None when it has no attribute line to anchor it."""
    head = chunk[0]
    line = (head.map[0] if head.map else 0) + 1
    heading = inline_text(chunk[1])
    anchor = _attr(head, "id")
    if not anchor:
        reading.problem(line, f"section '{heading}' needs an attribute line {{#anchor source=\"...\"}} above it")
        return None
    if not SLUG.match(anchor):
        reading.problem(line, f"anchor '{anchor}' must be lower-case words joined by hyphens")
    provenance = _provenance(head, heading, line, reading)
    links, link_laws, link_refs = _check_links(chunk, reading.path, reading.problems, 1, reading.external)
    for block in chunk:
        if block.type == "container_correction_open" and "https://" not in _raw(chunk, block):
            reading.problem((block.map[0] if block.map else 0) + 1, "a correction must cite an https:// source")
    sec_refs = _words(_attr(head, "refs")) + tuple(link_refs)
    sec_laws = _words(_attr(head, "laws")) + tuple(link_laws)
    return Section(
        anchor=anchor,
        heading=heading,
        level=int(head.tag[1]),
        provenance=provenance,
        text=plain_text(chunk[3:]),
        html=_render(chunk[3:]),
        keywords=_words(_attr(head, "keywords")),
        refs=tuple(dict.fromkeys(sec_refs or reading.refs)),
        laws=tuple(dict.fromkeys(sec_laws or reading.laws)),
        links=tuple(href for href, _ in links),
        link_lines=tuple(n for _, n in links),
        line=line,
        nations=_section_nations(head, reading.path, line, reading.problems),
        subject=_subject(head, provenance, line, reading),
    )


def _subject(head: Token, provenance: Provenance, line: int, reading: _Reading) -> tuple[str, ...]:
    """The phrases that name a section's subject (comma-separated): only for a section from another source, which
    the ranking, learned from questions labelled with the 2020 page's sections, cannot put first."""
    phrases = tuple(p.strip() for p in _attr(head, "subject").split(",") if p.strip())
    if phrases and provenance.section:
        reading.problem(line, "subject is only for a section from another source: this one restates the 2020 page")
    return phrases


def _provenance(head: Token, heading: str, line: int, reading: _Reading) -> Provenance:
    """Where a section comes from: the source section it restates, or another document and its URL."""
    source, document, url = _attr(head, "source"), _attr(head, "document"), _attr(head, "url")
    if source:
        full = resolve_heading(source, reading.headings)
        if full is None:
            reading.problem(line, f"provenance '{source}' is not a heading of the source (sections.txt)")
            full = source
        return Provenance(document=reading.source, section=full)
    if document:
        if not url.startswith("https://"):
            reading.problem(line, f"section '{heading}' names document '{document}' but no https:// url")
        return Provenance(document=document, url=url)
    reading.problem(line, f"section '{heading}' has no provenance (source=\"...\" or document=... url=...)")
    return Provenance(document="")


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
