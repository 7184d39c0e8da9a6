"""What goes into the search index: the analysis of words (stems, stop words, our few fixes), the schema, and one
index document per article section, law item, reference or glossary entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from whoosh import fields
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

from kb.model import Content

KINDS = ("section", "legislation", "reference", "glossary")
LIST_MARK = re.compile(r"^- ", re.M)  # list bullets in plain text: not for snippets
# The fields a Document gives the index as they are.
TEXTS = ("id", "type", "title", "heading", "body", "keywords", "url", "source_document", "source_section",
         "source_url", "slug", "anchor")
# Words are letters and digits; an apostrophe splits them ("she's" -> "she", "s"), and single letters drop out.
TOKEN = r"[^\W_]+"
# Common words that say nothing about the topic. Kept on purpose: "not", "no", "under", "over", "before",
# "after", "need", "must": they change what a question means in this domain.
STOP_WORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or so that the this to was were will with"
    " i me my we our us you your he she they them their his her him there here do does did doing done been being"
    " which who whom what whats when where how why would should could shall may might am if then than into about"
    " also just can cant don doesn didn isn aren wasn won wouldn shouldn couldn ll ve re im ive id"
    " any some all more most very really please thanks thank hi hello okay ok"
    " want wants wanted say says said saying tell told know get gets got getting go goes going went".split()
)
# Corrections to the Porter stemmer where it joins words of different meaning or splits words of one meaning.
STEM_FIXES = {"referr": "refer", "referenc": "reference", "prosecutor": "prosecut"}
# Words Porter joins although they mean different things here: "response" (what to do) and "responsible" (criminal
# responsibility) both stem to "respons". These keep a stem of their own, which the stemmer leaves alone.
WORD_FIXES = {"responsible": "responsib", "responsibility": "responsib", "responsibilities": "responsib",
              "irresponsible": "irresponsib"}
UNSTEMMED = frozenset({"reference", "references", *WORD_FIXES.values()})


class WordFixFilter(Filter):  # type: ignore[misc]  # whoosh ships no types
    """Give a few whole words a stem of their own before stemming (see WORD_FIXES)."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = WORD_FIXES.get(token.text, token.text)
            yield token


class StemFixFilter(Filter):  # type: ignore[misc]  # whoosh ships no types
    """Map a few stems to what they should be ("referral" and "refer" are one idea; "references" another)."""

    def __call__(self, tokens: Any) -> Any:
        for token in tokens:
            token.text = STEM_FIXES.get(token.text, token.text)
            yield token


def analyzer() -> Any:
    """Words, lower-cased, common words dropped, English stems (with our few fixes)."""
    return (RegexTokenizer(TOKEN) | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=2)
            | WordFixFilter() | StemFilter(ignore=UNSTEMMED) | StemFixFilter())


def plain_analyzer() -> Any:
    """Words, lower-cased, kept whole: the vocabulary for spelling suggestions."""
    return RegexTokenizer(TOKEN) | LowercaseFilter()


def schema() -> fields.Schema:
    """One document per article section, law item, reference or glossary entry."""
    stem = analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        type=fields.ID(stored=True),
        title=fields.TEXT(analyzer=stem, stored=True, field_boost=1.0),
        heading=fields.TEXT(analyzer=stem, stored=True, field_boost=1.0),
        body=fields.TEXT(analyzer=stem, stored=True, phrase=True),
        keywords=fields.TEXT(analyzer=stem, stored=False),
        spell=fields.TEXT(analyzer=plain_analyzer(), stored=False, phrase=False),
        topics=fields.KEYWORD(stored=True, commas=True, scorable=False),
        nations=fields.KEYWORD(stored=True, commas=True, scorable=False),
        # The nations a section is specifically about (empty when it applies everywhere): a query naming a
        # nation lifts these, since few documents have them.
        place=fields.KEYWORD(stored=False, commas=True, scorable=True),
        url=fields.STORED(),
        source_document=fields.STORED(),
        source_section=fields.STORED(),
        source_url=fields.STORED(),
        slug=fields.STORED(),
        anchor=fields.STORED(),
    )


@dataclass(frozen=True)
class Document:
    """The fields of one index document."""

    id: str
    type: str
    title: str
    heading: str
    body: str
    keywords: str
    topics: tuple[str, ...]
    nations: tuple[str, ...]
    url: str
    source_document: str
    source_section: str = ""
    source_url: str = ""
    slug: str = ""
    anchor: str = ""
    place: tuple[str, ...] = ()

    def fields(self) -> dict[str, str]:
        """The document as the schema takes it: lists joined by commas, and all its words again for spelling."""
        joined = {name: ",".join(getattr(self, name)) for name in ("topics", "nations", "place")}
        spell = " ".join([self.title, self.heading, self.body, self.keywords])
        return {**{name: getattr(self, name) for name in TEXTS}, **joined, "spell": spell}


def documents(content: Content) -> Iterator[Document]:
    """Every searchable thing in the content, as index documents."""
    yield from _sections(content)
    yield from _laws(content)
    yield from _references(content)
    yield from _glossary(content)


def _sections(content: Content) -> Iterator[Document]:
    """One document per article section."""
    for article in content.articles:
        for section in article.sections:
            yield Document(
                id=f"section:{article.slug}#{section.anchor}",
                type="section",
                title=article.title,
                heading=section.heading,
                body=LIST_MARK.sub("", section.text),
                keywords=" ".join(section.keywords + article.keywords),
                topics=article.topics,
                nations=section.nations or article.nations,
                place=section.nations,
                url=f"{article.url}#{section.anchor}",
                source_document=section.provenance.document,
                source_section=section.provenance.section,
                source_url=section.provenance.url,
                slug=article.slug,
                anchor=section.anchor,
            )


def _laws(content: Content) -> Iterator[Document]:
    """One document per law item; one that is not law today says so in its heading."""
    for item in content.legislation:
        yield Document(
            id=f"legislation:{item.id}",
            type="legislation",
            title=f"{item.title}, {item.provision}",
            heading=item.provision if item.current else f"{item.provision} ({item.status}: history, not current law)",
            body=" ".join(filter(None, [item.summary, item.note, item.correction])),
            keywords=" ".join(item.keywords),
            topics=item.topics,
            nations=item.nations,
            place=item.nations if len(item.nations) < 4 else (),
            url=f"/legislation#{item.id}",
            source_document=item.provenance.document,
            source_section=item.provenance.section,
            source_url=item.url,
            anchor=item.id,
        )


def _references(content: Content) -> Iterator[Document]:
    """One document per reference or resource."""
    for ref in content.references:
        yield Document(
            id=f"reference:{ref.id}",
            type="reference",
            title=ref.title,
            heading=f"{ref.author} ({ref.year})" if ref.year else ref.author,
            body=" ".join(filter(None, [ref.publisher, ref.note])),
            keywords="",
            topics=("resources",),
            nations=ref.nations,
            url=f"/references#{ref.id}",
            source_document=content.roles.source if ref.kind in ("reference", "cited", "resource") else "references",
            source_section=content.roles.references if ref.kind in ("reference", "cited") else "",
            source_url=ref.url,
            anchor=ref.id,
        )


def _glossary(content: Content) -> Iterator[Document]:
    """One document per glossary entry."""
    for entry in content.glossary:
        yield Document(
            id=f"glossary:{entry.term}",
            type="glossary",
            title=entry.term,
            heading=", ".join(entry.also),
            body=entry.definition,
            keywords=" ".join(entry.means),
            topics=(),
            nations=(),
            url=f"/glossary#{entry.term.lower().replace(' ', '-')}",
            source_document=entry.source,
            source_url=entry.url,
        )
