"""The guided conversation on /ask as data (conversation.yaml): starter questions by role, the guidance's first
steps in order, the question a guided answer asks beyond the decision aid's, and what people ask next after each
intent. Parsing is pure (text in, values and problems out); the guide's logic is the decision aid's
(kb.tools.decide). What one question carries to the next is kb/conversation.py's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kb.model import AUDIENCES, NATION_NAMES, NATIONS, SOURCE_DOCUMENT, Content, Intent, Problem, Provenance
from kb.parse import ContentError, Fields, Parsed, load_yaml, resolve_heading
from kb.parse_signals import pattern_of
from kb.tools import BadState, Decision, DecisionAid, Question, decide
from kb.tools import Step as AidStep

CONVERSATION_FILE = "conversation.yaml"
ROLES = tuple(a for a in AUDIENCES if a not in ("all", "prosecutors", "parents"))
YES, NO, NOT_KNOWN = "yes", "no", "not-known"  # the decision aid reads yes and no
SHARED, NATION, ASKED = "shared", "nation", "asked"
YES_NO = ((YES, "Yes"), (NO, "No"))
SHARED_OPTIONS = (*YES_NO, (NOT_KNOWN, "I do not know"))
# What the conversation itself carries in the address: no fact of the guide may take these names.
ASK_PARAMETERS = frozenset({"q", "t", "context", NATION, SHARED, ASKED})
ARTICLE_LINK = re.compile(r"^/articles/([a-z0-9-]+)#([a-z0-9-]+)$")
FIRST_STEPS = "first-steps"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Starters:
    """Questions to start a conversation with, for one role."""

    role: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """One line of the guidance's first steps, with the section that says it at length and its source."""

    text: str
    link: str
    provenance: Provenance
    line: int = 0


@dataclass(frozen=True)
class FirstSteps:
    """What the guidance says to do first, in its order."""

    title: str
    intro: str
    section: str  # the section id (slug#anchor) a bare "what do I do?" is answered from
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Fact:
    """One question a guided answer asks: the decision aid's, whether the image was passed on, or the nation."""

    id: str
    question: str
    short: str  # the fact as a statement, for the list of answers
    hint: str
    options: tuple[tuple[str, str], ...]
    link: str = ""
    means: str = ""

    def label(self, value: str) -> str:
        """The words of an answer."""
        return dict(self.options).get(value, value)


@dataclass(frozen=True)
class FollowUp:
    """The question a follow-up link asks about an intent, and the intents people go on to ask about."""

    intent: str
    ask: str
    answers: str  # the section (slug#anchor) the question is answered from; "" for the first steps
    then: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class YoungPerson:
    """A young person writing about themselves (conversation.yaml's `young-person`), and what an answer tells
    them first."""

    patterns: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()  # an adult's role or age named: not a young person writing
    note: str = ""
    provenance: Provenance | None = None

    def writes(self, text: str) -> bool:
        """Whether the text reads as a young person writing about themselves, naming no adult's role or age."""
        lowered = text.lower()
        return any(p.search(lowered) for p in self.patterns) and not any(p.search(lowered) for p in self.unless)


@dataclass(frozen=True)
class Conversation:
    """Everything in content/conversation.yaml."""

    starters: tuple[Starters, ...]
    first_steps: FirstSteps
    shared: Fact  # asked after the decision aid's questions; its link is the aid's step it brings forward
    next: tuple[FollowUp, ...]
    young: YoungPerson = YoungPerson()
    # What to offer next when a child is in danger now or at risk of suicide, self-harm or serious illness (intents)
    danger: tuple[str, ...] = ()

    def follow_up(self, intent: str) -> FollowUp | None:
        """The follow-up entry of an intent, if any."""
        return next((f for f in self.next if f.intent == intent), None)


# ---------------------------------------------------------------- parsing


