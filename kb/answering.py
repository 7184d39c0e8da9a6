"""Guided Q&A: pick the section that answers a question, with the law for the user's nation, what to read,
where to go next and whom to call. Every answer is extracted from content and cited; nothing is generated."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kb.analysis import stems
from kb.choosing import STRATEGIES, Asked, continues, image_guidance, meaningful, named_subject, wants
from kb.conversation import CONDITION, FOLLOW_UP, REFERS_BACK, Context, decode_context, encode_context
from kb.guide import FIRST_STEPS, Step
from kb.index import OpenIndex
from kb.learn import engine, rank
from kb.model import Article, Contact, Content, LawItem, Reference, Section
from kb.ranked import Ranking
from kb.related import (
    LAW_INTENT,
    aged_laws,
    choose_laws,
    followups_for,
    laws_of_groups,
    replacement_notes,
    resources_for,
)
from kb.retrieve import Hit, run
from kb.signals import COMPARING, COMPARING_ONE, NATION_WORDS
from kb.understand import Query, understand


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
    compared: tuple[str, ...] = ()  # other nations whose law is shown too, for a question comparing places
    young_person: str = ""  # what a young person writing about themselves is told first (their contacts lead)
    adult: bool = False  # declined because the question says the one at risk is an adult

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
            "compared_nations": list(self.compared),
            "corrected": self.corrected,
            "answer": answer,
            "legislation": [law_dict(item) for item in self.legislation],
            "resources": [reference_dict(r) for r in self.resources],
            "followups": [{"question": q, "url": u} for q, u in self.followups],
            "contacts": [contact_dict(c) for c in self.contacts],
            "notes": list(self.notes),
            "tools": [{"title": t, "url": u} for t, u in self.tools],
            "maybe_urgent": self.maybe_urgent,
            "adult": self.adult,
            "young_person": self.young_person or None,
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


def _asked(ix: OpenIndex, query: Query, ranking: Ranking, before: Context, nation: str | None) -> Asked:
    """The question as the strategies see it. "What do I do?" is answered with the guidance's first steps, unless
    a child is sure to be in danger now."""
    content = ix.content
    intents = _intents(content, query)
    # A bare "what now?" scores high beside the bank's short emergencies; it still asks for the first steps (which
    # begin with immediate danger), unless it names a danger.
    guided = content.conversation is not None and FIRST_STEPS in intents and not (
        ranking.urgency.sure and ranking.urgency.named)
    wanted = wants(content, query)
    # "thanks, bye" after an answer asks nothing more of its topic.
    polite = content.cues is not None and content.cues.pleasantry(query.typed)
    follows = continues(before, query, ranking, wanted, ix.tuning.leaning_scope) and not polite
    return Asked(content, query.text, ranking, before, follows, guided,
                 len(meaningful(query)) <= 1, wanted, nation, ix.tuning.image_among,
                 ix.tuning.image_floor, typed=query.typed, named=named_subject(content, query, nation))


def _intents(content: Content, query: Query) -> tuple[str, ...]:
    """What the question asks to do (intents.yaml), as typed or as corrected."""
    return tuple(i.name for i in content.intents if i.matches(query.typed) or i.matches(query.text))


def contacts_for(content: Content, nation: str | None, risks: frozenset[str] = frozenset(), young: bool = False
                 ) -> tuple[Contact, ...]:
    """A nation's own contacts only (the council's services, or Northern Ireland's Trust Gateway teams); crisis
    lines only for a question that signals their risk, then straight after 999; a young person's own lines next
    when one writes about themselves."""
    shown = [c for c in content.contacts if c.serves(nation or "") and (not c.risks or risks.intersection(c.risks))]
    return tuple(sorted(shown, key=lambda c: 0 if c.phone == "999" else 1 if c.risks else
                        2 if young and c.audience == "young-people" else 3))


def young_note(content: Content, query: Query) -> str:
    """What a young person writing about themselves is told first ("" for anyone else)."""
    young = content.conversation.young if content.conversation else None
    return young.note if young and young.writes(query.typed) else ""


def _others(ranking: Ranking, chosen: Section | None, least: float, first: tuple[Article, Section] | None = None
            ) -> tuple[tuple[str, str, str], ...]:
    """Two or three other sections that may answer (the model gives each a fair chance), after `first` if given."""
    found = [_link(r.facts.article, r.facts.section) for r in ranking.sections[:4]
             if r.facts.section is not chosen and r.probability >= least]
    return tuple(dict.fromkeys([_link(*first), *found] if first else found))[:3]


def _link(article: Article, section: Section) -> tuple[str, str, str]:
    """A section as a link: its heading, its article's title and its address."""
    return section.heading, article.title, f"{article.url}#{section.anchor}"


