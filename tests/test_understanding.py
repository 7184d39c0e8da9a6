"""How questions are read: stems that must stay apart, intents, places that name a nation, urgency cue families,
follow-ups that listen, and the examples users tried (issues 11 and 12), on the index learned from the bank."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import IndexHolder, OpenIndex, answer, search
from kb.analysis import stems
from kb.answering import _with_topic
from kb.learn import rank
from kb.model import NATION_NAMES, NATIONS, Content, Section
from kb.understand import compile_places, understand
from kb.urgency import Cues, UrgencyModel, assess, feature_names, rule

EMERGENCY = "When to make a child protection referral"
IMAGE = "What to do with a sexting image"


@pytest.fixture(scope="module")
def ix(index_dir: Path) -> OpenIndex:
    opened = IndexHolder(index_dir).get()
    assert opened is not None
    return opened


def section_of(ix: OpenIndex, question: str, **kwargs: str | None) -> str | None:
    reply = answer(ix, question, **kwargs)  # type: ignore[arg-type]
    return reply.section.provenance.section if reply.answered and reply.section else None


# ---------------------------------------------------------------- stems


@pytest.mark.parametrize(("a", "b"), [("response", "responsible"), ("response", "responsibility"),
                                      ("respond", "responsibilities")])
def test_words_of_different_meaning_keep_different_stems(a: str, b: str) -> None:
    assert stems(a) != stems(b)


@pytest.mark.parametrize(("a", "b"), [("responsible", "responsibility"), ("referral", "refer"),
                                      ("response", "responses")])
def test_words_of_one_meaning_share_a_stem(a: str, b: str) -> None:
    assert stems(a) == stems(b)


# ---------------------------------------------------------------- intents


@pytest.mark.parametrize(("question", "intent"), [
    ("who do I tell about this", "whom-to-tell"),
    ("how do we get it taken down", "removal"),
    ("is it illegal for him to have it", "the-law"),
    ("should I ring her mum", "parents"),
    ("what do I say to her", "talking-to-the-child"),
    ("where do we log it", "recording"),
    ("kid came to me at lunch crying, what should i be doing", "first-steps"),
    ("what am I supposed to do now", "first-steps"),
    ("what are my next steps", "first-steps"),
])
def test_intents_read_what_the_user_wants_to_do(content: Content, question: str, intent: str) -> None:
    found = {i.name for i in content.intents if i.matches(question)}
    assert intent in found


def test_every_intent_points_to_source_headings(content: Content) -> None:
    homes = {s.provenance.section for a in content.articles for s in a.sections}
    assert content.intents
    for intent in content.intents:
        assert intent.sections and set(intent.sections) <= homes, intent.name


# ---------------------------------------------------------------- places


@pytest.mark.parametrize(("text", "nation"), [
    ("Cardiff school, do I refer to social services", "wales"),
    ("youth club in Glasgow, a lad has a nude on his phone", "scotland"),
    ("primary in Belfast", "northern-ireland"),
    ("Swansea coach here", "wales"),
    ("I work for Police Scotland", "scotland"),
    ("PSNI officer asking about outcome 21", "northern-ireland"),
    ("Leeds secondary, year 9", "england"),
    # Typed in lower case, a place that is no everyday word still counts.
    ("what about for a school in belfast", "northern-ireland"),
    ("edinburgh secondary, pupil (15) shared a nude of his gf, is that illegal", "scotland"),
    ("im a coach in swansea", "wales"),
])
def test_places_name_their_nation(ix: OpenIndex, content: Content, text: str, nation: str) -> None:
    assert compile_places(content.places).nations(text) == {nation}
    assert understand(ix, text).nation == nation


@pytest.mark.parametrize("text", [
    "he took photos of her in the bath",  # an everyday word, not the city
    "my son angus sent a pic to a derby fan",  # a first name, a match
    "a school in Cardiff and one in Glasgow",  # two nations: none is chosen
    "what do I do",
])
def test_everyday_words_and_mixed_places_name_no_nation(ix: OpenIndex, text: str) -> None:
    assert understand(ix, text).nation is None


@pytest.mark.parametrize(("text", "nations"), [
    ("a school in Cardiff and one in Glasgow", ("scotland", "wales")),  # places, in a fixed order
    ("is it the same in Scotland as in England for a club in Swansea", ("scotland", "england", "wales")),
    ("he took photos of her in the bath", ()),
])
def test_a_query_keeps_every_nation_it_names_or_places_named_first(ix: OpenIndex, text: str,
                                                                    nations: tuple[str, ...]) -> None:
    assert understand(ix, text).nations == nations


def test_a_place_sets_the_nation_of_an_answer(ix: OpenIndex) -> None:
    reply = answer(ix, "Cardiff school, do I refer to social services")
    assert reply.answered and reply.nation == "wales"


# ---------------------------------------------------------------- urgency cue families

@pytest.mark.parametrize("question", ["he told me he's going to take his own life",
                                      "my student says she is going to kill herself"])
def test_words_of_intent_to_die_are_urgent_on_their_own(ix: OpenIndex, question: str) -> None:
    reply = answer(ix, question)
    assert reply.urgent and reply.answered and reply.contacts[0].phone == "999"


def test_intent_to_die_is_urgent_on_its_own_but_not_in_planning_words(cues: Cues) -> None:
    # A model that never flags anything: only the rule for words of intent to die is left.
    silent = UrgencyModel(feature_names(cues), (0.0,) * len(feature_names(cues)), -30.0, 0.5, 0.25, 0.9)
    assert assess(silent, cues, ["he told me he's going to take his own life"], {}, None).urgent
    assert not assess(silent, cues, ["what should our policy say if a pupil says she wants to die"], {}, None).urgent
    assert not assess(silent, cues, ["she took photos of her new trainers"], {}, None).urgent


def test_the_fallback_rule_needs_a_threat_and_a_time_unless_life_is_at_risk(cues: Cues) -> None:
    assert rule(cues, cues.matched("she says she wants to die"))
    assert rule(cues, cues.matched("he is parked outside the school right now"))
    assert not rule(cues, cues.matched("he is parked outside the school"))
    assert not rule(cues, cues.matched("last year a pupil went missing, what should our policy say"))


@pytest.mark.parametrize("question", [
    "how do we train staff to spot a child at risk after nudes are shared",
    "last year a pupil went to meet a man: what should our policy say",
])
def test_calm_questions_sharing_words_with_emergencies_stay_calm(ix: OpenIndex, question: str) -> None:
    assert not answer(ix, question).urgent


# ---------------------------------------------------------------- the examples users tried


@pytest.mark.parametrize(("question", "nation", "wanted"), [
    ("do I need to tell the police?", "wales", {EMERGENCY, "Recognising concerns", "Procedures"}),
    ("is it illegal for two 16 year olds to send each other nudes", None, {"Sharing indecent images of children"}),
    ("what is the right response when a child tells me about a nude", None,
     {EMERGENCY, "Recognising concerns", IMAGE, "Talking to a young person who has been involved in sexting"}),
    ("Cardiff school, do I refer to social services", None, {EMERGENCY}),
])
def test_examples_users_tried_are_answered_from_the_right_section(
        ix: OpenIndex, question: str, nation: str | None, wanted: set[str]) -> None:
    assert section_of(ix, question, nation=nation) in wanted


@pytest.mark.parametrize("question", ["a 40 year old man is asking my pupil for nudes",
                                      "a teacher has been messaging a pupil asking for photos"])
def test_an_adult_asking_a_child_for_images_finds_the_referral_criteria_first_or_second(
        ix: OpenIndex, question: str) -> None:
    # The learned ranking puts talking to the young person first for these; the referral criteria must follow.
    sections = [h.source.section for h in search(ix, question).hits[:2]]
    assert EMERGENCY in sections and "Overview" not in sections


def test_a_question_about_ages_is_not_sent_to_criminal_responsibility(ix: OpenIndex) -> None:
    hits = search(ix, "is it illegal for two 16 year olds to send each other nudes").hits
    assert "responsib" not in hits[0].heading.lower()


def test_who_do_i_tell_finds_the_guidance(ix: OpenIndex) -> None:
    hits = search(ix, "who do I tell").hits
    assert hits and hits[0].source.section in {EMERGENCY, "Recognising concerns", "Procedures"}


# ---------------------------------------------------------------- follow-ups that listen


def test_a_new_question_that_stands_alone_is_answered_on_its_own(ix: OpenIndex) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?")
    second = answer(ix, "can I look at it?", context=first.context)
    assert second.section is not None and second.section.provenance.section == IMAGE


@pytest.mark.parametrize("follow_up", ["and in Scotland?", "wat abt scotland", "how about in scotland"])
def test_and_in_a_nation_keeps_the_topic_and_changes_the_law(ix: OpenIndex, follow_up: str) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?", nation="england")
    second = answer(ix, follow_up, context=first.context)
    assert second.section == first.section
    assert second.nation == "scotland"
    assert second.legislation and all("scotland" in item.nations for item in second.legislation)


@pytest.mark.parametrize("follow_up", ["what about if he's 17?", "what if he's 17?", "but what if she sent it herself?",
                                       "if she's 17 does that change it"])
def test_a_follow_up_about_another_age_keeps_the_topic(ix: OpenIndex, follow_up: str) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?")
    second = answer(ix, follow_up, context=first.context)
    assert second.section == first.section


def test_and_in_another_nation_answers_the_topic_as_it_stands_there(ix: OpenIndex) -> None:
    # Every section about some nations only, asked where it applies, then "and in <another nation>?": the answer
    # applies where the user now asks about, and keeps the source section when it has a version there.
    placed = [s for a in ix.content.articles for s in a.sections if s.nations and s.provenance.section]
    assert len(placed) >= 10
    kept = 0
    for section in placed:
        first = answer(ix, section.heading, nation=section.nations[0], context=None)
        for other in (n for n in NATIONS if n not in section.nations):
            second = answer(ix, f"and in {NATION_NAMES[other]}?", context=first.context)
            assert second.nation == other and second.section is not None
            assert not second.section.nations or other in second.section.nations, (section.heading, other)
            versions = [s for a in ix.content.articles for s in a.sections
                        if s.provenance.section == section.provenance.section and (not s.nations or other in s.nations)]
            if first.section is section and versions:
                assert second.section.provenance.section == section.provenance.section, (section.heading, other)
                kept += 1
    assert kept >= 10


def test_a_follow_up_that_says_only_what_it_wants_is_answered_on_its_own(ix: OpenIndex) -> None:
    first = answer(ix, "do i have to tell her parents", nation="england")
    for question in ("who do i call?", "what do I do?"):
        second = answer(ix, question, context=first.context)
        assert second.section is not None and second.section is not first.section
        assert second.section is answer(ix, question, nation="england").section


def test_a_follow_up_naming_its_own_subject_is_answered_on_its_own(ix: OpenIndex) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?", nation="england")
    for question in ("and what about the parents?", "what about England, is there that outcome 21 thing"):
        second = answer(ix, question, context=first.context)
        alone = answer(ix, question, nation="england")
        assert second.section is not first.section and second.section is alone.section, question


def test_a_follow_up_that_turns_the_topic_is_answered_with_the_topic_in_mind(ix: OpenIndex) -> None:
    # "mum and dad" shares no word with the parents section's heading, so the follow-up leans on the question before;
    # it still asks something new, and the topic's heading and the follow-up ranked together answer it.
    first = answer(ix, "a girl in year 9 sent a nude to her boyfriend", nation="england")
    second = answer(ix, "and what do i say to her mum and dad", context=first.context)
    assert second.section is not None and second.section is not first.section
    assert "parents" in second.section.heading.lower()


@pytest.mark.parametrize(("before", "follow_up", "nation"), [
    ("a pupil sent a nude to her boyfriend and he shared it", "and the law here?", "wales"),
    ("who should I tell?", "and the law here?", "northern-ireland"),
    ("should we tell her parents?", "and the boy who shared it?", "england"),
])
def test_a_follow_up_the_guidance_answers_on_its_own_never_repeats_the_last_answer(
        ix: OpenIndex, before: str, follow_up: str, nation: str) -> None:
    # Blind testers saw "and the law here?" bring back the answer before it, word for word: a follow-up with words
    # of its own that the guidance answers alone is answered so, with the nation the conversation is in.
    first = answer(ix, before, nation=nation)
    second = answer(ix, follow_up, context=first.context)
    alone = answer(ix, follow_up, nation=nation)
    assert alone.answered and second.section is not first.section, follow_up
    assert second.section is alone.section and second.nation == nation, follow_up


def test_a_follow_up_the_conversation_vouches_for_is_answered_from_its_own_words(ix: OpenIndex) -> None:
    # Alone, "how do I get it deleted" is too vague to answer; after a nude was shared, it asks about removal.
    first = answer(ix, "a pupil sent a nude to her boyfriend and he shared it", nation="wales")
    second = answer(ix, "how do I get it deleted", context=first.context)
    assert second.section is not None and second.section is not first.section
    assert second.section.provenance.section == "Getting an explicit image removed from the internet"


@pytest.mark.parametrize("question", ["should i call the police", "do i need to phone the police",
                                      "should we ring social services"])
def test_asking_whether_to_contact_the_police_or_social_services_is_answered_on_telling(
        ix: OpenIndex, question: str) -> None:
    # "phone" is a verb here, not the device a school may search; and the question is this guidance's own.
    found = answer(ix, question, nation="england")
    assert found.answered and found.section is not None
    assert found.section.provenance.section in {EMERGENCY, "Recognising concerns", "Procedures"}
    assert search(ix, question).hits[0].source.section in {EMERGENCY, "Recognising concerns", "Procedures"}


def _named(ix: OpenIndex, phrase: str) -> Section:
    return next(s for a in ix.content.articles for s in a.sections if phrase in s.subject)


@pytest.mark.parametrize(("question", "nation", "phrase"), [
    ("cyberflashing", None, "cyberflashing"), ("is cyberflashing illegal in scotland", None, "cyberflashing"),
    ("dick pics", "wales", "dick pic"), ("upskirting law", "northern-ireland", "upskirting"),
    ("what is the age of criminal responsibility?", "scotland", "age of criminal responsibility")])
def test_a_question_naming_the_subject_of_a_section_from_another_source_is_answered_from_it(
        ix: OpenIndex, question: str, nation: str | None, phrase: str) -> None:
    section = _named(ix, phrase)
    assert not section.provenance.section  # the bank's labels never name it: the ranking alone would not
    assert answer(ix, question, nation=nation).section is section
    assert search(ix, question, nation=nation).hits[0].heading == section.heading


def test_a_named_subject_answers_only_where_its_section_applies_and_when_nothing_else_is_asked(
        ix: OpenIndex) -> None:
    assert answer(ix, "upskirting law", nation="england").section is not _named(ix, "upskirting")
    asked_more = answer(ix, "a boy sent a dick pic to a girl in year 8, do we tell her parents?", nation="england")
    assert asked_more.section is not _named(ix, "dick pic")


def test_a_section_from_another_document_about_the_law_shows_its_law(ix: OpenIndex) -> None:
    reply = answer(ix, "At what age can a child be held criminally responsible?", nation="scotland")
    assert reply.section is _named(ix, "age of criminal responsibility")
    assert "acrsa-2019" in [item.id for item in reply.legislation]


@pytest.mark.parametrize("nation", ["scotland", "northern-ireland"])
def test_a_section_for_other_nations_only_is_answered_where_the_user_is(ix: OpenIndex, nation: str) -> None:
    # England and Wales's outcome 21 is no answer to a user in Scotland or Northern Ireland who names no nation...
    reply = answer(ix, "Will the young person get a criminal record?", nation=nation)
    assert reply.section is not None and (not reply.section.nations or nation in reply.section.nations)
    assert answer(ix, "Will the young person get a criminal record?", nation="england").section.nations
    # ...but a question naming what only those nations have asks of it, wherever the user is.
    for question in ("What does outcome 21 mean?", "does outcome 21 apply in scotland"):
        asked = answer(ix, question, nation=nation)
        assert asked.section is not None and asked.section.provenance.section == "Outcome 21", question


def test_a_follow_up_about_a_concern_the_guidance_does_not_cover_is_judged_on_its_own(ix: OpenIndex) -> None:
    first = answer(ix, "does our club need a policy on nudes", nation="england")
    second = answer(ix, "what about FGM, what goes in the policy for that?", context=first.context)
    assert not second.answered


@pytest.mark.parametrize(("question", "nation"), [("do I need to tell the police?", "wales"),
                                                  ("should we ring social services", "england")])
def test_a_calm_question_on_telling_gets_whom_to_tell_not_the_999_step(
        ix: OpenIndex, question: str, nation: str) -> None:
    emergency = ix.content.emergency_section()
    assert emergency is not None
    calm = answer(ix, question, nation=nation)
    assert not calm.urgent and calm.section is not None and calm.section is not emergency[1]
    assert calm.section.provenance.section == emergency[1].provenance.section
    assert answer(ix, "when should I call 999?", nation=nation).section is emergency[1]


def test_a_question_pointing_back_at_the_conversation_is_answered_with_it_in_mind(ix: OpenIndex) -> None:
    question = "she begged me not to tell anyone - do i have to?"
    assert not answer(ix, question, nation="england").answered  # alone, nothing says what it is about
    first = answer(ix, "a 13 year old told me a 30 year old man has been asking her for nudes", nation="england")
    assert answer(ix, question, context=first.context).answered
    parents = answer(ix, "what do i say to his parents?", context=first.context)
    assert parents.section is not None and "parents" in parents.section.heading.lower()


def test_a_question_pointing_back_is_read_with_the_topic_it_points_at(ix: OpenIndex) -> None:
    first = answer(ix, "a 13 year old told me a 30 year old man has been asking her for nudes", nation="england")
    assert first.section is not None
    # Alone, the scope model reads it far outside; asked with the topic's heading, within the conversation's bar.
    question = "she begged me not to tell anyone - do i have to?"
    query = understand(ix, question)
    assert rank(ix, query, "england").in_scope < ix.tuning.leaning_scope
    assert _with_topic(ix, first.section, query, "england").in_scope >= ix.tuning.leaning_scope
    assert answer(ix, question, context=first.context).answered


def test_a_question_aside_is_still_declined_and_the_conversation_keeps_its_topic(ix: OpenIndex) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?", nation="england")
    aside = answer(ix, "how do I report a data breach to the ICO?", context=first.context)
    assert not aside.answered
    after = answer(ix, "and in Scotland?", context=aside.context)
    assert after.nation == "scotland" and after.section is not None
    assert after.section.provenance.section == first.section.provenance.section


@pytest.mark.parametrize(("first", "follow_up", "criterion"), [
    ("a pupil showed me a nude on her phone, can i look at it?", "what if she's 12?", "under-13"),
    ("how do i talk to the boy who shared it?", "what if he turns out to be an adult?", "adult"),
    ("two 15 year olds swapped nudes, how do I support them", "what if one of them is 19?", "adult")])
def test_a_follow_up_giving_an_age_that_meets_a_referral_criterion_answers_from_it(
        ix: OpenIndex, first: str, follow_up: str, criterion: str) -> None:
    assert ix.content.tools is not None
    link = next(q.link for q in ix.content.tools.decide.criteria if q.id == criterion)
    found = ix.content.section(link.removeprefix("/articles/"))
    assert found is not None
    before = answer(ix, first, nation="england")
    assert before.section is not found[1]
    assert answer(ix, follow_up, context=before.context).section is found[1]


def test_an_age_after_a_law_question_keeps_the_law(ix: OpenIndex) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?", nation="england")
    for follow_up in ("what if he's 19?", "what if she's 12?"):
        assert answer(ix, follow_up, context=first.context).section is first.section, follow_up


def test_a_new_subject_after_a_law_question_leaves_the_law_behind(ix: OpenIndex) -> None:
    first = answer(ix, "is it illegal for a child to share a nude?")
    second = answer(ix, "how do I get a photo taken down from a website", context=first.context)
    assert second.section is not None
    assert second.section.provenance.section == "Getting an explicit image removed from the internet"
