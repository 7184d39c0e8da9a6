"""Guided Q&A: pick the section that answers a question, with the law for the user's nation, what to read,
where to go next and whom to call. Every answer is extracted from content and cited; nothing is generated."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from kb.conversation import FIRST_STEPS, Step, next_questions
from kb.index import OpenIndex
from kb.learn import GENERIC, Ranking, rank
from kb.model import LAW_GROUPS, NATIONS, Article, Contact, Content, LawItem, Reference, Section
from kb.retrieve import Analysed, Hit, run
from kb.signals import NATION_WORDS
from kb.understand import understand

MAX_LAWS = 3
LAW_SCORE_RATIO = 0.6
# Below this probability that the guidance answers, the answer page also offers other sections.
UNSURE = 0.8
ALTERNATIVE = 0.3  # the least probability of answering for another section to be offered

# Questions about viewing, keeping or passing on an image always get the guidance on never doing so.
IMAGE_HANDLING = re.compile(
    # someone in charge (or a question asking permission) ...
    r"(?:\b(?:i|we|staff|you|teachers?|dsl|the school)\b"
    r"|\bis it (?:ok|okay|alright|all right|allowed|legal|fine|acceptable)"
    r"|\b(?:am i|are we|are staff) allowed)(?:\W+\w+){0,3}?\W+"
    # ... doing something with the image ...
    r"(?:view|look(?:ing)? at|see|watch|open|save|saving|screenshot|screen ?shot|copy|copying|forward|print"
    r"|download|keep|store|send|show|take a (?:photo|picture|copy|screenshot|screen ?shot)|check|inspect|go through)"
    r"\w*\b(?:\W+\w+){0,5}?\W+"
    r"(?:image|images|photo|photos|picture|pictures|pic|pics|nude|nudes|video|videos|clip|clips|film|snap|snaps|selfie"
    r"|selfies|it|them"
    r"|evidence|phone|phones)\b",
    re.I,
)
LAW_INTENT = re.compile(
    r"\b(?:law|laws|legal|illegal|legislation|offen[cs]e|crime|criminal|act|section|prosecut\w*|arrest\w*|"
    r"police record|charged|convict\w*|court|statute|against the law|breaking the law|allowed)\b",
    re.I,
)
FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|same|is it the same|and what about)\b", re.I)


@dataclass(frozen=True)
class Answer:
    """The whole reply to one question."""

    question: str
    answered: bool
    urgent: bool
    context: str
    nation: str | None
    article: Article | None = None
    section: Section | None = None
    legislation: tuple[LawItem, ...] = ()
    resources: tuple[Reference, ...] = ()
    followups: tuple[tuple[str, str], ...] = ()
    contacts: tuple[Contact, ...] = ()
    corrected: str | None = None
    tools: tuple[tuple[str, str], ...] = ()
    confidence: float = 0.0
    alternatives: tuple[tuple[str, str, str], ...] = ()  # other sections that may answer: (heading, title, url)
    message: str = ""
    notes: tuple[str, ...] = field(default=())
    maybe_urgent: bool = False
    intents: tuple[str, ...] = ()  # what the question asks to do (intents.yaml), as the question reads
    steps: tuple[Step, ...] = ()  # the guidance's first steps, for a "what do I do?" question

    @property
    def guided(self) -> bool:
        """True when the answer leads with the first steps (and the facts that change the route)."""
        return bool(self.steps)

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON form."""
        answer = None
        if self.answered and self.article and self.section:
            answer = {
                "title": self.article.title,
                "heading": self.section.heading,
                "text": self.section.text,
                "url": f"{self.article.url}#{self.section.anchor}",
                "source": self.section.provenance.as_dict(),
            }
        return {
            "question": self.question,
            "answered": self.answered,
            "urgent": self.urgent,
            "context": self.context,
            "nation": self.nation,
            "corrected": self.corrected,
            "answer": answer,
            "legislation": [law_dict(item) for item in self.legislation],
            "resources": [reference_dict(r) for r in self.resources],
            "followups": [{"question": q, "url": u} for q, u in self.followups],
            "contacts": [contact_dict(c) for c in self.contacts],
            "notes": list(self.notes),
            "tools": [{"title": t, "url": u} for t, u in self.tools],
            "maybe_urgent": self.maybe_urgent,
            "alternatives": [{"heading": h, "title": t, "url": u} for h, t, u in self.alternatives],
            "steps": [{"text": s.text, "url": s.link, "source": s.provenance.as_dict()} for s in self.steps],
        }


