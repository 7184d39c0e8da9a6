"""What goes with an answer: the law that applies where the user works (today's law, never history), the
resources tied to the section, and the questions that lead on from it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from kb.choosing import ages_named
from kb.guide import next_questions
from kb.model import Article, Content, LawItem, Reference, Section
from kb.retrieve import Hit
from kb.tuning import Tuning

# A question about the law itself: the answer then carries the law that applies.
LAW_INTENT = re.compile(
    r"\b(?:law|laws|legal|illegal|legislation|offen[cs]e|crime|criminal|act|section|prosecut\w*|arrest\w*|"
    r"police record|charged|convict\w*|court|statute|against the law|breaking the law|allowed)\b"
    r"|\bcharge (?:a|an|him|her|them|me|my|the|children|kids)\b",
    re.I,
)


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


def choose_laws(content: Content, section: Section, question: str, nation: str | None, law_hits: tuple[Hit, ...],
                tuning: Tuning) -> tuple[LawItem, ...]:
    """The few current items that apply to the question's topic where the user works."""
    # A section about the law itself: one restating the 2020 page's law, or one from another document that names law.
    law_section = (section.provenance.section in content.roles.law
                   or bool(section.laws and not section.provenance.section))
    wants_law = bool(LAW_INTENT.search(question)) or bool(section.laws and law_section)
    if not wants_law:
        return ()
    # Only law the question points to clearly: near the best match's score, not the tail of weak matches.
    best = law_hits[0].score if law_hits else 0.0
    ranked = laws_for(content, tuple(h.anchor for h in law_hits if h.score >= tuning.law_score_ratio * best), nation)
    own = laws_for(content, section.laws, nation)
    # First the law that both the section names and the question's words point to (its best match first), then the
    # rest of what the question points to clearly, then the section's own. On the bank's train fold (its 1,030
    # expected Acts, each question answered by the served model) the expected Act is among those shown 0.967 -> 0.984
    # of the time, with as many items shown: the clearest match alone often names a neighbouring offence.
    pointed = laws_for(content, tuple(h.anchor for h in law_hits), nation)
    items = tuple(dict.fromkeys([*aged_laws(content, question, nation), *(it for it in pointed if it in own), *ranked,
                                 *own]))
    limit = tuning.max_laws if nation else tuning.max_laws * 2
    return items[:limit]


def aged_laws(content: Content, question: str, nation: str | None) -> tuple[LawItem, ...]:
    """Law that turns on a child's age the question gives, where the user works ("what if she's 11?" in Scotland:
    the age of criminal responsibility)."""
    ages = ages_named(question)
    return laws_for(content, tuple(it.id for it in content.legislation
                                   if it.ages and any(it.ages[0] <= age <= it.ages[1] for age in ages)), nation)


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




def resources_for(content: Content, section: Section, nations: tuple[str, ...] = ()) -> tuple[Reference, ...]:
    """The references tied to a section, each current replacement first; where the user is known (nations: theirs
    and those a question compares it with), not those written for other nations only (England's police guidance is
    no answer's reading in Scotland)."""
    out: list[Reference] = []
    for ref_id in section.refs:
        ref = content.reference(ref_id)
        if ref is None or (nations and ref.nations and not set(nations) & set(ref.nations)):
            continue
        replacement = content.reference(ref.replaced_by) if ref.replaced_by else None
        if replacement:
            out.append(replacement)
        out.append(ref)
    return tuple(dict.fromkeys(out))[:5]


def followups_for(
    content: Content, article: Article | None, nation: str | None, context: str, section: Section | None = None,
    intents: tuple[str, ...] = (), danger: bool = False,
) -> tuple[tuple[str, str], ...]:
    """Up to four next questions: what people ask after what this question asked and what its section serves
    (conversation.yaml; its own list when a child is in danger), else the questions of the articles that lead on
    from this one."""
    chosen: tuple[str, ...] = ()
    if content.conversation and (section is not None or danger):
        heading = section.provenance.section if section is not None else ""
        chosen = next_questions(content.conversation, content.intents, intents, heading, danger=danger)
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


def laws_of_groups(content: Content, groups: tuple[str, ...], nation: str | None, limit: int) -> tuple[LawItem, ...]:
    """Today's law on the same subjects as an earlier answer, as it stands in the nation now asked about."""
    laws = tuple(i for i in content.legislation
                 if i.group in groups and i.current and (nation is None or nation in i.nations))
    return laws[:limit] if nation else laws
