"""The values the knowledge base is made of: whole, frozen, built in one step."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from kb.roles import Roles

if TYPE_CHECKING:  # only for the types of Content's fields: these modules build on this one
    from kb.guide import Conversation
    from kb.tools import Tools
    from kb.urgency import Cues

NATIONS = ("england", "wales", "scotland", "northern-ireland")
# The risks a contact can be kept for: shown in an answer only when the question signals it (kb/urgency.py).
RISKS = ("self-harm", "medical")
NATION_NAMES = {
    "england": "England",
    "wales": "Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}
TOPICS = (
    "overview", "policy", "recognising", "responding", "image-handling", "support", "recording",
    "referral", "removal", "awareness", "training", "education", "parents", "law", "guidance",
    "schools", "police", "prosecution", "young-people", "resources",
)
AUDIENCES = (
    "all", "school-staff", "dsl", "youth-and-sport", "police", "health-and-social-care",
    "prosecutors", "parents",
)
LAW_GROUPS = {
    "images-of-children": "Indecent images of children",
    "intimate-images": "Sharing intimate images to cause distress, and threats",
    "sexual-communication": "Sexual communication with a child",
    "investigation": "Investigation",
    "criminal-responsibility": "Age of criminal responsibility",
}
STATUSES = ("in force", "amended", "repealed", "not yet in force")
CURRENT_STATUSES = ("in force", "amended")
REFERENCE_KINDS = ("reference", "cited", "resource", "current-guidance", "training")
# kb reads the source document's id from content (Content.roles.source); this copy is for the web layer until it
# does too, and a test keeps the two equal.
SOURCE_DOCUMENT = "nspcc-sexting-2020"


@dataclass(frozen=True)
class Provenance:
    """Where a piece of content comes from: a source section, or another document and its URL."""

    document: str
    section: str = ""
    url: str = ""

    def as_dict(self) -> dict[str, str]:
        """The contract's JSON form."""
        if self.section:
            return {"document": self.document, "section": self.section}
        return {"document": self.document, "url": self.url}


@dataclass(frozen=True)
class Section:
    """One H2/H3 section of an article: the unit of search and of answers."""

    anchor: str
    heading: str
    level: int
    provenance: Provenance
    text: str
    html: str
    keywords: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    link_lines: tuple[int, ...] = ()
    line: int = 0
    nations: tuple[str, ...] = ()  # only for a section about particular nations; empty: it applies everywhere
    subject: tuple[str, ...] = ()  # phrases naming a section from another source (kb.choosing.named_subject)

    def link_line(self, target: str) -> int:
        """The line of the first link to target, else the heading's (ids named in the attribute line)."""
        lines = zip(self.links, self.link_lines, strict=False)
        return next((n for link, n in lines if link == target), self.line)


@dataclass(frozen=True)
class ExternalLink:
    """An https:// link in an article, with the words it is labelled with and its line."""

    href: str
    label: str
    line: int


@dataclass(frozen=True)
class Article:
    """A task-based article restating part of the source guidance."""

    slug: str
    title: str
    summary: str
    order: int
    topics: tuple[str, ...]
    nations: tuple[str, ...]
    audiences: tuple[str, ...]
    keywords: tuple[str, ...]
    references: tuple[str, ...]
    legislation: tuple[str, ...]
    last_reviewed: str
    source: str
    lead_html: str
    sections: tuple[Section, ...]
    path: str = ""
    question: str = ""
    next: tuple[str, ...] = ()
    field_lines: tuple[tuple[str, int], ...] = ()
    external_links: tuple[ExternalLink, ...] = ()

    def line_of(self, key: str) -> int:
        """The line of a front matter field (1 when unknown)."""
        return dict(self.field_lines).get(key, 1)

    @property
    def url(self) -> str:
        """Where the site serves this article."""
        return f"/articles/{self.slug}"


