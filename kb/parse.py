"""The parser's base: YAML with line numbers and typed field access that collects problems. Pure: text in,
values and problems out, never the disk (kb/parse_data.py and kb/parse_article.py build on it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from kb.model import Problem

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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


# libyaml's parser (bundled with PyYAML's wheels) reads the content several times faster than the pure-Python one;
# the constructor, and so the line numbers, stay the same.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc]  # the C loader's base is typed Any
    """A safe loader that records each mapping's first line (1-based) under LINE_KEY, and each key's under
    LINES_KEY, so a problem points at the field that has it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
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

    fold_space = False  # True: text keeps single spaces between words (line breaks in YAML text fold away)

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
        return " ".join(str(value).split()) if self.fold_space else str(value).strip()

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

    def entries(self, key: str, what: str, required: bool = False, each: str = "a mapping of fields") -> list[Fields]:
        """Each mapping listed under key, read as Fields of its own (problems at the key's line)."""
        value = self.data.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            self.problem(f"'{key}' must be a list of {what}", key=key)
            return []
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append(Fields(item, self.path, self.problems, self.line_of(key)))
            else:
                self.problem(f"each of '{key}' must be {each}", key=key)
        return out

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


def mapping_of(text: str, path: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A YAML file whose top level is a mapping, or a problem saying why not."""
    try:
        data = load_yaml(text)
    except ContentError as exc:
        return None, [Problem(path, exc.line, exc.message)]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return None, [Problem(path, 1, "expected a mapping at the top level")]
    return data, []


def duplicates(values: Sequence[tuple[str, int]], path: str, what: str) -> list[Problem]:
    """A problem for each id seen before in the same file."""
    seen: set[str] = set()
    problems = []
    for value, line in values:
        if value and value in seen:
            problems.append(Problem(path, line, f"duplicate {what} '{value}'"))
        seen.add(value)
    return problems


def resolve_heading(value: str, headings: Sequence[str]) -> str | None:
    """The full source heading that value names exactly or by an unambiguous leading part."""
    if value in headings:
        return value
    matches = [h for h in headings if h.startswith(value + " ")]
    return matches[0] if len(matches) == 1 else None


def parse_headings(text: str) -> tuple[str, ...]:
    """The source's section headings, one a line."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())
