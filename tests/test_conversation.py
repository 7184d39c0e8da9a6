"""The conversation's data and logic (content/conversation.yaml, kb/conversation.py): starters, the first steps,
the guided questions that end in the decision aid's result, and follow-ups chosen from intent and section."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.answering import answer, contacts_for
from kb.choosing import Asked, declared_follow_up
from kb.conversation import Context
from kb.guide import (
    NATION,
    SHARED,
    Conversation,
    check_conversation,
    guide,
    next_questions,
    parse_conversation,
)
from kb.index import OpenIndex
from kb.index_holder import IndexHolder
from kb.model import NATIONS, Content
from kb.ranked import Ranking
from kb.tools import BadState, DecisionAid, decide
from kb.urgency import Urgency

ROOT = Path(__file__).resolve().parent.parent
WHAT_DO_I_DO = ["what do I do?", "What should we do now?", "what now", "where do I start"]


@pytest.fixture(scope="module")
def ix(index_dir: Path) -> OpenIndex:
    """The session's index, opened."""
    opened = IndexHolder(index_dir).get()
    assert opened is not None
    return opened


@pytest.fixture(scope="module")
def conversation(content: Content) -> Conversation:
    assert content.conversation is not None, "content/conversation.yaml is loaded"
    return content.conversation


@pytest.fixture(scope="module")
def aid(content: Content) -> DecisionAid:
    assert content.tools is not None
    return content.tools.decide


def section_source(content: Content, link: str) -> str:
    """The source section of the article section a link lands on."""
    slug, _, anchor = link.removeprefix("/articles/").partition("#")
    article = content.article(slug)
    assert article is not None, link
    section = next((s for s in article.sections if s.anchor == anchor), None)
    assert section is not None, link
    return section.provenance.section


# ---------------------------------------------------------------- the data


def test_the_real_conversation_has_no_problems(content: Content) -> None:
    assert not [p for p in content.problems if "conversation" in p.path]


def test_each_first_step_is_one_line_cited_from_the_section_it_links_to(
    content: Content, conversation: Conversation
) -> None:
    steps = conversation.first_steps.steps
    assert len(steps) >= 5
    for step in steps:
        assert "\n" not in step.text and len(step.text) <= 120, step.text
        assert step.provenance.section == section_source(content, step.link), step.text
    # The guidance's order: 999 first, the image left alone before anyone is told, the record last.
    assert "999" in steps[0].text
    assert steps[-1].provenance.section == "Recording and reviewing"


def test_every_role_has_starters(conversation: Conversation) -> None:
    roles = [s.role for s in conversation.starters]
    assert roles == ["school-staff", "dsl", "youth-and-sport", "police", "health-and-social-care"]
    assert all(len(s.questions) >= 3 for s in conversation.starters)


def bank_questions() -> Iterator[str]:
    """Every question of the evaluation sets and the question bank."""
    files = [*(ROOT / "bench" / "bank").glob("*.jsonl"), *(ROOT.parent / "shared" / "eval").glob("*.jsonl")]
    assert files, "the bank and the evaluation sets are where the README says"
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield " ".join(str(json.loads(line).get("q", "")).lower().split())


def test_starters_are_written_for_the_site_not_taken_from_the_evaluation_sets(
    conversation: Conversation, content: Content
) -> None:
    taken = set(bank_questions())
    asks = {" ".join(q.lower().split()) for qs in content.asks.values() for q in qs}
    for starters in conversation.starters:
        for q in starters.questions:
            assert " ".join(q.lower().split()) not in taken | asks, q


def test_every_starter_is_answered(ix: OpenIndex, conversation: Conversation) -> None:
    for starters in conversation.starters:
        for q in starters.questions:
            assert answer(ix, q).answered, q


def test_each_follow_up_question_is_answered_as_the_conversation_says(
    ix: OpenIndex, conversation: Conversation
) -> None:
    for follow in conversation.next:
        reply = answer(ix, follow.ask)
        assert reply.answered and reply.article and reply.section, follow.ask
        if not follow.answers:
            assert reply.guided, follow.ask
        else:
            assert f"{reply.article.slug}#{reply.section.anchor}" == follow.answers, follow.ask