@dataclass(frozen=True)
class LawItem:
    """One provision of the law, with its extent and its status today."""

    id: str
    title: str
    provision: str
    group: str
    nations: tuple[str, ...]
    summary: str
    status: str
    url: str
    provenance: Provenance
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    in_force_from: str = ""
    in_force_note: str = ""
    amended_by: tuple[str, ...] = ()
    replaced_by: tuple[str, ...] = ()
    note: str = ""
    note_url: str = ""
    correction: str = ""
    correction_url: str = ""
    url_label: str = ""  # what `url` opens, when it is not the provision itself on legislation.gov.uk
    ages: tuple[int, ...] = ()  # (youngest, oldest): a child's age it turns on; a law question naming one shows it
    line: int = 0
    field_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str) -> int:
        """The line of one of its fields in the YAML file (the item's line when unknown)."""
        return dict(self.field_lines).get(key, self.line)

    @property
    def current(self) -> bool:
        """True when this is the law to apply today: in force (as amended), and not superseded by another item."""
        return self.status in CURRENT_STATUSES and not self.replaced_by


@dataclass(frozen=True)
class Reference:
    """A work the guidance cites, a resource it names, or the document that replaced one."""

    id: str
    author: str
    year: str
    title: str
    kind: str
    url: str = ""
    publisher: str = ""
    format: str = ""
    accessed: str = ""
    nations: tuple[str, ...] = ()
    # What replaced it, one document per nation where each nation has its own (England's, then Wales's...).
    replacements: tuple[str, ...] = ()
    note: str = ""
    note_url: str = ""
    section: str = ""
    line: int = 0
    field_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str) -> int:
        """The line of one of its fields in the YAML file (the item's line when unknown)."""
        return dict(self.field_lines).get(key, self.line)

    @property
    def replaced_by(self) -> str:
        """The first document that replaced it (the JSON API's `replaced_by`), or ''."""
        return self.replacements[0] if self.replacements else ""


@dataclass(frozen=True)
class Contact:
    """Someone to call or tell."""

    id: str
    name: str
    phone: str
    when: str
    url: str = ""
    email: str = ""
    audience: str = "everyone"
    source: str = ""
    line: int = 0
    # What the link opens, in words ("Find the child's local council on GOV.UK"); "<name> website" when empty.
    url_label: str = ""
    # The nations the contact serves (every nation unless content says otherwise).
    nations: tuple[str, ...] = NATIONS
    # The page its details were checked against (listed as verified in sources.yaml).
    source_url: str = ""
    # A line an answer lists only when the question signals one of these risks now (of RISKS); none: every answer.
    risks: tuple[str, ...] = ()

    @property
    def link_text(self) -> str:
        """The words of the contact's link, saying what it opens."""
        return self.url_label or f"{self.name} website"

    def serves(self, nation: str) -> bool:
        """Whether the contact is one for this nation (any contact serves when no nation is chosen)."""
        return not nation or nation in self.nations


@dataclass(frozen=True)
class GlossaryEntry:
    """An everyday word mapped to the guidance's terms."""

    term: str
    also: tuple[str, ...]
    means: tuple[str, ...]
    definition: str
    source: str = ""
    url: str = ""
    core: bool = False
    line: int = 0
    # Its one-word `also` words are read as the term itself before anything else reads the question: a regional
    # or slang word ("polis", "weans") that the bank's questions and the guidance never use.
    respell: bool = False


@dataclass(frozen=True)
class VerifiedUrl:
    """An address someone opened and checked, and where that check is recorded."""

    url: str
    where: str
    line: int = 0


@dataclass(frozen=True)
class SourceDocument:
    """A document content is drawn from, with the addresses on its site that have been verified."""

    id: str
    title: str
    publisher: str = ""
    updated: str = ""
    url: str = ""
    sections: tuple[str, ...] = ()
    verified: tuple[VerifiedUrl, ...] = ()


@dataclass(frozen=True)
class NationRoute:
    """A nation's own arrangements for referring a concern, where an official source describes them."""

    nation: str
    title: str
    text: str
    document: str
    url: str
    line: int = 0


