"""Choosing the section that answers: a question as the strategies see it, and the strategies in the order they
are tried (the first that finds a section wins). Pure functions over the ranking and the content."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kb.analysis import names_any, stems
from kb.conversation import FOLLOW_UP, Context
from kb.coverage import GENERIC
from kb.model import Article, Content, Section
from kb.ranked import Ranking
from kb.signals import NATION_WORDS
from kb.understand import Query

# A question that asks about danger or 999 itself, which the 999 step answers however calm it reads.
DANGER_ASKED = re.compile(r"\b(?:999|emergenc\w*|immediate\w*|danger\w*|right now|at risk|unsafe)\b", re.I)
# An age a follow-up gives ("what if she's 12?", "one of them is 19", "he's 20yo") or an adult it names: two of the
# guidance's referral criteria turn on them (an adult involved; sexual acts with a child under 13).
AGE_GIVEN = re.compile(
    r"\b(?:he|she|they|him|her|one of them|the other(?: one)?|(?:the|her|his) (?:boy|girl|lad|man|guy|classmate|"
    r"boyfriend|girlfriend|friend|person))(?:.s| is| are| was| were| turned| turns)?\s+(?:only |just |actually |now "
    r"|really |nearly |over )?(\d{1,2})\b|\b(\d{1,2}) ?(?:yo|y/o|yrs? old|years? old)\b", re.I)
ADULT_NAMED = re.compile(r"\b(?:an adult|a grown (?:man|woman)|grown-?up|over 18|an? (?:man|woman) in (?:his|her) "
                         r"(?:20s|30s|40s|twenties|thirties|forties))\b", re.I)
CRITERIA_BY_AGE: tuple[tuple[str, Callable[[int], bool]], ...] = (("adult", lambda age: age >= 18),
                                                                  ("under-13", lambda age: age < 13))
LAW = "the-law"  # the intent of asking whether something is a crime (intents.yaml)


def ages_named(text: str) -> tuple[int, ...]:
    """The ages a question gives ("what if she's 11?", "a 14 year old"), in order."""
    return tuple(int(a or b) for a, b in AGE_GIVEN.findall(text))


# Questions about viewing, keeping or passing on an image get the guidance on never doing so (image_handling).
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
    r"|selfies|it|them|evidence|phone|phones)\b"
    # ... or someone asking the user to look at, copy or pass one on ("the head wants me to screenshot it").
    r"|\b(?:wants?|wanted|asks?|asked|asking|tells?|told|telling|expects?|expected) (?:me|us|staff|the dsl) to"
    r"(?: \w+){0,2}? (?:view|look at|have a look|see|watch|open|save|screenshot|screen ?shot|copy|forward|print"
    r"|download|store|check|inspect|go through)\b", re.I)



@dataclass(frozen=True)
class Asked:
    """A question as the strategies see it: what it says, how the model ranks the sections for it, and whether it
    continues the conversation's topic (an explicit follow-up, or too bare to stand on its own)."""

    content: Content
    text: str
    ranking: Ranking
    before: Context
    continues: bool
    guided: bool = False  # it asks what to do first, and names no danger a child is sure to be in now
    bare: bool = False  # it says little beyond that (at most one word of its own)
    wants: frozenset[str] = frozenset()  # the sections its intents name, when it says nothing else
    nation: str | None = None  # where the user is, when known
    image_among: int = 3  # how near the top the model must rank the image guidance for image_handling (Tuning)
    image_floor: float = 0.0  # the least probability that the guidance answers, for image_handling (Tuning)
    moved: tuple[Article, Section] | None = None  # the topic's answer where the user now is (kb.answering.moved)
    refined: tuple[Article, Section] | None = None  # where a follow-up turns the topic (kb.answering.refined)
    named: tuple[Article, Section] | None = None  # the section whose subject it names and nothing else (named_subject)
    here: tuple[Article, Section] | None = None  # the best section's answer where the user is (kb.answering.there)
    leaning: tuple[Article, Section] | None = None  # asked with the topic, when alone it is declined (kb.answering)
    typed: str = ""  # the question as typed (`text` is as corrected)


Strategy = Callable[[Asked], tuple[Article, Section] | None]


def emergency_when_sure(asked: Asked) -> tuple[Article, Section] | None:
    """A risk of immediate harm is answered with the guidance's 999 step, whatever else was asked."""
    return asked.content.emergency_section() if asked.ranking.urgency.sure else None


def image_guidance(asked: Asked) -> tuple[Article, Section] | None:
    """The guidance on never handling an image, for a question about viewing, keeping or passing one on, unless the
    model ranks it far down ("is it a crime to have one saved on your phone", "I teach the sending pics stuff")."""
    found = asked.content.image_handling_section() if IMAGE_HANDLING.search(asked.text) else None
    if found is None:
        return None
    first = list(dict.fromkeys(r.facts.source for r in asked.ranking.sections))[:asked.image_among]
    return found if found[1].provenance.section in first else None