@pytest.mark.parametrize("nation", [None, *NATIONS])
def test_a_declared_follow_up_answers_only_where_its_section_applies(
    content: Content, conversation: Conversation, nation: str | None
) -> None:
    # Nothing ranked: only the declaration can answer. A section about some nations answers only there (else
    # the ranking picks); the question is matched without case, spacing or its question mark.
    ranking = Ranking((), 0.0, False, Urgency(0.0, False, False, frozenset()), 0.0)
    for follow in (f for f in conversation.next if f.answers):
        found = content.section(follow.answers)
        assert found is not None, follow.answers
        typed = "  " + follow.ask.upper().rstrip("?") + " "
        got = declared_follow_up(Asked(content, typed, ranking, Context(), continues=False, nation=nation))
        applies = nation is None or not found[1].nations or nation in found[1].nations
        assert got == (found if applies else None), (follow.ask, nation)
    other = Asked(content, "What should our policy on nudes say about phones?", ranking, Context(), continues=False)
    assert declared_follow_up(other) is None


# ---------------------------------------------------------------- parsing and checks, on strings

GOOD = """
starters:
  - role: dsl
    questions: ["First question?"]
first-steps:
  title: What to do first
  intro: In order.
  section: a#b
  steps:
    - text: One.
      link: /articles/a#b
      source: Overview
shared:
  question: Passed on?
  short: Passed on
  hint: Never look.
  link: /articles/a#b
  source: Overview
next:
  - {intent: removal, ask: "How do we get it taken down?", then: [the-law]}
in-danger: [removal]
young-person:
  patterns: ['\\bmy nudes\\b']
  unless: ['\\bmy pupil\\b']
  note: Childline can help.
  source: Overview
"""


