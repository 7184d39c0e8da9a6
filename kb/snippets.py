"""Snippets: the passage of a text that holds most of the wanted words, those words marked, all else escaped."""

from __future__ import annotations

import html
import re

from kb.analysis import cached_stems

_TOKEN = re.compile(r"[^\W_]+")


def make_snippet(text: str, wanted: frozenset[str], chars: int) -> str:
    """HTML: the passage of text with the most words whose stems are wanted, those words in bare <mark>,
    everything else escaped."""
    text = " ".join(text.split())
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)
             if (found := cached_stems(m.group())) and found[0] in wanted]
    if not spans:
        return html.escape(lead(text, chars), quote=True)
    # The window that starts a little before a match and holds the most matches.
    best = max(range(len(spans)), key=lambda i: (sum(1 for s, _ in spans[i:] if s < spans[i][0] + chars - 40), -i))
    start = max(0, spans[best][0] - 40)
    if start:
        start = text.find(" ", start) + 1 or start
    end = min(len(text), start + chars)
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    out, at = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        out += [html.escape(text[at:s], quote=True), "<mark>", html.escape(text[s:e], quote=True), "</mark>"]
        at = e
    out.append(html.escape(text[at:end], quote=True))
    return ("… " if start else "") + "".join(out) + (" …" if end < len(text) else "")


def lead(text: str, chars: int) -> str:
    """The start of a text, cut at a word."""
    text = " ".join(text.split())
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"