def image_handling(asked: Asked) -> tuple[Article, Section] | None:
    """That guidance answers unless the scope model is all but sure it is not what is asked about (keeping CCTV, a
    prospectus's photos, a confiscated phone: the decline lists it first among the parts that may be close)."""
    return image_guidance(asked) if asked.ranking.in_scope >= asked.image_floor else None


def own_question(asked: Asked) -> tuple[Article, Section] | None:
    """A question the site asks itself of a section from a source other than the 2020 page (the age of criminal
    responsibility, cyberflashing), its heading or one of its `asks`, is answered from that section where it
    applies: the ranking learns from the bank, whose labels name only the 2020 page's sections, so such a section
    would otherwise never answer."""
    content, said = asked.content, _said(asked)
    for article in content.articles:
        for section in (s for s in article.sections if not s.provenance.section and _applies(asked, s)):
            own = (section.heading, *content.asks.get(f"{article.slug}#{section.anchor}", ()))
            if any(_plain(q) in said for q in own):
                return article, section
    return None


def subject_named(asked: Asked) -> tuple[Article, Section] | None:
    """A question that names the subject of a section from another source, and asks nothing else of its own but
    whether it is the law ("cyberflashing", "is cyberflashing illegal in Scotland?"), is answered from it."""
    return asked.named


def named_subject(content: Content, query: Query, nation: str | None) -> tuple[Article, Section] | None:
    """The section from another source (its `subject` phrases) that the question names, when the question asks
    nothing else of its own but whether it is the law, and the section applies where the user is."""
    said = stems(query.text)
    for article in content.articles:
        for section in (s for s in article.sections if s.subject and _applies_in(nation, s)):
            phrases = [tuple(stems(p)) for p in section.subject]
            if names_any(said, phrases) and not set(_own(stems(_without_law(content, query.text)))) - {
                    w for p in phrases for w in p}:
                return article, section
    return None


def _without_law(content: Content, text: str) -> str:
    """The text without the words that ask whether something is the law (the law intent's)."""
    for intent in (i for i in content.intents if i.name == LAW):
        text = intent.without(text)
    return text


def age_turns_the_route(asked: Asked) -> tuple[Article, Section] | None:
    """A follow-up that gives an age or names an adult ("what if he's 19?", "she's 12 actually") after a topic that is
    not the law itself: the section of the referral criterion it meets (an adult involved; a child under 13),
    where the decision aid's criterion links (tools.yaml)."""
    tools, content = asked.content.tools, asked.content
    topic = content.section(asked.before.section) if asked.continues and asked.before.section else None
    if tools is None or topic is None or topic[1].provenance.section in content.roles.law:
        return None
    ages = ages_named(asked.text)
    met = {name for name, test in CRITERIA_BY_AGE if any(test(age) for age in ages)}
    met |= {"adult"} if ADULT_NAMED.search(asked.text) else set()
    link = next((q.link for q in tools.decide.criteria if q.id in met), "")
    found = content.section(link.removeprefix("/articles/")) if link else None
    return found if found is not None and found[1] is not topic[1] else None


def declared_follow_up(asked: Asked) -> tuple[Article, Section] | None:
    """One of the site's own follow-up questions is answered from the section conversation.yaml names for it (the
    ranking may split a near tie between two sections either way), unless that section is about other nations."""
    conversation = asked.content.conversation
    said = _said(asked)
    follow = next((f for f in conversation.next if f.answers and _plain(f.ask) in said), None) if conversation else None
    found = asked.content.section(follow.answers) if follow else None
    return found if found is not None and _applies(asked, found[1]) else None


def _plain(text: str) -> str:
    """A question compared without case, spacing or its closing question mark."""
    return " ".join(text.lower().split()).rstrip(" ?")


def _said(asked: Asked) -> set[str]:
    """The question as typed and as corrected, each as _plain compares it."""
    return {_plain(asked.typed or asked.text), _plain(asked.text)}


def _applies(asked: Asked, section: Section) -> bool:
    """The section is not about other nations than the user's (when the user's is known)."""
    return _applies_in(asked.nation, section)


def _applies_in(nation: str | None, section: Section) -> bool:
    """The section is not about other nations than this one (when known)."""
    return not (nation and section.nations and nation not in section.nations)


def same_topic(asked: Asked) -> tuple[Article, Section] | None:
    """A follow-up stays on the topic the conversation is about: its section, that topic's answer where the user
    now asks about when the section is about other nations only, or where the follow-up turns the topic."""
    if not (asked.continues and asked.before.section):
        return None
    return asked.moved or asked.refined or asked.content.section(asked.before.section)


