"""Read content/ from disk, parse each file and check the whole (kb/checks.py): the only module that reads
content files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from kb import parse, parse_article, parse_data, parse_signals
from kb.checks import Whole, check_whole
from kb.guide import CONVERSATION_FILE, parse_conversation
from kb.model import Article, Content, Intent, Problem
from kb.roles import Roles
from kb.tools import TOOLS_FILE, parse_tools

HEADINGS_FILE = Path(__file__).with_name("source_sections.txt")
ROLES_FILE = "roles.yaml"


def data_parsers(source: str) -> dict[str, Callable[[str, str], parse.Parsed]]:
    """The parser of each data file, in reading order (law items drawn from the source document carry its id)."""
    return {
        "legislation.yaml": partial(parse_data.parse_legislation, source=source),
        "references.yaml": parse_data.parse_references,
        "contacts.yaml": parse_data.parse_contacts,
        "glossary.yaml": parse_data.parse_glossary,
        "sources.yaml": parse_data.parse_sources,
        "changes.yaml": parse_data.parse_changes,
        "routes.yaml": parse_data.parse_routes,
    }


DATA_FILES = tuple(data_parsers(""))
OPTIONAL_FILES = ("changes.yaml", "routes.yaml")
# What reading a question relies on (optional: without them the site falls back to plain rules).
SIGNAL_FILES: dict[str, Callable[[str, str], parse.Parsed]] = {
    "urgency.yaml": parse_signals.parse_urgency,
    "places.yaml": parse_signals.parse_places,
    "scope.yaml": parse_signals.parse_scope,
    "asks.yaml": parse_signals.parse_asks,
    "intents.yaml": parse_signals.parse_intents,
}


def source_headings() -> tuple[str, ...]:
    """The 31 source section headings (the contract's sections.txt)."""
    return parse.parse_headings(HEADINGS_FILE.read_text(encoding="utf-8"))


def content_files(root: Path) -> list[Path]:
    """Every file the site is built from, in a stable order (the tools' data too)."""
    # A folder named like an article is not one (reading it would raise).
    folder = root / "articles"
    articles = sorted(p for p in folder.glob("*.md") if p.is_file()) if folder.is_dir() else []
    names = [ROLES_FILE, *DATA_FILES, TOOLS_FILE, *SIGNAL_FILES, CONVERSATION_FILE]
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


class _Reader:
    """Reads the files of one content folder: each file's text (kept for the address check) and its problems."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.texts: dict[str, str] = {}

    def shown(self, path: Path) -> str:
        """The path as printed in problems: relative to the working directory when possible."""
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def read(self, path: Path) -> str | None:
        """A file's text, or None with a problem when it cannot be read as UTF-8."""
        shown = self.shown(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            self.problems.append(Problem(shown, line, "not valid UTF-8 text"))
            text = None
        except OSError as exc:
            self.problems.append(Problem(shown, 1, f"cannot read: {exc.strerror}"))
            text = None
        self.texts[shown] = text or ""
        return text

    def parse(self, name: str, parser: Callable[[str, str], parse.Parsed], optional: bool = False,
              default: Any = ()) -> Any:
        """The value a file holds; `default` when it is absent (a problem unless the file is optional)."""
        path = self.root / name
        if not path.is_file():
            if not optional:
                self.problems.append(Problem(self.shown(path), 1, "missing data file"))
            return default
        parsed = parser(self.read(path) or "", self.shown(path))
        self.problems += parsed.problems
        return parsed.value

    def articles(self, headings: tuple[str, ...], source: str) -> tuple[Article, ...]:
        """Every article, in display order; a slug must match its file name."""
        articles: list[Article] = []
        for path in [p for p in content_files(self.root) if p.suffix == ".md"]:
            text = self.read(path)
            if text is None:
                continue
            parsed = parse_article.parse_article(text, self.shown(path), headings, source=source)
            self.problems += parsed.problems
            article = parsed.value
            if article is not None:
                articles.append(article)
                if article.slug and article.slug != path.stem:
                    self.problems.append(Problem(self.shown(path), article.line_of("slug"),
                                                 f"slug '{article.slug}' must match the file name '{path.stem}'"))
        return tuple(sorted(articles, key=lambda a: (a.order, a.slug)))


def load_content(root: Path | str) -> Content:
    """Parse every content file under root and check the whole; problems say path:line."""
    reader = _Reader(Path(root))
    if not reader.root.is_dir():
        reader.problems.append(Problem(str(reader.root), 1, "content folder not found"))
    headings = source_headings()
    roles = reader.parse(ROLES_FILE, lambda text, path: parse_data.parse_roles(text, path, headings), default=Roles())
    articles = reader.articles(headings, roles.source)
    data = {name: reader.parse(name, parser, optional=name in OPTIONAL_FILES)
            for name, parser in data_parsers(roles.source).items()}
    content = Content(
        articles=articles,
        legislation=data["legislation.yaml"],
        references=data["references.yaml"],
        contacts=data["contacts.yaml"],
        glossary=data["glossary.yaml"],
        sources=data["sources.yaml"],
        changes=data["changes.yaml"],
        routes=data["routes.yaml"],
        digest=digest(reader.root) if reader.root.is_dir() else "",
        cues=reader.parse("urgency.yaml", SIGNAL_FILES["urgency.yaml"], optional=True, default=None),
        places=reader.parse("places.yaml", SIGNAL_FILES["places.yaml"], optional=True),
        elsewhere=reader.parse("scope.yaml", SIGNAL_FILES["scope.yaml"], optional=True),
        asks=reader.parse("asks.yaml", SIGNAL_FILES["asks.yaml"], optional=True, default={}),
        intents=reader.parse("intents.yaml", SIGNAL_FILES["intents.yaml"], optional=True),
        roles=roles,
    )
    intents, found = resolve_intents(content.intents, headings, reader.shown(reader.root / "intents.yaml"))
    tools = reader.parse(TOOLS_FILE, lambda text, path: parse_tools(text, path, headings, source=roles.source),
                         optional=True, default=None)
    # The conversation of /ask (optional: without it /ask has no starters, first steps or guided questions).
    conversation = reader.parse(
        CONVERSATION_FILE, lambda text, path: parse_conversation(text, path, headings, source=roles.source),
        optional=True, default=None)
    content = replace(content, intents=intents, tools=tools, conversation=conversation)
    names = (ROLES_FILE, *DATA_FILES, *SIGNAL_FILES, TOOLS_FILE, CONVERSATION_FILE)
    files = {name: reader.shown(reader.root / name) for name in names}
    problems = reader.problems + found + check_whole(Whole.of(content, headings, files, reader.texts))
    return replace(content, problems=tuple(problems))


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