def answer(ix: OpenIndex, question: str, nation: str | None = None, context: str | None = None) -> Answer:
    """Answer a question from the guidance, or say plainly that it does not cover it."""
    query = understand(ix, question)
    before = decode_context(context)
    given = nation or before.nation
    # A nation the question names ("and in Scotland?", "a school in Cardiff") wins over the one chosen before;
    # a question comparing places keeps the user's own first and shows the others' law too.
    compared = comparing(query, given)
    nation = compared[0] if compared else query.nation or given
    compared = compared[1:]
    ranking = rank(ix, query, nation)
    asked = _asked(ix, query, ranking, before, nation)
    if asked.continues:
        found = moved(ix, query, before, nation)
        asked = replace(asked, moved=found, refined=None if found else refined(ix, query, before, nation, ranking))
    elif ranking.sections and not query.nations and not names_only_there(ix, query, ranking, nation):
        # The user's nation, not one the question names: England and Wales's outcome 21 is no answer in Scotland.
        asked = replace(asked, here=there(ix, query, ranking.sections[0].facts.section, nation))
    if not (asked.continues or ranking.answerable):
        asked = replace(asked, leaning=leaning(ix, query, ranking, before, nation))
    chosen = next((found for pick in STRATEGIES if (found := pick(asked)) is not None), None)
    if chosen is None:
        return _declined(ix, question, query, ranking, nation, image_guidance(asked), before)
    return _answered(ix, question, asked, query, (nation, compared), chosen)


def moved(ix: OpenIndex, query: Query, before: Context, nation: str | None) -> tuple[Article, Section] | None:
    """The conversation's topic answered where the user now asks about, when its section is about other nations only
    (a Scottish answer, then "and in Northern Ireland?"): the best version of its source section there, else the
    best section there for its heading and the follow-up asked together."""
    found = ix.content.section(before.section) if before.section else None
    return there(ix, query, found[1], nation) if found else None


def leaning(ix: OpenIndex, query: Query, ranking: Ranking, before: Context, nation: str | None
            ) -> tuple[Article, Section] | None:
    """A question in a conversation, declined on its own words, that points back at what was said ("can I keep it
    secret?") and names no concern the guidance does not cover: the conversation vouches for its subject, so the
    model's best section answers it from a lower bar of scope (Tuning.leaning_scope), read alone or asked together
    with the topic's heading (the subject it points back at), where the user is."""
    found = ix.content.section(before.section) if before.section else None
    if found is None or ranking.elsewhere or not ranking.sections or not REFERS_BACK.search(query.text) or (
            ranking.in_scope < ix.tuning.leaning_scope
            and _with_topic(ix, found[1], query, nation).in_scope < ix.tuning.leaning_scope):
        return None
    top = ranking.sections[0].facts
    return there(ix, query, top.section, nation) or (top.article, top.section)