def law_dict(item: LawItem) -> dict[str, Any]:
    """The contract's JSON form of a legislation item."""
    out: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "provision": item.provision,
        "nations": list(item.nations),
        "summary": item.summary,
        "url": item.url,
        "status": item.status,
        "current": item.current,
        "group": item.group,
    }
    if item.in_force_from:
        out["in_force_from"] = item.in_force_from
    if item.in_force_note:
        out["in_force_note"] = item.in_force_note
    if item.amended_by:
        out["amended_by"] = list(item.amended_by)
    if item.replaced_by:
        out["replaced_by"] = list(item.replaced_by)
    if item.note:
        out["note"] = item.note
        out["note_url"] = item.note_url
    if item.correction:
        out["correction"] = item.correction
        out["correction_url"] = item.correction_url
    out["source"] = item.provenance.as_dict()
    return out


def reference_dict(ref: Reference) -> dict[str, Any]:
    """The contract's JSON form of a reference."""
    out: dict[str, Any] = {
        "id": ref.id, "author": ref.author, "year": ref.year, "title": ref.title, "url": ref.url, "kind": ref.kind,
    }
    if ref.replaced_by:
        out["replaced_by"] = ref.replaced_by
    if ref.note:
        out["note"] = ref.note
    return out


def contact_dict(contact: Contact) -> dict[str, Any]:
    """The contract's JSON form of a contact."""
    out = {"id": contact.id, "name": contact.name, "phone": contact.phone, "url": contact.url, "when": contact.when}
    if contact.email:
        out["email"] = contact.email
    return out


# ---------------------------------------------------------------- context token


@dataclass(frozen=True)
class Context:
    """What a conversation carries to its next question: the topic (section), the nation, and the law's subjects."""

    section: str | None = None
    nation: str | None = None
    law_groups: tuple[str, ...] = ()


def encode_context(section_id: str | None, nation: str | None, law_groups: tuple[str, ...] = ()) -> str:
    """An opaque token carrying the topic, nation and law subjects to the next question."""
    data = {"s": section_id or "", "n": nation or "", "l": list(law_groups)}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_context(token: str | None) -> Context:
    """The context in a token; an empty Context for anything malformed."""
    if not token or len(token) > 400:
        return Context()
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Context()
    if not isinstance(data, dict):
        return Context()
    section, nation, groups = data.get("s"), data.get("n"), data.get("l")
    groups = groups if isinstance(groups, list) else []
    return Context(
        section=section if isinstance(section, str) and section else None,
        nation=nation if isinstance(nation, str) and nation in NATIONS else None,
        law_groups=tuple(g for g in groups if isinstance(g, str) and g in LAW_GROUPS),
    )


# ---------------------------------------------------------------- the law, resources, follow-ups


def laws_for(content: Content, ids: tuple[str, ...], nation: str | None) -> tuple[LawItem, ...]:
    """Current law for these ids in a nation; for another nation's item, that nation's law on the same matter."""
    chosen: list[LawItem] = []
    for law_id in ids:
        item = content.law(law_id)
        if item is None:
            continue
        item = _current_version(content, item)
        if item is None:
            continue
        if nation is None or nation in item.nations:
            chosen.append(item)
        else:
            chosen.extend(
                other for other in content.legislation
                if other.group == item.group and other.current and nation in other.nations
            )
    return tuple(dict.fromkeys(chosen))


def _current_version(content: Content, item: LawItem) -> LawItem | None:
    """The item itself when it is law today, else what replaced it (following the chain)."""
    seen = set()
    while not item.current:
        if item.id in seen or not item.replaced_by:
            return None
        seen.add(item.id)
        nxt = content.law(item.replaced_by[0])
        if nxt is None:
            return None
        item = nxt
    return item