def best_section(asked: Asked) -> tuple[Article, Section] | None:
    """The section the model ranks first, when it judges that the guidance answers at all; where it is about other
    nations only and the question names none, its answer where the user is."""
    top = asked.ranking.sections[0].facts if asked.ranking.sections else None
    if not (top and asked.ranking.answerable):
        return None
    return asked.here or calm_sibling(asked, (top.article, top.section))


def emergency_when_urgent(asked: Asked) -> tuple[Article, Section] | None:
    """Never "not covered" when a child may be in danger now."""
    return asked.content.emergency_section() if asked.ranking.urgency.urgent else None


def first_steps_when_bare(asked: Asked) -> tuple[Article, Section] | None:
    """A bare "what do I do?" has no topic to rank: the first steps are its answer (conversation.yaml)."""
    first = asked.content.conversation.first_steps if asked.content.conversation else None
    return asked.content.section(first.section) if first and asked.guided and asked.bare else None


def intent_alone(asked: Asked) -> tuple[Article, Section] | None:
    """A question that says only what it wants to do ("who do I tell?", "who do I ring?") asks it of this site's
    subject: the model's best of the sections its intents name answers it (as search finds them)."""
    top = next((r.facts for r in asked.ranking.sections if r.facts.source in asked.wants), None)
    return calm_sibling(asked, (top.article, top.section)) if top else None


def leaning_on_topic(asked: Asked) -> tuple[Article, Section] | None:
    """A question that points back at the conversation ("she begged me not to tell anyone, do I have to?") and is
    declined on its own words is answered with the topic in mind (kb.answering.leaning), when nothing else answers."""
    return asked.leaning


def calm_sibling(asked: Asked, found: tuple[Article, Section]) -> tuple[Article, Section]:
    """Not the 999 step for a question that reads calm and asks nothing of danger ("do I need to tell the
    police?"): the best other section restating the same source section (whom to tell when a child is not in
    immediate danger), which says when to call 999 too."""
    emergency = asked.content.emergency_section()
    urgency = asked.ranking.urgency
    if (emergency is None or found[1] is not emergency[1] or urgency.urgent or urgency.maybe
            or DANGER_ASKED.search(asked.text)):
        return found
    other = next((r.facts for r in asked.ranking.sections
                  if r.facts.source == found[1].provenance.section and r.facts.section is not found[1]), None)
    return (other.article, other.section) if other else found


# The answer's choices, first that finds a section wins.
STRATEGIES: tuple[Strategy, ...] = (
    emergency_when_sure, own_question, image_handling, declared_follow_up, subject_named, age_turns_the_route,
    same_topic, best_section,
    emergency_when_urgent, first_steps_when_bare, intent_alone, leaning_on_topic,
)


def meaningful(query: Query) -> list[str]:
    """The question's own words: not the common ones, not a nation's name."""
    return _own(query.analysed.stems)


def _own(found: Iterable[str]) -> list[str]:
    """Stems that are not common words nor a nation's name."""
    return [s for s in found if s not in GENERIC and not any(rx.search(s) for rx in NATION_WORDS.values())]


def wants(content: Content, query: Query) -> frozenset[str]:
    """The sections the question's intents name, when the words that say them are all it has of its own."""
    said = [i for i in content.intents if i.matches(query.text)]
    rest = query.text
    for intent in said:
        rest = intent.without(rest)
    return frozenset(h for i in said for h in i.sections) if said and not _own(stems(rest)) else frozenset()


def continues(before: Context, query: Query, ranking: Ranking, wanted: frozenset[str] = frozenset(),
              least: float = 1.0) -> bool:
    """The context fills in only what a follow-up leaves out: "and in Scotland?" keeps the topic, but a question
    that stands on its own is answered on its own, and so is one that says only what it wants ("who do I call?",
    "what do I do?": wanted, the sections its intents name) or names a concern the guidance does not cover."""
    own = names_its_own(query, ranking, least)
    explicit = bool(before.section and FOLLOW_UP.match(query.text)) and not own
    bare = bool(before.section and len(meaningful(query)) <= 1 and not ranking.answerable and not wanted and not own)
    # "What about FGM, what goes in the policy for that?" asks of another concern: it is judged on its own.
    return (explicit or bare) and not ranking.elsewhere


def names_its_own(query: Query, ranking: Ranking, least: float = 1.0) -> bool:
    """A follow-up that names its own subject ("and what about the parents?", "what do I say to his parents?"): the
    guidance answers it (or may: `least`, the bar of scope a question leaning on a conversation must reach), and a
    word of its own, not a number, is in the first heading."""
    top = ranking.sections[0].facts if ranking.sections else None
    own = {s for s in meaningful(query) if not s.isdigit()}
    return bool(top and (ranking.answerable or ranking.in_scope >= least) and own & top.heading_stems)