def names_only_there(ix: OpenIndex, query: Query, ranking: Ranking, nation: str | None) -> bool:
    """The question names what only the best section's nations have: a word of its heading that no heading of a
    section applying in the user's nation has ("what does outcome 21 mean?" from Scotland asks of England's)."""
    top = ranking.sections[0].facts.section if ranking.sections else None
    if not nation or top is None or not top.nations or nation in top.nations:
        return False  # only a section about other nations only can name what only they have
    here = {s for f in engine(ix).sections if not f.section.nations or nation in f.section.nations
            for s in f.heading_stems}
    return bool(set(meaningful(query)) & (ranking.sections[0].facts.heading_stems - here))


def there(ix: OpenIndex, query: Query, section: Section, nation: str | None) -> tuple[Article, Section] | None:
    """A section about other nations only, answered for the user's nation instead: the best version of its source
    section there, else the best section there for its heading and the question asked together (none when the
    section applies there, or no nation is known)."""
    if not nation or not section.nations or nation in section.nations:
        return None
    again = _with_topic(ix, section, query, nation).sections
    here = [r.facts for r in again if not r.facts.section.nations or nation in r.facts.section.nations]
    same = [f for f in here if section.provenance.section and f.source == section.provenance.section]
    best = (same or here)[:1]
    return (best[0].article, best[0].section) if best else None


def refined(ix: OpenIndex, query: Query, before: Context, nation: str | None, alone: Ranking | None = None
            ) -> tuple[Article, Section] | None:
    """Where a follow-up with words of its own turns the topic ("and the law here?", "how do I get it deleted?"
    after what to ask the child; "and what do I say to her mum and dad?" after what happened): the section the
    guidance answers it with on its own, when that is another section; else the best section for the topic's
    heading and the follow-up asked together, when it is in another article than the topic's and applies where the
    user is; else none (the topic stays)."""
    found = ix.content.section(before.section) if before.section else None
    if found is None or not meaningful(query):
        return None
    # Asked alone, within the bar a conversation vouches for (Tuning.leaning_scope), when it has words of its own
    # beyond how it leans on the last ("wat abt Scotland?"), unless it only changes a condition of the case.
    lead = FOLLOW_UP.match(query.text)
    words = set(meaningful(query)) - set(stems(lead.group(0) if lead else ""))
    sure = bool(words) and alone is not None and alone.in_scope >= ix.tuning.leaning_scope
    own = alone.sections[0].facts if sure and alone and alone.sections and not CONDITION.match(query.text) else None
    elsewhere = bool(own and nation and own.section.nations and nation not in own.section.nations)
    if own and own.section is not found[1] and not elsewhere:
        return own.article, own.section
    again = _with_topic(ix, found[1], query, nation)
    top = again.sections[0].facts if again.sections and again.answerable else None
    if top is None or top.article.slug == found[0].slug or (nation and top.section.nations
                                                              and nation not in top.section.nations):
        return None
    return top.article, top.section


def _with_topic(ix: OpenIndex, topic: Section, query: Query, nation: str | None) -> Ranking:
    """The ranking of a follow-up asked together with the topic's heading (without the nations it names)."""
    heading = topic.heading
    for words in NATION_WORDS.values():
        heading = words.sub(" ", heading)
    return rank(ix, understand(ix, f"{heading} {query.text}"), nation)


def comparing(query: Query, given: str | None) -> tuple[str, ...]:
    """The nations a question compares ("the same law as in England?" from Glasgow; "is it different in
    Scotland?" from England), or none."""
    if len(query.nations) > 1 and COMPARING.search(query.text):
        return query.nations if given not in query.nations else (given, *(n for n in query.nations if n != given))
    if len(query.nations) == 1 and given and given != query.nations[0] and COMPARING_ONE.search(query.text):
        return (given, query.nations[0])
    return ()