def choose_laws(
    content: Content, section: Section, analysed: Analysed, question: str, nation: str | None, law_hits: tuple[Hit, ...]
) -> tuple[LawItem, ...]:
    """The few current items that apply to the question's topic where the user works."""
    wants_law = bool(LAW_INTENT.search(question)) or bool(section.laws and section.provenance.section in LAW_SECTIONS)
    if not wants_law:
        return ()
    # Only law the question points to clearly: near the best match's score, not the tail of weak matches.
    best = law_hits[0].score if law_hits else 0.0
    ranked = [h.anchor for h in law_hits if h.score >= LAW_SCORE_RATIO * best]
    ids = tuple(dict.fromkeys(list(section.laws) + ranked)) if section.laws else tuple(ranked)
    items = laws_for(content, ids, nation)
    if ranked:
        # Put the items the question itself points to first, then the section's own.
        order = {law_id: i for i, law_id in enumerate(ranked)}
        items = tuple(sorted(items, key=lambda it: order.get(it.id, len(order))))
    limit = MAX_LAWS if nation else MAX_LAWS * 2
    return items[:limit]


def replacement_notes(content: Content, law_hits: tuple[Hit, ...]) -> tuple[str, ...]:
    """When a question points at law that is no longer current, say so and name what replaced it."""
    notes = []
    for hit in law_hits[:2]:
        item = content.law(hit.anchor)
        if item is None or item.current:
            continue
        current = _current_version(content, item)
        replaced = f"; it was replaced by {current.title}, {current.provision}" if current else ""
        status = item.status if item.status not in ("in force", "amended") else "no longer the law to apply"
        notes.append(f"{item.title}, {item.provision} is {status}{replaced}. The law shown is the law today.")
    return tuple(notes)


LAW_SECTIONS = frozenset({
    "Key legislation", "Sharing indecent images of children", "Causing distress", "Sexual communication",
    "Investigating indecent images",
})


def resources_for(content: Content, section: Section) -> tuple[Reference, ...]:
    """The references tied to a section, each current replacement first."""
    out: list[Reference] = []
    for ref_id in section.refs:
        ref = content.reference(ref_id)
        if ref is None:
            continue
        replacement = content.reference(ref.replaced_by) if ref.replaced_by else None
        if replacement:
            out.append(replacement)
        out.append(ref)
    return tuple(dict.fromkeys(out))[:5]


def followups_for(
    content: Content, article: Article | None, nation: str | None, context: str, section: Section | None = None,
    intents: tuple[str, ...] = (),
) -> tuple[tuple[str, str], ...]:
    """Up to four next questions: what people ask after what this question asked and what its section serves
    (conversation.yaml), else the questions of the articles that lead on from this one."""
    chosen: tuple[str, ...] = ()
    if content.conversation and section is not None:
        chosen = next_questions(content.conversation, content.intents, intents, section.provenance.section)
    if len(chosen) < 2:
        slugs = list(article.next) if article and article.next else [a.slug for a in content.articles[:4]]
        targets = [t for slug in slugs if (t := content.article(slug)) and t is not article and t.question]
        chosen = tuple(dict.fromkeys([*chosen, *(t.question for t in targets)]))
    out = []
    for question in chosen[:4]:
        params = {"q": question, "context": context}
        if nation:
            params["nation"] = nation
        out.append((question, "/ask?" + urlencode(params)))
    return tuple(out)


# ---------------------------------------------------------------- answer


def _find(content: Content, section_id: str) -> tuple[Article, Section] | None:
    slug, _, anchor = section_id.partition("#")
    article = content.article(slug)
    section = next((s for s in article.sections if s.anchor == anchor), None) if article else None
    return (article, section) if article and section else None


def _image_handling_section(content: Content) -> tuple[Article, Section] | None:
    """The first section restating the guidance on never viewing an image."""
    for article in content.articles:
        for section in article.sections:
            if section.provenance.section == "What to do with a sexting image":
                return article, section
    return None


def _others(ranking: Ranking, chosen: Section | None) -> tuple[tuple[str, str, str], ...]:
    """Two or three other sections that may answer (the model gives each a fair chance)."""
    return tuple((r.facts.section.heading, r.facts.article.title, f"{r.facts.article.url}#{r.facts.section.anchor}")
                 for r in ranking.sections[:4]
                 if r.facts.section is not chosen and r.probability >= ALTERNATIVE)[:3]