def test_a_whole_conversation_file_parses() -> None:
    parsed = parse_conversation(GOOD, "conversation.yaml", ("Overview",))
    assert parsed.problems == ()
    value = parsed.value
    assert isinstance(value, Conversation)
    assert value.first_steps.steps[0].link == "/articles/a#b"
    assert [v for v, _ in value.shared.options] == ["yes", "no", "not-known"]
    assert value.young.writes("someone has My Nudes") and not value.young.writes("my pupil says someone has my nudes")
    assert value.young.note == "Childline can help." and value.young.provenance is not None
    assert value.danger == ("removal",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("role: dsl", "role: astronauts"), "unknown role 'astronauts'"),
        (("link: /articles/a#b\n      source", "link: https://example.org\n      source"),
         "must be an article section link"),
        (("source: Overview\nshared", "source: Gossip\nshared"), "source 'Gossip' is not a source heading"),
        (("then: [the-law]", "then: the-law"), "'then' must be a list of text"),
        (("first-steps:", "first-stepz:"), "'steps' must be a non-empty list"),
        (("patterns: ['\\bmy nudes\\b']", "patterns: ['(my nudes']"), "'patterns': bad pattern"),
        (("patterns: ['\\bmy nudes\\b']", "patterns: ['\\bMy nudes\\b']"), "has a capital letter"),
        (("  note: Childline can help.\n", ""), "missing 'note'"),
    ],
)
def test_a_broken_conversation_file_says_where(change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    parsed = parse_conversation(text, "conversation.yaml", ("Overview",))
    assert parsed.value is None
    assert any(message in p.message and p.path == "conversation.yaml" and p.line > 0 for p in parsed.problems), \
        parsed.problems


def test_links_contacts_and_intents_are_checked_against_the_content(content: Content) -> None:
    parsed = parse_conversation(GOOD, "conversation.yaml", ("Overview",))
    assert isinstance(parsed.value, Conversation)
    messages = [p.message for p in check_conversation(parsed.value, content)]
    assert "broken link '/articles/a#b'" in messages
    assert "first-steps section 'a#b' is not a section" in messages
    assert any("is not the link of one of the decision aid's next steps" in m for m in messages)
    good = parse_conversation(GOOD.replace("removal", "gossip"), "conversation.yaml", ("Overview",)).value
    assert isinstance(good, Conversation)
    messages = [p.message for p in check_conversation(good, content)]
    assert "'gossip' is not an intent in intents.yaml" in messages
    assert not [m for m in messages if m.startswith("in-danger")]
    unlisted = parse_conversation(GOOD.replace("in-danger: [removal]", "in-danger: [parents]"), "conversation.yaml",
                                  ("Overview",)).value
    assert isinstance(unlisted, Conversation)
    assert "in-danger: 'parents' has no entry in 'next'" in [p.message for p in check_conversation(unlisted, content)]


# ---------------------------------------------------------------- "what do I do?"


@pytest.mark.parametrize("question", WHAT_DO_I_DO)
def test_what_do_i_do_is_answered_with_the_first_steps(ix: OpenIndex, conversation: Conversation,
                                                       question: str) -> None:
    reply = answer(ix, question)
    assert reply.answered and reply.guided
    assert reply.steps == conversation.first_steps.steps
    assert "first-steps" in reply.intents
    assert [s["url"] for s in reply.as_dict()["steps"]] == [s.link for s in conversation.first_steps.steps]


def test_a_situation_with_what_do_i_do_keeps_its_own_section_and_gets_the_steps(ix: OpenIndex) -> None:
    reply = answer(ix, "A boy in year 9 has shared a nude of his girlfriend around the class, what should I do?")
    assert reply.guided and reply.article is not None and reply.section is not None
    assert f"{reply.article.slug}#{reply.section.anchor}" != "recognising-concerns#do-not-wait"


@pytest.mark.parametrize("question", ["What should I do if I suspect a child is being radicalised?",
                                      "what do I do about my tax return"])
def test_what_do_i_do_about_something_else_is_still_declined(ix: OpenIndex, question: str) -> None:
    reply = answer(ix, question)
    assert not reply.answered and not reply.guided


def test_a_child_sure_to_be_in_danger_gets_999_not_the_steps(ix: OpenIndex) -> None:
    reply = answer(ix, "what do I do, a pupil has just told me she is going to kill herself tonight")
    assert reply.urgent and not reply.guided
    assert reply.section is not None and "999" in reply.section.text


# ---------------------------------------------------------------- the guided questions


def test_the_guide_asks_the_decision_aids_questions_in_its_order_then_whether_the_image_spread(
    conversation: Conversation, aid: DecisionAid
) -> None:
    params: dict[str, list[str]] = {}
    nation: str | None = None
    order = []
    for _ in range(20):
        found = guide(conversation, aid, params, nation)
        if found.done:
            break
        assert found.ask is not None
        order.append(found.ask.id)
        if found.ask.id == NATION:
            nation = "wales"
        else:
            params[found.ask.id] = ["no"]
    assert order == [NATION, *(q.id for q in aid.questions), SHARED]
    assert found.decision.outcome is not None and found.decision.outcome.id == "no-referral"


def test_immediate_danger_ends_the_questions_with_999(conversation: Conversation, aid: DecisionAid) -> None:
    for nation in (None, "england"):
        found = guide(conversation, aid, {"danger": ["yes"]}, nation)
        assert found.done and found.decision.outcome is not None
        assert found.decision.outcome.id == "danger"
        assert "danger" in [a.fact.id for a in found.answered] and SHARED not in [a.fact.id for a in found.answered]


def test_the_guide_ends_in_the_decision_aids_result(conversation: Conversation, aid: DecisionAid) -> None:
    answers = {"danger": ["no"], "adult": ["no"], "coerced": ["yes"]}
    aid_says = decide(aid, {**answers, NATION: ["scotland"]})
    found = guide(conversation, aid, {**answers, SHARED: ["no"]}, "scotland")
    assert found.done
    assert found.decision == aid_says
    assert found.decision.outcome is not None and found.decision.outcome.id == "refer"
    assert [s for s, _ in found.next_steps] == list(aid.next_steps), "the aid's other steps, in its order"
    assert not any(flagged for _, flagged in found.next_steps)


@pytest.mark.parametrize("value", ["yes", "not-known"])
def test_an_image_that_may_have_spread_brings_getting_it_taken_down_first(
    conversation: Conversation, aid: DecisionAid, value: str
) -> None:
    answers = {q.id: ["no"] for q in aid.questions}
    found = guide(conversation, aid, {**answers, SHARED: [value]}, "england")
    first, flagged = found.next_steps[0]
    assert flagged and first.link == conversation.shared.link == "/articles/getting-an-image-removed#ways-to-remove"
    assert sorted(s.heading for s, _ in found.next_steps) == sorted(s.heading for s in aid.next_steps)


def test_without_a_nation_the_answers_start_again(conversation: Conversation, aid: DecisionAid) -> None:
    found = guide(conversation, aid, {"danger": ["no"], "adult": ["no"], SHARED: ["yes"]}, None)
    assert found.ask is not None and found.ask.id == NATION and found.facts == ()


def test_a_nation_already_chosen_is_not_asked_again(conversation: Conversation, aid: DecisionAid) -> None:
    assert guide(conversation, aid, {}, None).ask is not None
    assert guide(conversation, aid, {}, None).ask.id == NATION  # type: ignore[union-attr]
    assert guide(conversation, aid, {}, "wales").ask.id == "danger"  # type: ignore[union-attr]


def test_changing_an_answer_keeps_only_the_answers_before_it(conversation: Conversation, aid: DecisionAid) -> None:
    answers = {q.id: ["no"] for q in aid.questions}
    found = guide(conversation, aid, {**answers, SHARED: ["yes"]}, "wales")
    assert [a.fact.id for a in found.answered] == [NATION, *(q.id for q in aid.questions), SHARED]
    nation, danger, adult = found.answered[:3]
    assert (nation.facts_before, nation.nation) == ((), None), "changing the nation starts the questions again"
    assert (danger.facts_before, danger.nation) == ((), "wales")
    assert adult.facts_before == (("danger", "no"),)


@pytest.mark.parametrize(
    "params",
    [{"danger": ["maybe"]}, {"danger": ["no", "yes"]}, {"adult": ["yes"]},
     {**{"danger": ["no"], "adult": ["no"], "coerced": ["no"], "content": ["no"], "under-13": ["no"],
         "harm": ["no"]}, SHARED: ["perhaps"]}],
)
def test_garbled_answers_are_refused(conversation: Conversation, aid: DecisionAid,
                                     params: dict[str, list[str]]) -> None:
    with pytest.raises(BadState):
        guide(conversation, aid, params, "wales")


def test_a_question_sent_back_unanswered_is_flagged(conversation: Conversation, aid: DecisionAid) -> None:
    assert guide(conversation, aid, {"asked": [NATION]}, None).unanswered
    assert guide(conversation, aid, {"asked": ["danger"]}, "wales").unanswered
    answers = {q.id: ["no"] for q in aid.questions}
    assert guide(conversation, aid, {**answers, "asked": [SHARED]}, "wales").unanswered
    assert not guide(conversation, aid, answers, "wales").unanswered


# ---------------------------------------------------------------- follow-ups


def test_follow_ups_come_from_what_was_asked_and_the_section_not_a_fixed_list(ix: OpenIndex) -> None:
    law = answer(ix, "Is it illegal for a 15 year old to send a nude?")
    removal = answer(ix, "How can a nude of a pupil be taken off a website?")
    steps = answer(ix, "what do I do?")
    questions = [tuple(q for q, _ in r.followups) for r in (law, removal, steps)]
    assert len(set(questions)) == 3, questions
    assert "Will the young person get a criminal record?" in questions[0]
    assert "What support should the young person get afterwards?" in questions[1]
    assert "Should I look at the image?" in questions[2]


@pytest.mark.parametrize("question", [
    "a pupil says she wants to kill herself after her nude was shared",
    "he is parked outside the school waiting for her",
    "my 14 year old has collapsed and is not breathing",
])
def test_with_a_child_in_danger_the_follow_ups_are_the_in_danger_list_never_the_image(
        ix: OpenIndex, conversation: Conversation, question: str) -> None:
    reply = answer(ix, question)
    assert reply.urgent
    asks = [q for q, _ in reply.followups]
    wanted = [f.ask for name in conversation.danger if (f := conversation.follow_up(name))]
    assert asks == wanted[:4] and asks
    viewing = conversation.follow_up("viewing")
    assert viewing is not None and viewing.ask not in asks
    calm = answer(ix, "what do I do?")  # the same question calmly asked still offers the image's question
    assert viewing.ask in [q for q, _ in calm.followups]


def test_a_follow_up_never_asks_what_the_question_or_its_section_already_covers(
    content: Content, conversation: Conversation
) -> None:
    for follow in conversation.next:
        intent = next(i for i in content.intents if i.name == follow.intent)
        for heading in intent.sections:
            covered = {follow.intent} | {i.name for i in content.intents if heading in i.sections}
            shown = next_questions(conversation, content.intents, [follow.intent], heading)
            asks = {f.ask: f.intent for f in conversation.next}
            assert not [q for q in shown if asks[q] in covered], (follow.intent, heading, shown)


def test_a_question_with_no_intent_gets_the_articles_onward_questions(ix: OpenIndex, content: Content) -> None:
    reply = answer(ix, "What is sexting?")
    assert reply.answered and reply.article is not None
    onward = {a.question for slug in reply.article.next if (a := content.article(slug))}
    assert {q for q, _ in reply.followups} <= onward | {f.ask for f in content.conversation.next}  # type: ignore[union-attr]
    assert len(reply.followups) >= 2


def test_the_sites_own_questions_of_sections_from_other_sources_are_answered_from_them(ix: OpenIndex) -> None:
    # Every heading and every `asks` question of a section from a source other than the 2020 page (the age of
    # criminal responsibility, cyberflashing: the bank's labels never name them), asked where it applies: that
    # section answers, unless a child is sure to be in danger now (then the 999 step does).
    emergency = ix.content.emergency_section()
    asked = 0
    for article in ix.content.articles:
        for section in (s for s in article.sections if not s.provenance.section):
            own = (section.heading, *ix.content.asks.get(f"{article.slug}#{section.anchor}", ()))
            for question in own:
                reply = answer(ix, question, nation=section.nations[0] if section.nations else None)
                assert reply.answered, question
                if section.nations and reply.nation not in section.nations:
                    continue  # "does section 33 apply in Scotland?": the nation it names is where it is asked
                asked += 1
                assert reply.section is section or (reply.urgent and emergency and reply.section is emergency[1]), (
                    question, reply.section.heading if reply.section else None)
    assert asked >= 15


# ---------------------------------------------------------------- a young person writing


YOUNG = ["someone has my nudes", "he says he'll post my nudes tonight if i dont send more",
         "im 14 and i sent a pic to a boy", "will i get in trouble for sending a nude", "my bf keeps asking for pics",
         "evry1 at school has seen my nudes"]
NOT_YOUNG = ["a pupil says someone has her nudes", "my daughter sent nudes to a boy",
             "I'm a teacher, a girl in my class says someone has her pics",
             "i'm 24 can i use report remove for my nudes", "what do I do first?"]


def test_a_young_person_writing_about_themselves_is_told_first_where_they_can_get_help(ix: OpenIndex) -> None:
    content = ix.content
    for question in YOUNG:
        reply = answer(ix, question)
        assert reply.young_person and "0800 1111" in reply.young_person, question
        assert reply.contacts[0].phone == "999", question
        # Their own lines straight after 999 and any crisis line; the adults' lines after them.
        after = [c for c in reply.contacts[1:] if not c.risks]
        young = {c.id for c in after if c.audience == "young-people"}
        assert young and {c.id for c in after[:len(young)]} == young, (question, [c.id for c in reply.contacts])
        assert reply.as_dict()["young_person"] == reply.young_person
    for question in NOT_YOUNG:
        reply = answer(ix, question)
        assert not reply.young_person and reply.as_dict()["young_person"] is None, question
        risks = frozenset(r for c in reply.contacts for r in c.risks)
        assert reply.contacts == contacts_for(content, None, risks), question