class _Reader(Fields):
    """Fields of one mapping, with the conversation's links and sources."""

    def __init__(self, data: Any, path: str, problems: list[Problem], line: int, headings: Sequence[str],
                 source: str = "") -> None:
        if not isinstance(data, dict):
            problems.append(Problem(path, line, "expected a mapping of fields"))
            data = {}
        super().__init__(data, path, problems, line)
        self.headings = headings
        self.source = source or SOURCE_DOCUMENT

    def words(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.problem(f"'{key}' must be a list of text", key=key)
            return ()
        return tuple(" ".join(v.split()) for v in value)

    def link(self, key: str = "link") -> str:
        value = self.text(key)
        if value and not ARTICLE_LINK.match(value):
            self.problem(f"'{key}' must be an article section link /articles/<slug>#<anchor>, not '{value}'", key=key)
        return value

    def provenance(self) -> Provenance:
        value = " ".join(self.text("source").split())
        heading = resolve_heading(value, self.headings) if self.headings else value
        if value and heading is None:
            self.problem(f"source '{value}' is not a source heading", key="source")
        return Provenance(document=self.source, section=heading or value)

    def child(self, key: str) -> _Reader:
        return _Reader(self.data.get(key), self.path, self.problems, self.line_of(key), self.headings, self.source)

    def children(self, key: str) -> list[_Reader]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            self.problem(f"'{key}' must be a non-empty list", key=key)
            return []
        return [_Reader(v, self.path, self.problems, self.line_of(key), self.headings, self.source) for v in value]

    def patterns(self, key: str, required: bool = True) -> tuple[re.Pattern[str], ...]:
        listed = self.words(key) if required or key in self.data else ()
        return tuple(p for v in listed if (p := pattern_of(v, self, f"'{key}': ", key)) is not None)

    def step(self) -> Step:
        return Step(text=" ".join(self.text("text").split()), link=self.link(), provenance=self.provenance(),
                    line=self.line_of("link"))


def parse_conversation(text: str, path: str = CONVERSATION_FILE, headings: Sequence[str] = (),
                       source: str = "") -> Parsed:
    """The conversation in conversation.yaml's text (None when it has errors); `source` is the id of the document
    the site restates (its steps' provenance)."""
    try:
        data = load_yaml(text)
    except ContentError as exc:
        return Parsed(None, (Problem(path, exc.line, exc.message),))
    problems: list[Problem] = []
    root = _Reader(data, path, problems, 1, headings, source)
    starters = []
    for s in root.children("starters"):
        role = s.choice("role", ROLES)
        starters.append(Starters(role, s.words("questions")))
    steps = root.child("first-steps")
    first = FirstSteps(title=steps.text("title"), intro=" ".join(steps.text("intro").split()),
                       section=steps.text("section"), steps=tuple(s.step() for s in steps.children("steps")))
    shared = root.child("shared")
    follow = [FollowUp(f.text("intent"), f.text("ask"), f.text("answers", required=False), f.words("then"), f.line)
              for f in root.children("next")]
    conversation = Conversation(
        starters=tuple(starters), first_steps=first,
        shared=Fact(SHARED, shared.text("question"), shared.text("short"), shared.text("hint"), SHARED_OPTIONS,
                    shared.link()),
        next=tuple(follow),
        young=_young(root.child("young-person")) if "young-person" in root.data else YoungPerson(),
        danger=root.words("in-danger") if "in-danger" in root.data else (),
    )
    shared.provenance()
    errors = tuple(problems)
    return Parsed(None if errors else conversation, errors)


def _young(r: _Reader) -> YoungPerson:
    return YoungPerson(r.patterns("patterns"), r.patterns("unless", required=False), " ".join(r.text("note").split()),
                       r.provenance())


def check_conversation(conversation: Conversation, content: Content, path: str = CONVERSATION_FILE
                       ) -> list[Problem]:
    """Cross-file checks: links land on sections, contacts and intents exist, no fact takes a name in use."""
    problems: list[Problem] = []
    anchors = {f"{a.slug}#{s.anchor}" for a in content.articles for s in a.sections}
    for step in conversation.first_steps.steps:
        if step.link.removeprefix("/articles/") not in anchors:
            problems.append(Problem(path, step.line, f"broken link '{step.link}'"))
    if conversation.first_steps.section not in anchors:
        problems.append(Problem(path, 1, f"first-steps section '{conversation.first_steps.section}' is not a section"))
    intents = {i.name for i in content.intents}
    for follow in conversation.next:
        if follow.answers and follow.answers not in anchors:
            problems.append(Problem(path, follow.line, f"'{follow.ask}' answers '{follow.answers}', not a section"))
        for name in (follow.intent, *follow.then):
            if intents and name not in intents:
                problems.append(Problem(path, follow.line, f"'{name}' is not an intent in intents.yaml"))
    for name in conversation.danger:
        if conversation.follow_up(name) is None:
            problems.append(Problem(path, 1, f"in-danger: '{name}' has no entry in 'next'"))
    if content.tools is not None:
        aid = content.tools.decide
        for q in aid.questions:
            if q.id in ASK_PARAMETERS:
                problems.append(Problem(path, 1, f"the decision aid's question id '{q.id}' is a parameter of /ask"))
        if conversation.shared.link not in [s.link for s in aid.next_steps]:
            problems.append(Problem(path, 1, f"the shared question's link '{conversation.shared.link}' is not the "
                                             "link of one of the decision aid's next steps (tools.yaml)"))
    return problems


# ---------------------------------------------------------------- follow-ups


def next_questions(conversation: Conversation, intents: Sequence[Intent], asked: Sequence[str], heading: str,
                   most: int = 4, danger: bool = False) -> tuple[str, ...]:
    """What people go on to ask: after the question's intents first, then after those the answering section
    serves; never about an intent the question or the section already covers. With a child in danger, what
    conversation.yaml's `in-danger` lists, as listed (never "should I look at the image?" first)."""
    if danger and conversation.danger:
        found = (conversation.follow_up(name) for name in conversation.danger if name not in asked)
        return tuple(f.ask for f in found if f)[:most]
    serving = [i.name for i in intents if heading in i.sections]
    covered = {*asked, *serving}
    out: list[str] = []
    for name in [*asked, *serving]:
        follow = conversation.follow_up(name)
        for then in follow.then if follow else ():
            target = conversation.follow_up(then)
            if target and then not in covered and target.ask not in out:
                out.append(target.ask)
    return tuple(out[:most])


# ---------------------------------------------------------------- the guide


@dataclass(frozen=True)
class Answered:
    """A fact answered in the conversation, and the address to change it (the facts before it, and the nation)."""

    fact: Fact
    value: str
    facts_before: tuple[tuple[str, str], ...]
    nation: str | None


@dataclass(frozen=True)
class Guide:
    """Where a guided answer stands: the facts answered, the next one to ask, or the decision aid's outcome with
    the guidance's other steps (the one an answer points to first, flagged)."""

    answered: tuple[Answered, ...]
    ask: Fact | None
    unanswered: bool
    decision: Decision
    facts: tuple[tuple[str, str], ...]  # the yes/no answers and whether the image spread, as query parameters
    next_steps: tuple[tuple[AidStep, bool], ...] = ()

    @property
    def done(self) -> bool:
        """True when nothing is left to ask."""
        return self.ask is None


def _fact(q: Question) -> Fact:
    return Fact(q.id, q.question, q.short, q.hint, YES_NO, q.link, q.means)


def nation_fact(aid: DecisionAid) -> Fact:
    """The decision aid's first question, where the child lives, answered with a nation."""
    q = aid.nation
    return Fact(NATION, q.question, q.short, q.hint, tuple((n, NATION_NAMES[n]) for n in NATIONS), q.link, q.means)


def _shared(params: Mapping[str, Sequence[str]]) -> str | None:
    values = list(params.get(SHARED) or ())
    if len(values) > 1:
        raise BadState("Whether the image was passed on is answered more than once.")
    if values and values[0] not in [v for v, _ in SHARED_OPTIONS]:
        raise BadState("The answer to whether the image was passed on is not one of the choices.")
    return values[0] if values else None


def guide(conversation: Conversation, aid: DecisionAid, params: Mapping[str, Sequence[str]],
          nation: str | None) -> Guide:
    """The decision aid's next question or outcome for the answers in an address and the conversation's nation,
    then whether the image was passed on; BadState when the answers are garbled. A child in danger ends it."""
    if not nation and list(params.get(aid.danger.id) or ()) != [YES]:
        # The aid asks the nation first: with none (it was changed, or left unchosen) its answers cannot stand,
        # and the questions start again. A child in immediate danger still gets 999 first.
        params = {ASKED: list(params.get(ASKED) or ())}
    decision = decide(aid, {**params, NATION: [nation] if nation else []})
    facts = tuple((q.id, YES if yes else NO) for q, yes in decision.answers)
    answered = [Answered(nation_fact(aid), decision.nation, (), None)] if decision.nation else []
    answered += [Answered(_fact(q), value, facts[:i], decision.nation or None)
                 for i, ((q, _), (_, value)) in enumerate(zip(decision.answers, facts, strict=True))]
    asked = list(params.get(ASKED) or ())[-1:]
    if decision.question is not None:
        ask = nation_fact(aid) if decision.question is aid.nation else _fact(decision.question)
        return Guide(tuple(answered), ask, decision.unanswered, decision, facts)
    if decision.outcome is not None and decision.outcome.id == "danger":
        return Guide(tuple(answered), None, False, decision, facts)
    shared = _shared(params)
    if shared is None:
        return Guide(tuple(answered), conversation.shared, asked == [SHARED], decision, facts)
    answered.append(Answered(conversation.shared, shared, facts, decision.nation or None))
    # An image that has (or may have) spread brings the aid's step for getting it taken down to the front.
    spread = shared != NO
    steps = sorted(aid.next_steps, key=lambda s: not (spread and s.link == conversation.shared.link))
    flagged = tuple((s, spread and s.link == conversation.shared.link) for s in steps)
    return Guide(tuple(answered), None, False, decision, (*facts, (SHARED, shared)), flagged)
