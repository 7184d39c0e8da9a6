"""Issue 12: the urgency detector. Each cue family finds cases of its own, the words' model learns and leaves a
writer out, the thresholds keep every train emergency at least "maybe urgent", an urgent question is never
answered "not covered", and crisis lines are listed only where a child is at risk of suicide or self-harm now."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import OpenIndex, answer, search
from kb.analysis import stems
from kb.answering import _asked, contacts_for
from kb.choosing import STRATEGIES, Asked
from kb.classify import folds
from kb.conversation import Context
from kb.index import Memo
from kb.memory import Labelled, Memory
from kb.model import RISKS, Content
from kb.parse_data import parse_contacts
from kb.parse_signals import parse_intents, parse_urgency
from kb.rank import ADULTS, Model
from kb.rank_fit import fit_logistic
from kb.ranked import Ranking, settled
from kb.tuning import DEFAULT
from kb.understand import understand
from kb.urgency import (
    SEMANTIC,
    Cues,
    Urgency,
    UrgencyModel,
    assess,
    certain,
    design,
    feature_names,
    fit,
    held_out_scores,
    row,
    rules_floor,
    sentence_stems,
    wordless,
)
from kb.urgency_text import TextModel, cross_scores, fit_text, ngrams

# Cases written for these tests (not taken from the bank or the shared sets): each family finds the first list
# and none of the second.
FAMILY_CASES = {
    "danger_to_life": (["she has swallowed sum tablets", "he drank bleach at lunch",
                        "she keeps scratching herself with a pen lid", "two boys are holding him down in the yard",
                        "they are pinning his arms down and filming", "a younger scout was pinned down",
                        "he posted sorry for everything and logged off", "she ran towards the railway",
                        "he is on the top deck of the car park", "she says she wants to die",
                        "he has a razor in his bag", "she's on the bridge",
                        "threatening to run into the road", "a child next door is being hurt",
                        "empty pill packets by his bed", "she is really drowsy and we can't wake her up",
                        "he is out on the balcony on the 9th floor", "he googled ways to die",
                        "blood coming through her sleeves in PE", "can u OD on ibuprofen",
                        "he searched painless ways", "his antidepressant box is empty", "she's hard to wake",
                        "new cuts all up her arm", "blood coming through the cuff of his shirt"],
                       ["she took her tablet to the library", "paint coming through her sleeves",
                        "we bleached the changing room floor",
                        "how to keep yourself safe online",
                        "she sent a photo of her new trainers", "he was hurt at rugby last season",
                        "the odd one out on the team", "the box of pens is empty"]),
    "intent_to_die": (["he told me he's going to take his own life", "she says she wants to die",
                       "a pupil is threatening to self-harm", "he keeps saying he doesn't want to be alive",
                       "i dont want to be here"],
                      ["she is dying to go to the party", "he harmed his chances",
                       "she threatened to self-harm last year", "she didn't want to be here after it happened"]),
    "farewell": (["she posted her final message and logged off", "he said we'd all be better off without him",
                  "my daughter keeps saying she's a burden", "he has written letters to his family",
                  "she says she wants it all to stop", "he told his brother who gets his games",
                  "she asked me how many paracetamol it takes", "this is the last time u'll hear from me",
                  "he won't be around for the match on saturday, he said", "she texted tell everyone im sorry",
                  "he asked me if drowning hurts", "she messaged cant go on", "he says he's had enough",
                  "she's had enough of everything",
                  "she'll make it stop herself", "he gave away his phone and hoodie", "she's logging off for good",
                  "i'll just not exist then", "the song she wants at her funeral", "how many of her mum's tablets",
                  "she gave her mates all her jewellery", "her message said dont worry about me anymore",
                  "when im gone delete my pics", "by the time you read this it'll be over",
                  "her bio just says 'gone. sorry mum'"],
                 ["the final whistle went", "i can't go on like this with the marking", "we've had enough rain",
                  "don't worry about me, I'll get the bus",
                  "make it stop raining", "we gave the winners presents", "that page does not exist",
                  "he's had enough of football", "they've had enough of the noise",
                  "he has a plan for his revision", "we love her and want to help",
                  "she sent the last photo to her friend", "who gets the minibus on friday",
                  "she won't be at training on monday", "sorry, mum's running late", "it's been really busy"]),
    "person_near": (["the men who filmed him are still in there", "a man outside in a white van asked for him",
                     "he told her to come to his car after training", "she is with him in his car now",
                     "a man tried to collect a pupil from the gate",
                     "he won't let her leave the flat", "the man is across the road from the club",
                     "he is parked outside the school", "the man is on his way to meet her",
                     "a meeting arranged with an adult off Discord", "she is being made to strip on camera",
                     "hes comin 2 the house", "mum's boyfriend has just taken the 8yo upstairs",
                     "he says he'll come to the school tomorrow", "the boy is being groomed online right now",
                     "he's still there by the changing rooms", "her older brother is making them get changed on video",
                     "sum1 livestreamin abuse of a kid rn", "the dad is still on poolside", "dad is at the gate",
                     "a man keeps booking the same room", "two girls have just gone up to his room",
                     "he has booked her an uber to his flat", "a lad from online is following me home",
                     "the message said i'm outside, come out", "the coach is driving her home tonight",
                     "he texted her on my way", "a man at the fence is calling the girls over",
                     "someone's following her home"],
                    ["her nan collects her on Fridays", "her dad collected her as usual",
                     "she was told to take her coat off", "she took her friends into the hall for assembly",
                     "she still goes there on Saturdays", "we made them change for PE",
                     "an e-learning course on live streaming and grooming", "we booked a coach for the trip",
                     "she follows him on instagram", "she drives home after work", "he texted her happy birthday"]),
    "missing": (["kid missing since the end of practice", "our girl is missing, phone off",
                 "nobody's seen him since registration", "she hasn't come home", "we can't find him anywhere",
                 "he has run away", "16 yr old not back from evening leave", "we've started the missing procedure",
                 "she was due back by 8 and it's gone 11", "he's not answering his phone",
                 "foster child not back", "she hasn't replied since this morning", "she isnt picking up",
                 "he stopped responding mid-chat"],
                ["he keeps missing homework deadlines", "she missed the bus to school",
                 "she has left school and started college", "can we take her phone off her at night",
                 "one mum hasn't returned the consent form", "ceiling down and the landlord not answering",
                 "the pupil is not back in school till May",
                 "a consequence for going missing", "signs of grooming - going missing, new phone",
                 "the council still hasn't answered the complaint", "the minibus is picking up at 9",
                 "she stopped the car"]),
    "demand_deadline": (["send more by midnight or he posts them", "pay him by 9pm or else",
                         "a scammer is blackmailing my son right now",
                         "the blackmailer keeps sending new demands",
                         "he keeps asking her for pics right now", "he says if she doesnt send more he posts them",
                         "he'll leak them unless she pays", "send a topless or it goes on the page",
                         "the threats are still coming in", "he's threatening to upload them tonight",
                         "sextortion in progress, Y9 boy", "blackmail ongoing", "the extortion is still active",
                         "Y8 girl, sextortion, live", "boy 14 being blackmailed currently",
                         "they want £80 from him and the demand is for tonight"],
                        ["the form deadline is Friday", "unless the weather turns we go ahead",
                         "send a consent form or they can't go", "he threatened to post them last week",
                         "if she doesn't go to school we ring home",
                         "we send a newsletter every few weeks", "what ongoing support after the blackmail",
                         "the sextortion case is closed", "we live in Belfast, what is sextortion",
                         "she was blackmailed last year, currently doing well", "the demand for places is high"]),
    "afraid_home": (["she's scared to go home because he'll be there", "he won't go home",
                     "a pupil begging not to be sent home", "please don't make me go home",
                     "she wants to stay at school tonight"],
                    ["she went home at 3"]),
    "happening_now": (["she's hiding in the office from him", "the man is telling her to undress on camera now",
                       "mae'n digwydd nawr",
                       "it's happening right now on a video call", "please help me", "can u come and get me",
                       "mum pick me up pls", "abuse going on over a zoom call", "it's happening in the toilets now",
                       "they've got him cornered n they r filming", "a man has a phone under the shower cubicle wall",
                       "two lads are in the changing room making a younger boy strip",
                       "a man from the game is following me home", "hide me hes back",
                       "she begged us to hide her from her dad", "a girl is begging me to ring the police",
                       "self harm in progress", "he's messaging her as I type", "the grooming is still going on",
                       "a pupil being sextorted right now"],
                      ["she told me about a call last month", "we had a call about it last week",
                       "her gran will pick her up at six", "the drama club filmed their play for parents",
                       "making sure no child has to strip in front of others in PE", "she is following the plan",
                       "she's back at school after half term", "she hides her phone from her mum",
                       "he's back at school after his exclusion", "the police investigation is in progress",
                       "ongoing support after self-harm"]),
    "filming_now": (["a man is filming the kids in the changing room", "year 7 girl being photographed in the toilets",
                     "he keeps taking pictures of them getting changed", "lads holding a phone over the shower cubicle",
                     "a carer is videoing a disabled lad in the bath and still doing it",
                     "getting filmed in the showers", "someone's phone is propped up in the girls changing room",
                     "a livestream from inside the toilets"],
                    ["a boy filmed a girl in the changing room last year", "what does the law say about upskirting",
                     "a girl is filming herself in the bathroom for her boyfriend", "they are filming a dance",
                     "a photo taken in the showers was shared round year 9", "we live stream our home matches",
                     "her phone was propped up on her desk"]),
    "medical_now": (["baby not breathing", "the toddler has gone floppy and blue",
                     "a boy in my class is having a seizure", "kid collapsed at the bus stop",
                     "my little sister is choking", "lad (15) found unconscious",
                     "not breathing, the baby"],
                    ["adult swimmer not breathing", "she's 23 and just collapsed", "our daughter (29) collapsed",
                     "someone filmed my son having a seizure and posted it", "how do we store EpiPens",
                     "she said she can't breathe when she thinks about the pics"]),
    "soon": (["she's meeting him tonight", "school finishes in 20 minutes", "he is about to send it round",
              "the man is working with her for the rest of the afternoon", "hes sharing them 2nite"],
             ["in the summer holidays", "what is the law about sending nudes"]),
    "planning": (["what should our policy say", "staff training on this", "a child missing education referral"],
                 ["she is crying in my office", "he took a player into his van after training",
                  "she texted our guidance base", "in the middle of my lesson a girl ran out crying"]),
    "past": (["she was found safe by police on Sunday", "it's all over now but we want to learn from it",
              "we are writing a case review", "last year a pupil went missing", "she was found safe",
              "he went missing for an hour but it turned out he was at a friend's", "she ran off once in 2023",
              "she's medically stable now", "he came back this morning", "we are reviewing the case",
              "he goes missing after school most days", "she has gone missing overnight twice this month",
              "back in year 7 she sent a photo"],
             ["she is still not answering", "she is missing", "she never came back from the party",
              "messages from a girl who turned out to be a man",
              "he hasn't come back", "my 15 year old just came back in tears"]),
    "fiction": (["a film about grooming for our sixth form", "the storyline in the soap",
                 "a tv programme about sextortion", "our school play has a scene about it"],
                ["they want me in the car to film", "he is filming her now",
                 "he makes me film stuff with his friends tonight", "she pointed at it in her communication book",
                 "they play online together every night", "the tv room on the ward"]),
    "hypothetical": (["what if a pupil said that", "how many children are affected", "inspectors asked how we'd cope",
                      "when does a child count as missing from care"],
                     ["she said it", "what do I do if someone is blackmailing me right now"]),
    "adults_only": (["my flatmate's ex is sharing her photos", "a colleague was sent an explicit image",
                     "my ex put my intimate videos online, I'm 31", "is it legal for two adults to swap nudes",
                     "our receptionist (44) is being blackmailed over a video call",
                     "helpline for men being sextorted", "adult sextortion happening now",
                     "he says he'll post her pics tonight, she's 38",
                     "my friend is 28 and says she will kill herself tonight",
                     "a man (30s) is slumped in the doorway", "the guest, a woman in her late forties, is on the ledge",
                     "my manager is in his fifties and says he has nothing left", "a customer, early 20s, is sobbing",
                     "the driver is 50ish and not moving", "my neighbour is a pensioner and a man is at her door",
                     "she's about 40 and scared to go home", "my brother's 26 and went missing after a night out",
                     "a 34-year-old man says someone has intimate videos of him",
                     "our son (22) is at a stranger's flat", "my stepdaughter turned 21 and sells pics online",
                     "my 23 year old son has gone missing after a night out"],
                    ["a pupil's photo was shared", "a 40 year old man keeps asking my pupil for pics",
                     "hes 21 and wants me to skip detention to meet him", "everyone in my year has seen it, hes 24",
                     "im grounded but hes 20 and says come out tonight",
                     "her boyfriend's son is 20 and says he'll come to my room tonight, i'm 14",
                     "Jayden (15) and his girlfriend, both 15, sent pics", "I'm 30 and my son (14) sent a nude",
                     "she is 16 and he is 22", "a camper is talking to a 25yo online",
                     "two of our scouts are chatting to a 30 year old",
                     "a man of 40 is messaging a girl in S2",
                     "my 15 year old is with a lad of 19 outside the caravan, my husband's out with the car",
                     "a colleague passed on a report of nudes swapped between two Year 10s",
                     "a man in his 40s drove off with a 13 year old", "a man (20s) is waiting for her outside school",
                     "her uncle, late thirties, keeps texting my daughter", "he's about 19 and she's in year 9",
                     "the babysitter (in her 20s) is alone with him", "a man (40s) keeps messaging my 8 year old",
                     "my daughter turned 18 but the pics were sent when she was 15",
                     "nephew 13, some 25yo bloke is asking him for vids",
                     "my son (13) is being bullied by a 20 year old",
                     "my son's friend is at a cafe with a 30-year-old he met online"]),
}


# Welsh, as people in Wales type it (written for this test, not taken from the bank): each family finds the first
# list and none of the second.
WELSH_CASES = {
    "danger_to_life": (["mae hi'n dweud ei bod hi eisiau marw", "mae o ar ben y bont", "mae e wedi llyncu tabledi",
                        "mae hi wedi bod yn niweidio ei hun"],
                       ["mae hi'n defnyddio'r tabledi yn y wers", "mae'r bont ar gau heddiw"]),
    "farewell": (["anfonodd 'diolch am bopeth' a diffodd ei ffôn", "postiodd 'hwyl fawr i bawb' ar ei stori"],
                 ["diolch am y wybodaeth", "hwyl fawr, welai di fory"]),
    "missing": (["mae ein merch 14 oed ar goll", "dydi o ddim wedi dod adre ers neithiwr",
                 "dan ni ddim yn gwybod lle mae o", "dim syniad ble mae hi"],
                ["mae hi wedi colli ei ffôn", "mae hi wedi dod adre o'r ysgol",
                 "dw i ddim yn gwybod ble mae'r ffurflen"]),
    "person_near": (["mae dyn yn aros tu allan i'r ysgol", "mae hi wedi mynd i gwrdd â dyn o snapchat"],
                    ["mae hi'n aros am y bws", "mae'r plant yn chwarae yn yr ysgol",
                     "mae'r bws tu allan i'r ysgol nawr"]),
    "demand_deadline": (["rhaid iddi anfon mwy erbyn hanner nos neu bydd e'n eu rhannu",
                         "mae e'n ei flacmelio fe nawr"],
                        ["rhaid anfon y ffurflen erbyn yfory", "cafodd ei flacmelio y llynedd"]),
    "afraid_home": (["mae hi ofn mynd adre heno", "mae e'n gwrthod mynd adref"],
                    ["mae hi'n mynd adre ar y bws"]),
    "happening_now": (["plis helpwch fi", "mae'n digwydd rŵan hyn"], ["helpwch ni i drefnu'r daith"]),
    "soon": (["mae e'n dod i'w nôl hi heddiw", "mae'r gloch yn canu mewn 10 munud"],
             ["fe ddigwyddodd ddwy flynedd yn ôl"]),
    "planning": (["sut dylai ein polisi ymdrin â hyn", "hyfforddiant i staff"], ["mae e'n mynd i wersylla"]),
    "past": (["digwyddodd hyn y llynedd", "mae hi'n saff nawr", "mae'r cyfan drosodd"],
             ["mae hi ar ei phen ei hun nawr"]),
    "hypothetical": (["cwestiwn damcaniaethol i'r staff"], ["mae hi'n gofyn cwestiwn i'r staff"]),
}


@pytest.mark.parametrize(("family", "cases"), [
    *(pytest.param(f, FAMILY_CASES[f], id=f) for f in sorted(FAMILY_CASES)),
    *(pytest.param(f, WELSH_CASES[f], id=f"{f}-welsh") for f in sorted(WELSH_CASES)),
])
def test_each_cue_family_finds_its_own_cases_and_only_them(cues: Cues, family: str,
                                                          cases: tuple[list[str], list[str]]) -> None:
    found, missed = cases
    for text in found:
        assert family in cues.matched(text), text
    for text in missed:
        assert family not in cues.matched(text), text


# Cues urgent whatever the model makes of the rest (written for this test), and the same themes with a calm cue.
CERTAIN = ["our 12 year old is missing and her phone is off", "can you come and get me, he won't let me leave",
           "she has run off to meet him tonight", "he says he is going to kill himself",
           "a pupil posted 'everyone would be better off without me' on her story",
           "a man is photographing the children in the pool changing village",
           "kms", "unalive myself", "am gonnae top masel", "i want to self harm", "Dw i eisiau marw",
           "nobody would care if i was gone", "baby is floppy and not breathing"]
NOT_CERTAIN = ["last year a pupil went missing", "our procedure for a child missing from school",
               "what if a child says come and get me", "she is meeting him tonight",
               "last year a pupil said everyone would be better off without her, how should our policy cover that?",
               "our induction covers what to do if a child is being filmed in the toilets",
               "a man (40) is filming his adult neighbour in the shower",
               "last week a pupil collapsed in PE, what should our first aid policy say"]


def test_missing_a_threat_happening_now_two_threats_now_or_a_goodbye_are_urgent_without_a_calm_cue(cues: Cues) -> None:
    model = UrgencyModel(feature_names(cues), (0.0,) * len(feature_names(cues)), -20.0, 0.5, 0.25)
    for text in CERTAIN:
        assert certain(cues, cues.matched(text)), text
        assert assess(model, cues, (text,), {}, None).urgent, text
    for text in NOT_CERTAIN:
        assert not certain(cues, cues.matched(text)), text
        assert not assess(model, cues, (text,), {}, None).urgent, text



def test_the_safety_rules_need_the_model_to_give_a_question_some_chance(cues: Cues) -> None:
    # A question that only shares the rules' words (a dog gone missing) scores near nothing; the rules
    # make urgent what the model scores from the floor up, and everything when there is no floor (an old index).
    low = UrgencyModel(feature_names(cues), (0.0,) * len(feature_names(cues)), -20.0, 0.5, 0.25)
    for text in CERTAIN:
        assert assess(low, cues, (text,), {}, None).urgent, text
        below = assess(replace(low, floor=0.01), cues, (text,), {}, None)
        # ruled: a search still reads the encoder's evidence. A child seriously ill or hurt now needs no floor.
        assert below.urgent is ("medical_now" in cues.matched(text)) and below.ruled, text
        assert assess(replace(low, bias=-4.0, floor=0.01), cues, (text,), {}, None).urgent, text
    assert UrgencyModel.from_dict(replace(low, floor=0.02).as_dict()).floor == 0.02
    assert UrgencyModel.from_dict({k: v for k, v in low.as_dict().items() if k != "floor"}).floor == 0.0


def test_the_rules_floor_is_half_the_least_urgent_looking_emergency_they_catch() -> None:
    p = np.array([0.9, 0.04, 0.3, 0.01, 0.002, 0.5])
    y = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    ruled = np.array([True, True, False, True, False, True])
    # The emergency at 0.002 is not one the rules catch, and calm questions never set the floor.
    assert rules_floor(p, y, ruled, 0.5) == pytest.approx(0.02)
    assert rules_floor(p, y, np.zeros(6, dtype=bool), 0.5) == 0.0


# Whose adult age it is. A young writer about an older person: the adult's age is the other person's, and the writer
# may be a child, so the question is not "only adults"...
YOUNG_WRITER_ABOUT_AN_ADULT = [
    # ...the writer's own life (my mum, home alone, revising, 16F) says so;
    "hes 25 and hes outside my house and my mum is at work",
    "a man (22) says he'll come to the house tonight, my parents take my phone at 9",
    "hes 34 and keeps messaging, im home alone till 7",
    "a guy (21) wants me to meet him in the park after revising and not tell anyone",
    "hes 27 and says hes coming round, my dads at work til 6",
    "a man (30) keeps saying sneak out tonight, ur mum wont know",
    "16F, her ex (22) is outside the unit with her pics",
    # ..."hes 22" beside "me" and "my": the adult is the one the writer is afraid of;
    "he says hes 22 and wants to meet tonight, he has my pics",
    "this guy from snap says hes 19 and hes outside my house",
    "how do i get him arrested, a 20yo is outside my house with my nudes",
    "friend told me a 24 yo guy sent her nudes round and shes not answering",
    # ...a man's age as he gives it or after a comma, with "me" or "I" before or after;
    "a man, 31, keeps saying he'll drive up and get me on saturday or he posts the video",
    "someone on discord (says hes 26) wants me on cam again tonight",
    "i blocked him but some guy, 23, still has the pics and keeps making new accounts",
    # ..."a 23 yo ... me", "the 20 yr old ... my", "..., hes 21 ... me", "meeting this man ..., hes 26": either order.
    "a 23 yo from a game told me to get on the bus to his town tonight",
    "my mate says the 20 yr old she met online has her pics and shes not answering",
    "this guy on insta, hes 21, says he is waiting at the end of my road",
    "meeting this man from discord later, hes 26, is that normal",
]
# ...but only adults are involved where the writer or the parent says they are an adult, a parent gives their own
# child's adult age, the age is that of someone the writer names by a role or employs, the writer gives their own
# (as a 30 yo) or writes as a professional, or no one at risk writes in the first person.
ONLY_ADULTS = [
    "im 19 and hes 35, my mum says the age gap is weird",
    "my mum is 58 and a man (40) is blackmailing her",
    "I'm 20 at uni and a guy (25) says he'll send a video to my parents",
    "he says hes 22 and wants to meet her tonight",
    "I'm a 31 year old teacher and a 24 year old colleague keeps sending me messages",
    "my 18 year old is going out with a 40 year old man",
    "one of my apprentices (hes 20) says someone will post a video of him unless he pays",
    "our receptionist, a man, 45, was sent explicit photos by a customer",
    "a colleague says a man (says hes 40) is sending her threats",
    "a 19 year old learner on my course says someone has her video",
    "my apprentice, hes 20, says a woman online is blackmailing him",
    "as a 30 yo trainee I was sent explicit photos by my manager",
    "paramedic - attended a 40yo whose partner shared her photos, do I refer",
]


@pytest.mark.parametrize("text", YOUNG_WRITER_ABOUT_AN_ADULT)
def test_a_young_writer_giving_an_older_persons_age_is_not_adults_only(cues: Cues, text: str) -> None:
    assert ADULTS not in cues.matched(text)


@pytest.mark.parametrize("text", ONLY_ADULTS)
def test_an_adults_age_with_no_young_writer_at_risk_is_adults_only(cues: Cues, text: str) -> None:
    assert ADULTS in cues.matched(text)


def test_a_cue_familys_unless_must_be_patterns() -> None:
    text = (Path(__file__).resolve().parent.parent / "content" / "urgency.yaml").read_text(encoding="utf-8")
    broken = parse_urgency(text.replace("    unless:\n      - ", "    unless: ", 1))
    assert any("'unless' must be a list of patterns" in p.message and p.line > 1 for p in broken.problems)
    bad = parse_urgency(text.replace("    unless:\n      - '", "    unless:\n      - '(", 1))
    assert any("unless: bad pattern" in p.message for p in bad.problems), bad.problems


def test_a_cue_family_the_code_reads_is_checked_by_name() -> None:
    # Scope reads the adults-only family too: renamed, `kb check` says so instead of the feature going quiet.
    text = (Path(__file__).resolve().parent.parent / "content" / "urgency.yaml").read_text(encoding="utf-8")
    assert parse_urgency(text).problems == ()
    renamed = parse_urgency(text.replace(f"  {ADULTS}:", "  adults_involved:"))
    assert [p.message for p in renamed.problems] == [
        f"missing cue family '{ADULTS}' (scope reads it: only adults involved)"]



def test_the_adults_at_risk_patterns_are_checked() -> None:
    text = (Path(__file__).resolve().parent.parent / "content" / "urgency.yaml").read_text(encoding="utf-8")
    assert parse_urgency(text).value.adults.adult, "the content gives the patterns"
    bad = parse_urgency(text.replace("  aged:\n      - '", "  aged:\n      - '(", 1))
    assert any("adults_at_risk aged: bad pattern" in p.message and p.line > 1 for p in bad.problems), bad.problems
    empty = parse_urgency(text.replace("\n  adult:\n", "\n  adult: []\n  unused:\n", 1))
    assert any("adults_at_risk: 'adult' must be a list of patterns" in p.message for p in empty.problems)
    assert not empty.value.adults.matches("our apprentice (19) is being blackmailed"), "no pattern, no adult"


# ---------------------------------------------------------------- the one at risk said to be an adult

# An adult's age given for the one at risk or the writer, and nothing that may be a child...
ADULT_AT_RISK = ["our apprentice (19) is being blackmailed with his video, they want money by 5pm",
                 "my 24 year old daughter says a man is outside her flat with her nudes",
                 "TA here (26), a dad keeps sending me explicit messages and is waiting in the car park now",
                 "a student who is 18 has just told me her ex will post her video tonight",
                 "I'm 22 and someone says they'll send my video to my family at 9",
                 "our 22-year-old volunteer says her ex is at the club with her photos",
                 "an adult swimmer is being photographed in the changing room right now"]
# ...and what may still be about a child.
MAYBE_A_CHILD = ["our apprentice (16) is being blackmailed with his video, they want money by 5pm",  # under 18
                 "my daughter says a man is outside her flat with her nudes, I'm 48",  # her age is not given
                 "a 22 year old man is outside my house and says he will post my pics",  # the other person's age
                 "my friend is crying in the form room, the 21 yo she was seeing posted her video",
                 "Lad at our gym, 15, says he'll end it. I'm the coach, 41.",
                 "a student who is 19 says a Year 9 girl's nudes are being shared right now",
                 "our volunteer, 22, says a boy at the club is being blackmailed"]


def test_the_one_at_risk_is_an_adult_only_when_their_age_says_so_and_nothing_may_be_a_child(cues: Cues) -> None:
    assert [t for t in ADULT_AT_RISK if not cues.adults.matches(t)] == []
    assert [t for t in MAYBE_A_CHILD if cues.adults.matches(t)] == []


@pytest.mark.parametrize(("words", "cues_read", "urgent"), [
    (["sextortion"], frozenset(), False),  # a topic searched
    (["nudes", "leaked"], frozenset(), False),
    (["nudes", "leaked", "tonight"], frozenset(), True),  # three words: something told
    (["shes", "missing"], frozenset({"missing"}), True),  # a cue family reads an emergency in two words
])
def test_a_search_of_one_or_two_words_that_no_cue_reads_is_at_most_maybe_urgent(cues: Cues, words: list[str],
                                                                                  cues_read: frozenset[str],
                                                                                  urgent: bool) -> None:
    read = Urgency(0.9, urgent=True, maybe=False, cues=cues_read)
    served, _ = settled(read, cues, " ".join(words), words, 0.9, low=False)
    assert served.urgent == urgent and (served.urgent or served.maybe)


@pytest.mark.parametrize(("cues_read", "line"), [
    (frozenset({"person_near", "soon"}), True),  # someone outside now: a danger named
    (frozenset({"demand_deadline"}), True),
    (frozenset({"intent_to_die", "past"}), True),
    (frozenset({"soon"}), False),  # only a time: nothing names a danger
    (frozenset(), False),
])
def test_a_danger_named_for_an_adult_gets_the_line_though_the_models_read_it_calm(cues: Cues,
                                                                                    cues_read: frozenset[str],
                                                                                    line: bool) -> None:
    # The models learnt adults' questions as calm (they are out of scope): the danger the words name decides.
    text = "I'm 24 and my ex is outside my flat with my nudes"
    calm = Urgency(0.01, urgent=False, maybe=False, cues=cues_read)
    served, answers = settled(calm, cues, text, text.split(), 0.9, low=False)
    assert (served.maybe, served.adult) == (line, line)
    assert not served.urgent and answers == (0.0 if line else 0.9)


@pytest.mark.parametrize("told", [
    "My {} year old daughter has just rung: a man has her nudes and is outside her flat now, she is terrified",
    "One of our apprentices, {}, has just said she will end her life tonight because her ex posted her nudes",
    "A student who is {} is in my office: someone has his nudes and wants 300 pounds by 6 tonight or they go out",
])
def test_an_emergency_of_someone_said_to_be_an_adult_gets_the_line_and_a_plain_decline(ix: OpenIndex,
                                                                                      told: str) -> None:
    child = answer(ix, told.format(15))
    assert child.urgent and child.answered and child.contacts[0].phone == "999"
    adult = answer(ix, told.format(24))
    assert not adult.urgent and not adult.answered and adult.maybe_urgent
    assert adult.contacts[0].phone == "999"
    assert adult.adult and adult.as_dict()["adult"] is True and not child.adult, "the decline says why"
    assert not search(ix, told.format(24)).urgent and search(ix, told.format(15)).urgent


def cues_of(ix: OpenIndex, question: str) -> frozenset[str]:
    """The cue families the content finds in a question, as typed and as corrected."""
    query = understand(ix, question)
    assert ix.content.cues is not None
    return ix.content.cues.matched(query.typed, query.text)


def test_a_question_only_the_models_read_as_urgent_is_declined_far_outside_the_subject(ix: OpenIndex) -> None:
    # Tuning.urgent_outside_uncued: served with it above every probability, an emergency the cue families read keeps
    # its answer; the bound reads only questions with no cue at all.
    # (The learned bound lies below the scope threshold: served here with the threshold above every probability.)
    ranking = {**ix.learned["ranking"], "threshold": 1.0}
    everything = replace(ix, tuning=replace(ix.tuning, urgent_outside_uncued=1.0),
                         learned={**ix.learned, "ranking": ranking}, memo=Memo())
    for question in EMERGENCIES[:3]:
        reply = answer(everything, question)
        assert reply.urgent and reply.answered, question
    # A question no cue family reads, that the models read as urgent, gets the line and a plain decline there.
    uncued = "creep filming kids in the pool changing rooms"
    assert answer(ix, uncued).urgent
    assert not cues_of(ix, uncued)
    reply = answer(everything, uncued)
    assert not reply.urgent and not reply.answered and reply.maybe_urgent and reply.contacts[0].phone == "999"


# ---------------------------------------------------------------- the words' model


def test_ngrams_are_words_and_word_pairs_of_typed_and_corrected_text() -> None:
    grams = ngrams("He's OUTSIDE now", "he is outside now")
    assert {"he's", "outside", "now", "outside now", "he is", "is outside"} <= grams


def test_the_words_model_learns_which_words_mark_an_emergency() -> None:
    bags = [ngrams(t) for t in ("he is outside now", "she is outside now", "policy on phones",
                                "training on phones", "he is outside the gate now", "lessons on phones")]
    y = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    model = fit_text(bags, y, l2=DEFAULT.urgent_text_l2)
    assert model.score(ngrams("outside now")) > 0 > model.score(ngrams("phones policy"))
    assert fit_text(bags, y, l2=DEFAULT.urgent_text_l2) == model, "fitting is deterministic"
    assert TextModel.from_dict(model.as_dict()).score(ngrams("outside now")) == pytest.approx(
        model.score(ngrams("outside now")), abs=1e-2)


def test_a_words_weight_is_shared_by_the_length_of_the_message() -> None:
    # The score sums word weights over the square root of the message's length: a long message about rotas and
    # payslips does not reach the clipped bottom of the scale by its many calm words alone, and the cue families
    # (a threat and a time in one sentence) can still outweigh it.
    model = TextModel({"outside": 2.0, "now": 1.0, "rota": -0.5, "payslip": -0.5}, bias=-1.0)
    assert model.score({"outside", "now"}) == pytest.approx(-1.0 + 3.0 / 2**0.5)
    assert model.score({"outside", "now", "rota", "payslip"}) == pytest.approx(-1.0 + 2.0 / 2)
    assert model.score({"never", "seen"}) == pytest.approx(-1.0)
    assert model.score({"outside", "now", "outsid"}) == model.score({"outside", "now"}), "a word never seen"
    assert model.score(set()) == pytest.approx(-1.0)


def test_cross_scores_leave_each_writer_out() -> None:
    # "zebra" marks emergencies only in writer a's questions: scored without a, it says nothing about them.
    texts = [("zebra now", "a"), ("zebra here", "a"), ("calm words", "a"), ("he is near", "b"), ("near now", "b"),
             ("policy words", "b"), ("lessons words", "c"), ("near here", "c")]
    bags = [ngrams(t) for t, _ in texts]
    y = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    scores = cross_scores(bags, y, [g for _, g in texts])
    alone = fit_text([b for b, (_, g) in zip(bags, texts, strict=True) if g != "a"],
                     y[[g != "a" for _, g in texts]])
    assert scores[0] == pytest.approx(alone.score(bags[0]))


def test_cross_scores_over_folds_score_each_fold_without_its_writers() -> None:
    texts = [("zebra now", "a"), ("zebra here", "a"), ("calm words", "a"), ("he is near", "b"), ("near now", "b"),
             ("policy words", "b"), ("lessons words", "c"), ("near here", "c"), ("zebra again", "d")]
    bags = [ngrams(t) for t, _ in texts]
    y = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    groups = [g for _, g in texts]
    fold = folds(groups, 2)
    scores = cross_scores(bags, y, groups, k=2)
    for f in (0, 1):
        mine = fold == f
        without = fit_text([b for b, m in zip(bags, mine, strict=True) if not m], y[~mine])
        assert {groups[i] for i in np.flatnonzero(mine)}.isdisjoint(groups[i] for i in np.flatnonzero(~mine))
        assert scores[mine] == pytest.approx([without.score(b) for b, m in zip(bags, mine, strict=True) if m])


def test_a_calm_word_counts_only_in_its_own_sentence(cues: Cues) -> None:
    names = feature_names(cues)
    at = names.index("part_threat_and_now")
    danger = names.index("part_danger")

    def features(text: str) -> np.ndarray:
        return row(cues, cues.matched(text), {}, None, parts=cues.parts(text))

    buried = "About last month's payslip and next term's policy. A man is waiting outside for her now. Thanks."
    told_as_past = "Last month a man was waiting outside for her after school. What should our policy say?"
    assert len(cues.parts(buried)) == 3 and cues.parts("one sentence only") == ()
    assert cues.calm(cues.matched(buried)), "the message as a whole has calm words"
    assert features(buried)[at] == 1.0
    assert features(told_as_past)[at] == 0.0
    assert features("Writing up the rota. She is on the roof at the moment.")[danger] == 1.0
    assert features("Last year she was on the roof. What training is there?")[danger] == 0.0
    # The calm words in the sentences that hold the danger or its time: none in the buried emergency, where the
    # message as a whole has two kinds; one when it is told as the past; in one sentence, all of it.
    beside = names.index("calm_beside_danger")
    assert features(buried)[beside] == 0.0
    assert features(told_as_past)[beside] == 1.0
    assert features("what should our policy say if a man is waiting outside for a pupil now")[beside] == 1.0


def test_the_words_of_a_sentence_that_names_a_danger_are_weighed_alone(cues: Cues) -> None:
    def terms(text: str) -> dict[str, float]:
        return dict.fromkeys(stems(text), 1.0)

    bank = [("a man is waiting outside for her now", True), ("he is outside the gates waiting now", True),
            ("my payslip was wrong again", False), ("the rota for next term", False),
            ("please fix the payslip and the rota", False), ("who writes the rota", False)]
    memory = Memory.of([Labelled(terms(t), (), f"w{i}", urgent=u) for i, (t, u) in enumerate(bank)])
    names = feature_names(cues)
    nb, part = names.index("nb"), names.index("part_nb")

    def features(text: str) -> np.ndarray:
        return row(cues, cues.matched(text), terms(text), memory, parts=cues.parts(text),
                   part_stems=sentence_stems(text))

    buried = "My payslip was wrong and so is the rota. A man is waiting outside for her now. Please fix the payslip."
    assert len(sentence_stems(buried)) == len(cues.parts(buried)) == 3
    # The sentence that names the danger, weighed alone, as if it were the question: the payslip and the rota
    # around it count against the message read whole, not against it.
    assert features(buried)[part] == features("A man is waiting outside for her now.")[nb]
    assert features(buried)[part] > features(buried)[nb]
    alone = features("a man is waiting outside for her now")
    assert alone[part] == alone[nb]


def test_a_sentence_that_is_certainly_urgent_is_not_calmed_by_another(cues: Cues) -> None:
    buried = ("Writing about last term's policy review and the rota. "
              "Also, she is missing and her phone is off. Can someone send the minutes?")
    assert not certain(cues, cues.matched(buried)), "read whole, the message has calm words"
    assert certain(cues, cues.matched(buried), cues.parts(buried))
    assert assess(UrgencyModel(), cues, [buried], {}, None).urgent
    calm = "Last term she was missing for a night and was found safe. What should our policy say?"
    assert not certain(cues, cues.matched(calm), cues.parts(calm))
    # Who is involved holds across sentences: a message about adults only is not made certain by one sentence.
    adults = "My mum's carer is taking photos of her in the bath. Mum is 88 and cannot tell me properly."
    assert certain(cues, cues.matched(adults.split(". ")[0]))
    assert not certain(cues, cues.matched(adults), cues.parts(adults))


# ---------------------------------------------------------------- thresholds


def test_every_train_emergency_at_least_gets_the_line_and_thresholds_are_ordered(cues: Cues) -> None:
    texts = [("he is outside the school now", True), ("she has run away tonight", True),
             ("she is on the roof right now", True), ("what should our policy say", False),
             ("last year a pupil ran away", False), ("staff training on nudes", False),
             ("how do I report an image", False), ("is sexting illegal at 16", False)]
    rows = [(cues.matched(t), {w: 1.0 for w in t.split()}, u, f"w{i % 3}", ngrams(t), cues.parts(t))
            for i, (t, u) in enumerate(texts)]
    memory = Memory.of([Labelled(r[1], (), r[3], urgent=r[2]) for r in rows])
    model = fit(cues, rows, memory)
    assert model.maybe <= model.threshold <= model.sure
    for t, urgent in texts:
        if urgent:
            got = assess(model, cues, [t], {w: 1.0 for w in t.split()}, memory)
            assert got.urgent or got.maybe, t



def test_a_model_fitted_with_the_encoders_evidence_reads_it_and_must_be_given_it(cues: Cues) -> None:
    # Emergencies told in the words of calm questions: only the encoder's evidence (written here: near the bank's
    # emergencies in meaning, or near its calm questions) tells them apart.
    texts = [(f"a pupil and her phone, case {n}", n % 3 == 0) for n in range(36)]
    rows = [(cues.matched(t), {w: 1.0 for w in t.split()}, u, f"w{i % 4}", ngrams(t), cues.parts(t))
            for i, (t, u) in enumerate(texts)]
    memory = Memory.of([Labelled(r[1], (), r[3], urgent=r[2]) for r in rows])
    near = [(0.9, 0.3, 2.0) if u else (0.1, -0.3, -2.0) for _, u in texts]
    served, words = fit(cues, rows, memory, false_alarm=0.1, semantic=near), fit(cues, rows, memory, false_alarm=0.1)
    assert served.names[-3:] == SEMANTIC and served.reads_semantic and not words.reads_semantic
    weights = dict(zip(served.names, served.weights, strict=True))
    assert weights["semantic_share"] > 0 and weights["semantic_gap"] > 0 and weights["semantic_probe"] > 0
    # New questions of both kinds: the words alone cannot tell them apart; with the evidence, the model can.
    new = [(f"a pupil and her phone, case {n}", n % 3 == 0) for n in range(100, 112)]
    for t, urgent in new:
        evidence = (0.9, 0.3, 2.0) if urgent else (0.1, -0.3, -2.0)
        assert assess(served, cues, [t], {w: 1.0 for w in t.split()}, memory, semantic=evidence).urgent == urgent
    alone = [assess(words, cues, [t], {w: 1.0 for w in t.split()}, memory).urgent for t, _ in new]
    assert alone.count(alone[0]) == len(alone)
    with pytest.raises(ValueError, match="encoder"):
        assess(served, cues, [texts[0][0]], {}, memory)


def test_the_false_alarm_share_counts_the_calm_questions_the_safety_rules_flag(cues: Cues) -> None:
    calm = [f"{what} in year {n}" for n in range(7, 12) for what in (
        "what should our policy say", "how do I report an image", "is sexting illegal", "staff training on nudes",
        "a pupil sent a photo last year", "who is our safeguarding lead")]
    calm += [f"a man is waiting outside for her now, number {n}" for n in range(5)]  # look-alikes written as calm
    ruled = [f"the class hamster has gone missing again, room {n}" for n in range(3)]  # certain: missing, no calm cue
    urgent = [f"{what} number {n}" for n in range(4) for what in (
        "he is outside the school now", "she is on the roof right now", "a man is waiting at the gate for her now")]
    texts = [(t, False) for t in calm + ruled] + [(t, True) for t in urgent]
    rows = [(cues.matched(t), {w: 1.0 for w in t.split()}, u, f"w{i % 4}", ngrams(t), cues.parts(t))
            for i, (t, u) in enumerate(texts)]
    assert all(certain(cues, cues.matched(t)) for t in ruled)
    memory = Memory.of([Labelled(r[1], (), r[3], urgent=r[2]) for r in rows])
    model = fit(cues, rows, memory, false_alarm=0.15)
    x, y, weight = design(cues, rows, memory)
    p = held_out_scores(x, y, weight, np.array([r[3] for r in rows]))
    flagged = sum(1 for r, score in zip(rows, p, strict=True)
                  if not r[2] and (score >= model.threshold or (score >= model.floor and certain(cues, r[0]))))
    assert flagged <= 0.15 * (len(calm) + len(ruled))


def test_the_line_call_999_reaches_at_most_its_share_of_calm_questions(cues: Cues) -> None:
    calm = [f"{what} in year {n}" for n in range(7, 12) for what in (
        "what should our policy say", "how do I report an image", "is sexting illegal", "staff training on nudes",
        "who is our safeguarding lead", "a man was outside the gate last year")]
    urgent = [f"{what} number {n}" for n in range(4) for what in (
        "he is outside the school now", "she is on the roof right now")]
    urgent.append("who is our safeguarding lead in year 9")  # an emergency that reads like the calm questions
    texts = [(t, False) for t in calm] + [(t, True) for t in urgent]
    rows = [(cues.matched(t), {w: 1.0 for w in t.split()}, u, f"w{i % 4}", ngrams(t), cues.parts(t))
            for i, (t, u) in enumerate(texts)]
    memory = Memory.of([Labelled(r[1], (), r[3], urgent=r[2]) for r in rows])
    x, y, weight = design(cues, rows, memory)
    p = held_out_scores(x, y, weight, np.array([r[3] for r in rows]))
    unbounded = fit(cues, rows, memory, false_alarm=0.0)
    bounded = fit(cues, rows, memory, false_alarm=0.0, line_calm=0.1)
    assert np.mean(p[y == 0] >= unbounded.maybe) > 0.1, "the case needs calm questions above the lowest emergency"
    assert np.mean(p[y == 0] >= bounded.maybe) <= 0.1
    assert bounded.maybe <= bounded.threshold


# ---------------------------------------------------------------- answers

# Issue 12's four examples (the engine of 26 Nov found none of them urgent and declined them), then our own.
EMERGENCIES = [
    "he is parked outside the school waiting for her",
    "she's locked herself in the toilets with a razor",
    "a pupil is on the bridge and won't come down",
    "he's in the room with her now",
    "a pupil has swallowed a load of tablets in the toilets",
    "the man she sends pics to is across the road from the school right now",
    "13 year old missing since 4pm, was messaging an adult about photos",
    "he says he'll post her nudes at midnight unless she sends more",
    "she won't go home because her stepdad will be there and he has the video",
    "it's happening now, he is making her undress on a video call",
]


@pytest.mark.parametrize("question", EMERGENCIES)
def test_an_emergency_is_urgent_with_999_first_and_never_not_covered(ix: OpenIndex, content: Content,
                                                                    question: str) -> None:
    reply = answer(ix, question)
    assert reply.urgent and reply.answered, question
    assert reply.contacts[0].phone == "999"
    # Search shows the 999 step too, first or straight after what the words asked for.
    emergency = content.emergency_section()
    assert emergency is not None
    assert emergency[1].provenance.section in [h.source.section for h in search(ix, question).hits[:2]]


def test_urgent_words_about_what_the_guidance_is_not_about_get_the_line_and_a_plain_decline(ix: OpenIndex) -> None:
    # Model.outside: below it, a question that reads urgent is about an adult, an animal or a building. Served with
    # that bound and the scope threshold above every probability (the learned bound lies below the threshold), the
    # emergencies above are all "outside": each is declined, with the line "call 999" first, never the emergency
    # answer about a child.
    ranking = {**ix.learned["ranking"], "outside": 1.0, "threshold": 1.0}
    everything_outside = replace(ix, learned={**ix.learned, "ranking": ranking}, memo=Memo())
    for question in EMERGENCIES[:3]:
        assert answer(ix, question).urgent, question
        reply = answer(everything_outside, question)
        assert not reply.urgent and not reply.answered and reply.maybe_urgent, question
        assert reply.contacts[0].phone == "999"
        assert not search(everything_outside, question).urgent
        assert search(ix, question, kind="all").urgent, question
        assert not search(everything_outside, question, kind="all").urgent, "every kind of search reads it alike"
    # In a long message about other things the scope model reads the other things: an emergency told in one of its
    # sentences keeps the emergency answer whatever its scope (Tuning.urgent_outside_words).
    long = ("I'm writing to the office about the rota for next term, the new photocopier, the parking permits for "
            "supply staff, the date of the summer fair, the lost property cupboard and the minibus booking form. "
            f"Also, {EMERGENCIES[0]}")
    assert len(long.split()) > DEFAULT.urgent_outside_words
    reply = answer(everything_outside, long)
    assert reply.urgent and reply.answered and reply.contacts[0].phone == "999"


def test_the_learned_outside_bound_lies_between_nothing_and_the_scope_threshold(ix: OpenIndex) -> None:
    model = Model.from_dict(ix.learned["ranking"])
    assert 0.0 < model.outside < model.threshold
    assert Model.from_dict(model.as_dict()) == model


def test_crisis_lines_follow_999_where_a_child_is_at_risk_of_self_harm_now(ix: OpenIndex) -> None:
    reply = answer(ix, "she says she wants to die and has a blade in the toilets right now")
    assert reply.urgent
    kept = [c for c in reply.contacts if c.risks]
    assert kept and reply.contacts[0].phone == "999"
    assert list(reply.contacts[1:1 + len(kept)]) == kept, "crisis lines straight after 999"
    assert all(c.url and c.source_url for c in kept), "only verified, cited crisis lines"


def test_the_crisis_lines_stay_on_the_turns_after_a_child_at_risk_of_suicide(ix: OpenIndex) -> None:
    first = answer(ix, "she says she wants to die and has a blade in the toilets right now")
    crisis = {c.id for c in first.contacts if c.risks}
    assert crisis
    then = first
    for follow_up in ("I've called 999, what now?", "should I tell her parents?"):
        then = answer(ix, follow_up, context=then.context)
        assert crisis <= {c.id for c in then.contacts}, follow_up
    # A conversation that never signalled the risk lists none.
    calm = answer(ix, "should I tell her parents?", context=answer(ix, "how do we get a nude taken down?").context)
    assert not any(c.risks for c in calm.contacts)


def test_a_child_who_said_she_wants_to_die_brings_the_crisis_lines_even_when_calm_now(ix: OpenIndex) -> None:
    reply = answer(ix, "a girl said she wants to die after her nudes were shared last month but she is fine now "
                       "and at home with mum", nation="wales")
    assert any(c.risks for c in reply.contacts)
    # Told as a policy, a lesson or a story, the same words bring none (Urgency.risks).
    for cues in ({"intent_to_die", "planning"}, {"farewell", "hypothetical"}, {"intent_to_die", "fiction"}):
        assert not Urgency(0.01, False, False, frozenset(cues)).risks, cues
    assert Urgency(0.01, False, False, frozenset({"intent_to_die", "past"})).risks == {"self-harm"}


@pytest.mark.parametrize("question", ["%00", "%FF", "ff", "?? !!"])
def test_input_with_no_word_and_no_cue_is_never_urgent(ix: OpenIndex, question: str) -> None:
    # Noise scored high by the words' model once ("%00" read as sure): it gets the line "call 999", no alarm.
    reply = answer(ix, question)
    assert not reply.urgent and not search(ix, question).urgent


def test_words_the_index_does_not_know_are_no_sign_of_noise(ix: OpenIndex) -> None:
    # An emergency in words the guidance never uses (or in Welsh) is still read by the words' model.
    for question in ("daughter 15 in insta-mans car", "Bachgen 15 wedi anfon llun o dabledi a 'sori am y llunie, "
                     "fi'n mynd' i grwp sgwrsio'r dosbarth. Ni ddim yn gwybod ble mae e."):
        u = understand(ix, question)
        assert not wordless(Urgency(0.9, True, False, frozenset()), u.analysed.words), question


@pytest.mark.parametrize("question", ["what should our policy say about self-harm after an image is shared",
                                      "how do I get an image removed from the internet"])
def test_calm_answers_list_no_crisis_lines(ix: OpenIndex, question: str) -> None:
    assert not any(c.risks for c in answer(ix, question).contacts)


def test_an_urgent_question_nothing_else_answers_gets_the_urgent_steps_not_a_refusal(content: Content) -> None:
    # Nothing in the guidance matches (no section ranked, out of scope): the urgent steps answer.
    ranking = Ranking((), 0.0, False, Urgency(0.9, True, False, frozenset()), 0.0)
    asked = Asked(content, "zzz", ranking, Context(), continues=False)
    chosen = next((found for pick in STRATEGIES if (found := pick(asked)) is not None), None)
    assert chosen == content.emergency_section()


def test_what_to_do_first_keeps_its_first_steps_when_sure_unless_it_names_a_danger(ix: OpenIndex) -> None:
    # A bare "what now?" can score as sure beside the bank's short emergencies: it still gets the first steps
    # (which begin with immediate danger); told who is outside, the answer is the 999 step.
    query = understand(ix, "what do I do now?")
    for cues, guided in ((frozenset({"soon"}), True), (frozenset({"person_near", "soon"}), False),
                         (frozenset({"intent_to_die"}), False)):
        ranking = Ranking((), 0.0, False, Urgency(0.9, True, False, cues, sure=True), 0.0)
        assert _asked(ix, query, ranking, Context(), None).guided is guided, cues


def test_a_question_that_may_be_urgent_keeps_the_answer_it_asked_for_with_999_first(content: Content) -> None:
    # Issue 12, point 4: not the emergency page; the line "call 999" is shown above whatever it asked for.
    ranking = Ranking((), 0.0, False, Urgency(0.1, False, True, frozenset({"danger_to_life"})), 0.0)
    asked = Asked(content, "zzz", ranking, Context(), continues=False)
    assert next((found for pick in STRATEGIES if (found := pick(asked)) is not None), None) is None
    contacts = contacts_for(content, None, ranking.urgency.risks)
    assert contacts[0].phone == "999" and "self-harm" in contacts[1].risks


def test_risks_are_signalled_only_by_an_urgent_or_maybe_urgent_question() -> None:
    cues = frozenset({"danger_to_life"})
    assert Urgency(0.9, True, False, cues).risks == {"self-harm"}
    assert Urgency(0.3, False, True, cues).risks == {"self-harm"}
    assert Urgency(0.01, False, False, cues).risks == frozenset()
    assert Urgency(0.9, True, False, frozenset({"missing"})).risks == frozenset()
    assert Urgency(0.9, True, False, frozenset({"farewell"})).risks == {"self-harm"}, "a veiled goodbye"


def test_a_goodbye_names_a_danger_and_a_time_alone_does_not() -> None:
    assert Urgency(0.9, True, False, frozenset({"farewell"})).named
    assert Urgency(0.9, True, False, frozenset({"intent_to_die"})).named
    assert not Urgency(0.9, True, False, frozenset({"soon", "happening_now"})).named


def test_a_contact_risk_must_be_a_known_one() -> None:
    ok = '- id: e\n  name: Police\n  phone: "999"\n  when: now\n  url: ""\n- id: l\n  name: Line\n  phone: "1"\n' \
         '  when: any time\n  url: ""\n  risk: {risk}\n'
    assert not [p for p in parse_contacts(ok.format(risk=RISKS[0])).problems if p.severity == "error"]
    assert [p for p in parse_contacts(ok.format(risk="gambling")).problems if p.severity == "error"]


def test_the_thresholds_read_each_writers_scores_from_a_model_fitted_without_them() -> None:
    # In-sample scores flatter the train fold's emergencies; a threshold set on them is too high for new writers.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(float)
    groups = np.repeat(np.array(["a", "b", "c"]), 20)
    weight = np.where(y > 0, 3.0, 1.0)
    scores = held_out_scores(x, y, weight, groups)
    for g in ("a", "b", "c"):
        mine, rest = groups == g, groups != g
        w, b = fit_logistic(x[rest], y[rest], l2=1.0, weight=weight[rest])
        assert np.allclose(scores[mine], 1.0 / (1.0 + np.exp(-(x[mine] @ w + b))))
    w, b = fit_logistic(x, y, l2=1.0, weight=weight)
    assert not np.allclose(scores, 1.0 / (1.0 + np.exp(-(x @ w + b))))


def _dense_fit(bags: list[frozenset[str]], y: np.ndarray, l2: float, steps: int) -> TextModel:
    """fit_text's model computed the plain way: a dense design of the grams of two or more bags, each row
    scaled by 1/sqrt(its known grams), and full-batch Adam on the weighted, penalised logistic loss."""
    seen: dict[str, int] = {}
    for bag in bags:
        for g in bag:
            seen[g] = seen.get(g, 0) + 1
    names = sorted(g for g, n in seen.items() if n >= 2)
    x = np.array([[1.0 if g in bag else 0.0 for g in names] for bag in bags]).reshape(len(bags), len(names))
    x /= np.sqrt(np.maximum(x.sum(axis=1, keepdims=True), 1.0))
    weight, w, m, v = np.where(y > 0, 2.0, 1.0), np.zeros(len(names) + 1), 0.0, 0.0
    for t in range(1, steps + 1):
        g = weight * (1.0 / (1.0 + np.exp(-np.clip(x @ w[:-1] + w[-1], -30, 30))) - y)
        grad = np.append(x.T @ g + l2 * w[:-1], g.sum()) / len(y)
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad * grad
        w = w - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return TextModel(dict(zip(names, w[:-1].tolist(), strict=True)), float(w[-1]))


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.sets(st.sampled_from("abcdefgh"), max_size=4), st.booleans()), min_size=1, max_size=12))
def test_the_sparse_words_fit_is_the_plain_logistic_fit(data: list[tuple[set[str], bool]]) -> None:
    # Bags whose grams no other bag has (a row with no known gram) and grams of one bag alone are in the cases.
    bags = [frozenset(b) for b, _ in data]
    y = np.array([1.0 if u else 0.0 for _, u in data])
    got, want = fit_text(bags, y, l2=0.01, steps=30), _dense_fit(bags, y, l2=0.01, steps=30)
    assert got.weights.keys() == want.weights.keys()
    assert [got.weights[g] for g in want.weights] == pytest.approx(list(want.weights.values()), abs=1e-9)
    assert got.bias == pytest.approx(want.bias, abs=1e-9)


def test_cue_and_intent_patterns_match_text_in_any_case_and_must_be_written_in_lower_case(content: Content) -> None:
    # Patterns are searched in lower-cased text without re.I: text in capitals matches as in lower case, and a
    # pattern with a capital letter (which could never match) is a content error with its file and line.
    for family in content.cues.families:
        for text in ("HE IS OUTSIDE THE SCHOOL GATES NOW", "She Says She Wants To Kill Herself Tonight"):
            assert family.matches(text) == family.matches(text.lower()), (family.name, text)
    named = [family.name for family in content.cues.families if family.matches("HE IS OUTSIDE THE GATES NOW")]
    assert "person_near" in named
    for intent in content.intents:
        assert intent.matches("IS IT ILLEGAL TO SHARE A NUDE?") == intent.matches("is it illegal to share a nude?")
    text = (Path(__file__).resolve().parent.parent / "content" / "urgency.yaml").read_text(encoding="utf-8")
    pattern = next(f for f in content.cues.families if f.name == "soon").patterns[0].pattern
    assert pattern in text
    shouted = parse_urgency(text.replace(pattern, "Tonight", 1), "urgency.yaml")
    assert [p.message for p in shouted.problems if "capital" in p.message], shouted.problems
    assert all(p.path == "urgency.yaml" and p.line > 1 for p in shouted.problems if "capital" in p.message)
    intents = (Path(__file__).resolve().parent.parent / "content" / "intents.yaml").read_text(encoding="utf-8")
    first = content.intents[0].patterns[0].pattern
    assert first in intents
    bad = parse_intents(intents.replace(first, "Police", 1), "intents.yaml")
    assert any("capital letter" in p.message and p.path == "intents.yaml" for p in bad.problems), bad.problems
    assert not [p for p in parse_intents(intents, "intents.yaml").problems if "capital" in p.message]


def test_the_families_the_safety_rules_read_alone_are_checked_by_name() -> None:
    text = (Path(__file__).resolve().parent.parent / "content" / "urgency.yaml").read_text(encoding="utf-8")
    for name in ("farewell", "intent_to_die"):
        renamed = parse_urgency(text.replace(f"  {name}:", "  renamed_family:"))
        assert [p.message for p in renamed.problems] == [
            f"missing cue family '{name}' (the detector combines it)"], name


@pytest.mark.parametrize("question", ["baby is floppy and breathing oddly and mum is refusing to ring anyone",
                                      "baby not breathing", "kid collapsed at the bus stop",
                                      "a boy in my class is having a seizure"])
def test_a_child_seriously_ill_or_hurt_now_is_urgent_with_an_ambulance_after_999(ix: OpenIndex, question: str) -> None:
    # No image is named and the guidance says nothing of medicine: a risk of immediate harm is never "not covered".
    reply = answer(ix, question)
    assert reply.urgent and reply.answered, question
    assert reply.contacts[0].phone == "999"
    assert "ambulance" in [c.id for c in reply.contacts if c.risks], question
    assert search(ix, question).urgent, question


@pytest.mark.parametrize("question", ["adult swimmer not breathing", "she's 23 and just collapsed at the bar"])
def test_an_adults_medical_emergency_gets_the_line_call_999_not_the_childs_emergency(ix: OpenIndex,
                                                                                   question: str) -> None:
    reply = answer(ix, question)
    assert not reply.urgent and reply.contacts[0].phone == "999", question


@pytest.mark.parametrize("question", ["kms", "unalive myself", "nobody would care if i was gone",
                                      "i want to self harm", "am gonnae top masel", "Dw i eisiau marw"])
def test_a_young_persons_own_words_for_suicide_and_self_harm_are_urgent_with_crisis_lines(ix: OpenIndex,
                                                                                         question: str) -> None:
    reply = answer(ix, question)
    assert reply.urgent and reply.answered, question
    assert reply.contacts[0].phone == "999" and reply.contacts[1].risks, question


@pytest.mark.parametrize("question", ["bye", "goodbye", "thanks bye", "Thank you!", "diolch yn fawr", "bore da",
                                      "hello", "ok thanks"])
def test_a_greeting_thanks_or_goodbye_alone_is_never_urgent_and_asks_nothing(ix: OpenIndex, question: str) -> None:
    reply = answer(ix, question)
    assert not reply.urgent and not reply.answered, question
    assert not any(c.risks for c in reply.contacts), question
    assert not search(ix, question).urgent, question
    # After a child at risk of suicide, the crisis lines stay on the goodbye (the conversation signalled them).
    first = answer(ix, "she says she wants to die and has a blade in the toilets right now")
    assert any(c.risks for c in answer(ix, question, context=first.context).contacts), question


def test_thanks_after_an_answer_asks_nothing_more_of_its_topic(ix: OpenIndex) -> None:
    first = answer(ix, "how do we get a nude of a pupil taken down?")
    assert first.answered
    for closing in ("thanks", "thank you, bye", "diolch"):
        reply = answer(ix, closing, context=first.context)
        assert not reply.answered and not reply.urgent, closing