@dataclass(frozen=True)
class Change:
    """One entry of the content change log."""

    date: str
    summary: str


def any_of(patterns: Sequence[re.Pattern[str]]) -> re.Pattern[str]:
    """One alternation of lower-case patterns, to search in lower-cased text: every question is read by every cue
    family and intent (thousands at build), and one search without re.I costs a fraction of one a pattern with it
    (kb check keeps the patterns in lower case)."""
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns) or r"(?!)")


@dataclass(frozen=True)
class Intent:
    """Something users want to do (find the law, get an image removed...), how they say it, and the source
    sections that serve it (intents.yaml)."""

    name: str
    about: str
    patterns: tuple[re.Pattern[str], ...]
    sections: tuple[str, ...]
    line: int = 0

    @cached_property
    def _any(self) -> re.Pattern[str]:
        return any_of(self.patterns)

    def matches(self, text: str) -> bool:
        """True when the text says this (in any case)."""
        return self._any.search(text.lower()) is not None

    def without(self, text: str) -> str:
        """The text without the words that say this: what else it asks."""
        for p in self.patterns:
            text = p.sub(" ", text)
        return text


@dataclass(frozen=True)
class Problem:
    """Something wrong (or worth a warning) in a content file, at a line."""

    path: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        suffix = " (warning)" if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {self.message}{suffix}"


@dataclass(frozen=True)
class Content:
    """Everything under content/, parsed, plus the problems found on the way."""

    articles: tuple[Article, ...]
    legislation: tuple[LawItem, ...]
    references: tuple[Reference, ...]
    contacts: tuple[Contact, ...]
    glossary: tuple[GlossaryEntry, ...]
    sources: tuple[SourceDocument, ...]
    changes: tuple[Change, ...]
    digest: str
    routes: tuple[NationRoute, ...] = ()
    tools: Tools | None = None  # the decision aid, record sheet and policy checklist (tools.yaml)
    cues: Cues | None = None  # the urgency cue families (urgency.yaml)
    places: tuple[tuple[str, str], ...] = ()  # (place name, nation) pairs (places.yaml)
    elsewhere: tuple[str, ...] = ()  # words of concerns and places the guidance does not cover (scope.yaml)
    asks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # section id -> questions it answers (asks.yaml)
    intents: tuple[Intent, ...] = ()  # what users want to do, and the source sections that serve it (intents.yaml)
    roles: Roles = Roles()  # the parts of the content the code relies on (roles.yaml)
    conversation: Conversation | None = None  # starters, first steps and follow-ups of /ask (conversation.yaml)
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that make the content unusable."""
        return tuple(p for p in self.problems if p.severity == "error")

    def article(self, slug: str) -> Article | None:
        """The article with this slug, if any."""
        return next((a for a in self.articles if a.slug == slug), None)

    def law(self, law_id: str) -> LawItem | None:
        """The legislation item with this id, if any."""
        return next((item for item in self.legislation if item.id == law_id), None)

    def reference(self, ref_id: str) -> Reference | None:
        """The reference with this id, if any."""
        return next((r for r in self.references if r.id == ref_id), None)

    def section(self, section_id: str) -> tuple[Article, Section] | None:
        """The article section with this id (slug#anchor), if any."""
        slug, _, anchor = section_id.partition("#")
        article = self.article(slug)
        section = next((s for s in article.sections if s.anchor == anchor), None) if article else None
        return (article, section) if article and section else None

    def emergency_section(self) -> tuple[Article, Section] | None:
        """Where the guidance says to call 999 when a child is in immediate danger (roles.yaml)."""
        return self.section(self.roles.emergency.section)

    def image_handling_section(self) -> tuple[Article, Section] | None:
        """Where the guidance says never to look at, copy or share an image (roles.yaml)."""
        return self.section(self.roles.image_handling.section)

    def source(self, doc_id: str) -> SourceDocument | None:
        """The source document with this id, if any."""
        return next((s for s in self.sources if s.id == doc_id), None)
