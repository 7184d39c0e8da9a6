"""Snippets: the passage of a text that holds most of the wanted words, those words marked, all else escaped."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from kb.analysis import cached_stems

_TOKEN = re.compile(r"[^\W_]+")


def make_snippet(text: str, wanted: frozenset[str], chars: int, marked: frozenset[str] | None = None) -> str:
    """HTML: the passage of text with the most words whose stems are wanted, the words whose stems are `marked`
    (by default the wanted ones) in bare <mark>, everything else escaped."""
    text = " ".join(text.split())
    marked = wanted if marked is None else marked
    stemmed = _stemmed(text)
    spans = [(s, e, stem in marked) for s, e, stem in stemmed if stem in wanted or stem in marked]
    if not spans:
        return html.escape(lead(text, chars), quote=True)

    def window(i: int) -> tuple[int, int, int]:
        inside = [own for s, _, own in spans[i:] if s < spans[i][0] + chars - 40]
        return sum(inside), len(inside), -i

    # The window that starts a little before a match and holds the most marked words, then the most matches.
    best = max(range(len(spans)), key=window)
    start = max(0, spans[best][0] - 40)
    if start:
        start = text.find(" ", start) + 1 or start
    end = min(len(text), start + chars)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    out, at = [], start
    for s, e, stem in stemmed:
        if s < start or e > end or stem not in marked:
            continue
        out += [html.escape(text[at:s], quote=True), "<mark>", html.escape(text[s:e], quote=True), "</mark>"]
        at = e
    out.append(html.escape(text[at:end], quote=True))
    return ("… " if start else "") + "".join(out) + (" …" if end < len(text) else "")


# Room for every document an index holds (about 220 today: sections, law, references, glossary) several times over.
@lru_cache(maxsize=1024)
def _stemmed(text: str) -> tuple[tuple[int, int, str], ...]:
    """Where each word of a text starts and ends, and its stem, kept: the texts are the content's own (never a
    user's), met again and again (a tenth of a search went on stemming them anew)."""
    return tuple((m.start(), m.end(), found[0]) for m in _TOKEN.finditer(text) if (found := cached_stems(m.group())))


def lead(text: str, chars: int) -> str:
    """The start of a text, cut at a word."""
    text = " ".join(text.split())
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"
