"""Parse the data that reading a question relies on: urgency cue families, place names, words of subjects the
guidance does not cover, and the questions each section answers (`asks`). Pure: text in, values and problems out."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from kb.adults import AdultsAtRisk
from kb.model import NATIONS, Intent, Problem
from kb.parse import LINE_KEY, LINES_KEY, Fields, Parsed, mapping_of, records_of
from kb.rank import ADULTS
from kb.urgency import FAREWELL, INTENT, NOW, THREATS, CueFamily, Cues

MIN_ASKS, MAX_ASKS = 5, 15
# Cue and intent patterns are searched in lower-cased text without re.I (a third of the cost): a capital letter
# outside an escape (\S, \W and \B mean other things) could never match.
_ESCAPE = re.compile(r"\\.")


def pattern_of(pattern: str, f: Fields, what: str = "", key: str = "patterns") -> re.Pattern[str] | None:
    """A cue or intent pattern compiled (None when it does not compile); a problem for one that does not, or that
    has a capital letter outside an escape."""
    if any(c.isupper() for c in _ESCAPE.sub("", pattern)):
        f.problem(f"{what}pattern {pattern[:40]!r} has a capital letter: patterns are matched in lower-cased text, "
                  "so write them in lower case", key=key)
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        f.problem(f"{what}bad pattern {pattern[:40]!r}: {exc}", key=key)
        return None


def parse_urgency(text: str, path: str = "urgency.yaml") -> Parsed:
    """Cue families: `families` raise urgency, `calm` lower it; every pattern must compile."""
    data, problems = mapping_of(text, path)
    if data is None:
        return Parsed(Cues(), tuple(problems))
    families: list[CueFamily] = []
    for part, raises in (("families", True), ("calm", False)):
        block = data.get(part) or {}
        if not isinstance(block, dict):
            problems.append(Problem(path, int(data.get(LINES_KEY, {}).get(part, 1)), f"'{part}' must be a mapping"))
            continue
        for name, value in block.items():
            if name in (LINE_KEY, LINES_KEY):
                continue
            line = int(block.get(LINES_KEY, {}).get(name, 1))
            if not isinstance(value, dict):
                problems.append(Problem(path, line, f"cue family '{name}' must be a mapping"))
                continue
            f = Fields(value, path, problems, line)
            patterns = value.get("patterns")
            if not isinstance(patterns, list) or not patterns:
                f.problem(f"cue family '{name}' needs a list of patterns", key="patterns")
                patterns = []
            compiled = [p for p in (pattern_of(str(pattern), f, f"cue family '{name}': ") for pattern in patterns) if p]
            vetoes = value.get("unless") or []
            if not isinstance(vetoes, list):
                f.problem(f"cue family '{name}': 'unless' must be a list of patterns", key="unless")
                vetoes = []
            unless = [p for p in (pattern_of(str(v), f, f"cue family '{name}' unless: ") for v in vetoes) if p]
            families.append(CueFamily(str(name), raises, f.text("about"), tuple(compiled), tuple(unless)))
    names = {f.name for f in families}
    for needed in (*THREATS, *NOW, INTENT, FAREWELL):
        if families and needed not in names:
            problems.append(Problem(path, 1, f"missing cue family '{needed}' (the detector combines it)"))
    if families and ADULTS not in names:
        problems.append(Problem(path, 1, f"missing cue family '{ADULTS}' (scope reads it: only adults involved)"))
    listed = data.get("pleasantries") or []
    if not isinstance(listed, list) or not all(isinstance(p, str) and p.strip() for p in listed):
        problems.append(Problem(path, int(data.get(LINES_KEY, {}).get("pleasantries", 1)),
                                "'pleasantries' must be a list of words or phrases"))
        listed = []
    return Parsed(Cues(tuple(families), frozenset(" ".join(p.lower().split()) for p in listed),
                       adults_at_risk(data, path, problems)), tuple(problems))


def adults_at_risk(data: dict[str, Any], path: str, problems: list[Problem]) -> AdultsAtRisk:
    """The patterns that say the one at risk is an adult (`adults_at_risk`: adult, aged, young); none: no such
    question is told apart."""
    block = data.get("adults_at_risk")
    if block is None:
        return AdultsAtRisk()
    line = int(data.get(LINES_KEY, {}).get("adults_at_risk", 1))
    if not isinstance(block, dict):
        problems.append(Problem(path, line, "'adults_at_risk' must be a mapping"))
        return AdultsAtRisk()
    f = Fields(block, path, problems, line)
    lists: dict[str, tuple[re.Pattern[str], ...]] = {}
    for key in ("adult", "aged", "young"):
        listed = block.get(key) or []
        if not isinstance(listed, list) or (key != "aged" and not listed):
            f.problem(f"adults_at_risk: '{key}' must be a list of patterns", key=key)
            listed = []
        lists[key] = tuple(p for p in (pattern_of(str(v), f, f"adults_at_risk {key}: ", key) for v in listed) if p)
    return AdultsAtRisk(lists["adult"], lists["aged"], lists["young"])


def parse_places(text: str, path: str = "places.yaml") -> Parsed:
    """Place names that pin a nation: (name, nation) pairs; a name may belong to one nation only. A name is kept
    with its capitals when it counts only as written (an acronym, or one of `capital_only`: "Bath", "Hull", words
    in everyday use), else in lower case (it counts however it is typed: "belfast")."""
    data, problems = mapping_of(text, path)
    listed = (data or {}).get("capital_only") or []
    listed_at = int((data or {}).get(LINES_KEY, {}).get("capital_only", 1))
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        problems.append(Problem(path, listed_at, "'capital_only' must be a list of names"))
        listed = []
    capital = {" ".join(n.lower().split()) for n in listed}
    pairs: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    unknown: set[str] = set()
    for nation, name, at in grouped_names(data, "places", path, problems):
        key = " ".join(name.lower().split())
        if nation not in NATIONS:
            if nation not in unknown:  # once for the nation, not for each of its names
                problems.append(Problem(path, at, f"unknown nation '{nation}'"))
                unknown.add(nation)
        elif key in seen and seen[key] != nation:
            problems.append(Problem(path, at, f"place '{name}' is listed for {seen[key]} and {nation}"))
        else:
            seen[key] = nation
            clean = " ".join(name.split())
            pairs.append((clean if key in capital or clean.isupper() else key, nation))
    problems += [Problem(path, listed_at, f"'{name}' in capital_only is not a place listed")
                 for name in sorted(capital - set(seen))]
    return Parsed(tuple(pairs), tuple(problems))


def parse_scope(text: str, path: str = "scope.yaml") -> Parsed:
    """Words naming concerns and places the guidance does not cover (`elsewhere`, by group), lower case, each
    once."""
    data, problems = mapping_of(text, path)
    phrases: list[str] = []
    for _, name, at in grouped_names(data, "elsewhere", path, problems):
        phrase = " ".join(name.lower().split())
        if phrase in phrases:
            problems.append(Problem(path, at, f"'{name}' is listed twice"))
        else:
            phrases.append(phrase)
    return Parsed(tuple(phrases), tuple(problems))


def grouped_names(data: Mapping[str, Any] | None, key: str, path: str, problems: list[Problem]
                  ) -> Iterator[tuple[str, str, int]]:
    """(group, name, the group's line) for a top-level `key` mapping groups to lists of names."""
    block = (data or {}).get(key) or {}
    line = int((data or {}).get(LINES_KEY, {}).get(key, 1))
    if not isinstance(block, dict):
        problems.append(Problem(path, line, f"'{key}' must map groups to lists of names"))
        return
    for group, names in block.items():
        if group in (LINE_KEY, LINES_KEY):
            continue
        at = int(block.get(LINES_KEY, {}).get(group, line))
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            problems.append(Problem(path, at, f"'{group}' must be a list of names"))
            continue
        for name in names:
            yield str(group), name, at


def parse_asks(text: str, path: str = "asks.yaml") -> Parsed:
    """Questions each section answers, in users' words: section id -> questions (5 to 15 each)."""
    data, problems = mapping_of(text, path)
    if data is None:
        return Parsed({}, tuple(problems))
    asks: dict[str, tuple[str, ...]] = {}
    lines: Mapping[str, int] = data.get(LINES_KEY, {})
    for key, value in data.items():
        if key in (LINE_KEY, LINES_KEY):
            continue
        line = int(lines.get(key, 1))
        items = tuple(" ".join(str(v).split()) for v in value) if isinstance(value, list) else ()
        if not MIN_ASKS <= len(items) <= MAX_ASKS:
            problems.append(Problem(path, line, f"'{key}' needs {MIN_ASKS} to {MAX_ASKS} questions, has {len(items)}"))
        if len(set(items)) != len(items):
            problems.append(Problem(path, line, f"'{key}' repeats a question"))
        asks[str(key)] = items
    return Parsed(asks, tuple(problems))


def parse_intents(text: str, path: str = "intents.yaml") -> Parsed:
    """What users want to do: each intent's patterns (which must compile) and the source sections serving it."""
    records, problems = records_of(text, path, "intents")
    intents = []
    for data in records:
        f = Fields(data, path, problems)
        compiled = [p for p in (pattern_of(str(pattern), f) for pattern in data.get("patterns") or []) if p]
        if not compiled:
            f.problem("an intent needs at least one pattern", key="patterns")
        sections = f.items("sections", required=True)
        intents.append(Intent(f.text("intent"), f.text("about"), tuple(compiled), sections, f.line))
    return Parsed(tuple(intents), tuple(problems))