def _declined(ix: OpenIndex, question: str, query: Query, ranking: Ranking, nation: str | None,
              image: tuple[Article, Section] | None = None, before: Context | None = None) -> Answer:
    """The reply when the guidance does not cover the question: the contacts, and the nearest sections. The
    conversation keeps its topic (before): a question aside does not make the next follow-up lose it."""
    content = ix.content
    kept = before if before and before.section and content.section(before.section) else None  # a real topic only
    risks = ranking.urgency.risks | (before.risks if before else frozenset())
    token = encode_context(kept.section if kept else None, nation, kept.law_groups if kept else (), risks)
    return Answer(
        question=question, answered=False, urgent=False, context=token, nation=nation,
        contacts=contacts_for(content, nation, risks, young=bool(note := young_note(content, query))),
        young_person=note,
        followups=followups_for(content, None, nation, token, danger=bool(ranking.urgency.risks)),
        corrected=query.corrected,
        confidence=ranking.in_scope, message=query.message, maybe_urgent=ranking.urgency.maybe,
        alternatives=_others(ranking, None, ix.tuning.alternative, image), intents=_intents(content, query),
        adult=ranking.urgency.adult,
    )


def _laws(ix: OpenIndex, asked: Asked, query: Query, section: Section, law_hits: tuple[Hit, ...],
          places: tuple[str | None, ...]) -> tuple[LawItem, ...]:
    """The law of each place the question is about: the user's nation, then those a comparing question names."""
    content, tuning = ix.content, ix.tuning
    if asked.continues and asked.before.law_groups and not asked.ranking.urgency.urgent:
        # The same subjects of law as the last answer, as they stand where the user now asks about; first any law
        # that turns on an age the follow-up gives ("what if she's 11?").
        found = [(*aged_laws(content, query.text, n), *laws_of_groups(content, asked.before.law_groups, n,
                                                                      tuning.max_laws)) for n in places]
    else:
        found = [choose_laws(content, section, query.text, n, law_hits, tuning) for n in places]
    return tuple(dict.fromkeys(item for items in found for item in items))


def _answered(ix: OpenIndex, question: str, asked: Asked, query: Query,
              where: tuple[str | None, tuple[str, ...]], chosen: tuple[Article, Section]) -> Answer:
    """The reply from the chosen section: with the law where the user works (where: that nation, and the others a
    comparing question names), what to read, what to ask next."""
    content, ranking = ix.content, asked.ranking
    nation, compared = where
    urgent = ranking.urgency.urgent
    law_hits: tuple[Hit, ...] = ()
    if LAW_INTENT.search(query.text):
        _, law_hits, _ = run(ix, query.analysed, nation, None, "legislation", 5, snippets=False)
    tuning = ix.tuning
    article, section = chosen
    laws = _laws(ix, asked, query, section, law_hits, (nation, *compared))
    # A conversation about a child at risk of suicide keeps the crisis lines on every turn after ("what now?").
    risks = ranking.urgency.risks | asked.before.risks
    token = encode_context(f"{article.slug}#{section.anchor}", nation, tuple(dict.fromkeys(i.group for i in laws)),
                           risks)
    unsure = ranking.in_scope < tuning.unsure and not urgent
    return Answer(
        question=question,
        answered=True,
        urgent=urgent,
        context=token,
        nation=nation,
        compared=compared if nation and laws else (),
        article=article,
        section=section,
        legislation=laws,
        notes=replacement_notes(content, law_hits),
        tools=tuple(content.tools.for_section(section.provenance.section)) if content.tools else (),
        resources=resources_for(content, section, (nation, *compared) if nation else ()),
        followups=followups_for(content, article, nation, token, section, _intents(content, query),
                                danger=urgent or bool(ranking.urgency.risks)),
        contacts=contacts_for(content, nation, risks, young=bool(note := young_note(content, query))),
        young_person=note,
        corrected=query.corrected,
        confidence=ranking.in_scope,
        alternatives=_others(ranking, section, tuning.alternative) if unsure else (),
        message=query.message,
        maybe_urgent=ranking.urgency.maybe and not urgent,
        intents=_intents(content, query),
        steps=content.conversation.first_steps.steps if content.conversation and asked.guided else (),
    )