def answer(ix: OpenIndex, question: str, nation: str | None = None, context: str | None = None) -> Answer:
    """Answer a question from the guidance, or say plainly that it does not cover it."""
    content: Content = ix.content
    query = understand(ix, question)
    text = query.text
    before = decode_context(context)
    # A nation the question names ("and in Scotland?", "a school in Cardiff") wins over the one chosen before.
    nation = query.nation or nation or before.nation
    ranking = rank(ix, query, nation)
    urgent = ranking.urgency.urgent
    law_hits: tuple[Hit, ...] = ()
    if LAW_INTENT.search(text):
        _, law_hits, _ = run(ix, query.analysed, nation, None, "legislation", 5, snippets=False)
    top = ranking.sections[0].facts if ranking.sections else None
    meaningful = [s for s in query.analysed.stems
                  if s not in GENERIC and not any(rx.search(s) for rx in NATION_WORDS.values())]
    # The context fills in only what a follow-up leaves out: "and in Scotland?" keeps the topic, but a question
    # that stands on its own is answered on its own.
    explicit = bool(before.section and FOLLOW_UP.match(text))
    bare = bool(before.section and len(meaningful) <= 1 and not ranking.answerable)
    intents = tuple(i.name for i in content.intents if i.matches(query.typed) or i.matches(text))
    first = content.conversation.first_steps if content.conversation else None
    # "What do I do?" is answered with the guidance's first steps, unless a child is sure to be in danger now.
    guided = first is not None and FIRST_STEPS in intents and not ranking.urgency.sure
    strategies: tuple[Callable[[], tuple[Article, Section] | None], ...] = (
        # A risk of immediate harm is answered with the guidance's 999 step, whatever else was asked.
        lambda: content.emergency_section() if ranking.urgency.sure else None,
        lambda: _image_handling_section(content) if IMAGE_HANDLING.search(text) else None,
        lambda: _find(content, before.section) if (explicit or bare) and before.section else None,
        lambda: (top.article, top.section) if top and ranking.answerable else None,
        # Never "not covered" when a child may be in danger now.
        lambda: content.emergency_section() if urgent else None,
        # A bare "what do I do?" has no topic to rank: the first steps are its answer.
        lambda: _find(content, first.section) if first and guided and len(meaningful) <= 1 else None,
    )
    chosen = next((found for pick in strategies if (found := pick()) is not None), None)
    follow_up = chosen is not None and before.section is not None and (explicit or bare) and not urgent
    # A nation's own contacts only (the council's services, or Northern Ireland's Trust Gateway teams).
    contacts = tuple(c for c in content.contacts if c.serves(nation or ""))
    if chosen is None:
        token = encode_context(None, nation)
        return Answer(
            question=question, answered=False, urgent=False, context=token, nation=nation, contacts=contacts,
            followups=followups_for(content, None, nation, token), corrected=query.corrected,
            confidence=ranking.in_scope, message=query.message, maybe_urgent=ranking.urgency.maybe,
            alternatives=_others(ranking, None), intents=intents,
        )
    article, section = chosen
    laws = choose_laws(content, section, query.analysed, text, nation, law_hits)
    if follow_up and before.law_groups:
        # The same subjects of law as the last answer, as they stand where the user now asks about.
        laws = tuple(i for i in content.legislation
                     if i.group in before.law_groups and i.current and (nation is None or nation in i.nations))
        laws = laws[:MAX_LAWS] if nation else laws
    token = encode_context(f"{article.slug}#{section.anchor}", nation, tuple(dict.fromkeys(i.group for i in laws)))
    unsure = ranking.in_scope < UNSURE and not urgent
    return Answer(
        question=question,
        answered=True,
        urgent=urgent,
        context=token,
        nation=nation,
        article=article,
        section=section,
        legislation=laws,
        notes=replacement_notes(content, law_hits),
        tools=tuple(content.tools.for_section(section.provenance.section)) if content.tools else (),
        resources=resources_for(content, section),
        followups=followups_for(content, article, nation, token, section, intents),
        contacts=contacts,
        corrected=query.corrected,
        confidence=ranking.in_scope,
        alternatives=_others(ranking, section) if unsure else (),
        message=query.message,
        maybe_urgent=ranking.urgency.maybe and not urgent,
        intents=intents,
        steps=first.steps if first and guided else (),
    )
