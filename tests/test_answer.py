"""Guided Q&A (issue 4): cited answers, an honest "not covered", urgent questions with 999 first, the law
for the user's nation, never advice to view an image, follow-ups that keep the topic, and the API's shape."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import IndexHolder, OpenIndex, answer
from kb.choosing import IMAGE_HANDLING
from kb.content import source_headings
from kb.index import Memo
from kb.model import CURRENT_STATUSES, NATIONS, SOURCE_DOCUMENT, Article, Content, Section

HEADINGS = source_headings()
IMAGE_SECTION = "What to do with a sexting image"


@pytest.fixture(scope="module")
def ix(index_dir: Path) -> OpenIndex:
    """The session's index, opened."""
    opened = IndexHolder(index_dir).get()
    assert opened is not None
    return opened


def ask(client: FlaskClient, q: str, **params: str) -> dict[str, Any]:
    """The /api/ask answer to a question, checked to be JSON."""
    response = client.get("/api/ask", query_string={"q": q, **params})
    assert response.status_code == 200, (q, response.status_code)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def section_at(content: Content, url: str) -> tuple[Article, Section]:
    """The article and section an answer's url points to."""
    match = re.fullmatch(r"/articles/([a-z0-9-]+)#([a-z0-9-]+)", url)
    assert match, url
    article = content.article(match.group(1))
    assert article is not None, url
    section = next((s for s in article.sections if s.anchor == match.group(2)), None)
    assert section is not None, url
    return article, section


def groups(content: Content, items: list[dict[str, Any]]) -> set[str]:
    """What the legislation items are about (their law groups)."""
    found = [content.law(item["id"]) for item in items]
    return {law.group for law in found if law is not None}


def emergency_url(content: Content) -> str:
    found = content.emergency_section()
    assert found is not None
    article, section = found
    assert "999" in section.text
    return f"{article.url}#{section.anchor}"


# ---------------------------------------------------------------- cited answers

IN_SCOPE = [
    "How do I talk to a pupil who has told me about a nude they sent?",
    "When must I refer a sexting incident to children's services?",
    "How can we get a leaked nude of a pupil taken off a website?",
    "What should go in our written record of a nudes incident?",
    "What support should a young person get after their image was shared?",
    "What is outcome 21 and how does it affect a child's record?",
    "Is there an online child protection course I can take?",
    "How can parents keep up with the apps their teenagers use?",
]


@pytest.mark.parametrize("question", IN_SCOPE)
def test_answer_cites_its_section(client: FlaskClient, content: Content, question: str) -> None:
    body = ask(client, question)
    assert body["answered"] is True, question
    cited = body["answer"]
    assert cited["source"]["document"] == SOURCE_DOCUMENT
    assert cited["source"]["section"] in HEADINGS
    article, section = section_at(content, cited["url"])
    assert cited["heading"] == section.heading
    assert cited["title"] == article.title
    assert cited["text"] == section.text
    assert section.provenance.as_dict() == cited["source"]


# ---------------------------------------------------------------- not covered

NOT_COVERED = [
    "What grades can Ofsted give a school at inspection?",
    "How do I report a concern about female genital mutilation?",
    "How do school admissions appeals work?",
    "What should I do if I suspect a child is being radicalised?",
    "How do we carry out safer recruitment checks on new coaches?",
    "Can a 14 year old get the contraceptive pill without telling parents?",
    "What is a Section 47 enquiry?",
    "How does a parent appeal against a permanent exclusion?",
    "What are the rules on physically restraining a pupil?",
    "What are the signs of county lines exploitation?",
    "Is a pupil who says they are being bullied at the bus stop a safeguarding matter?",
    # Adults only: the guidance is about children.
    "My ex has put intimate videos of me on a website - I'm 31, how do I get them removed?",
    "A colleague (29) is being blackmailed with a video from a dating app, what should she do?",
]


@pytest.mark.parametrize("question", NOT_COVERED)
def test_a_declined_question_says_so_and_points_on(client: FlaskClient, question: str) -> None:
    body = ask(client, question)
    if body["answered"]:
        return  # the next test bounds how many of these are answered
    assert body["answer"] is None
    assert 2 <= len(body["followups"]) <= 4
    assert all(f["url"].startswith("/ask?") and f["question"] for f in body["followups"])
    phones = [c["phone"] for c in body["contacts"]]
    assert phones[:1] == ["999"] and "0808 800 5000" in phones and "0800 1111" in phones


def test_near_domain_questions_the_guidance_does_not_cover_are_declined(client: FlaskClient) -> None:
    # The scope model is fitted to decline at least 80% of such questions on unseen writers' sets while keeping
    # false abstention within 3%: one of these thirteen may slip through, no more.
    answered = [q for q in NOT_COVERED if ask(client, q)["answered"]]
    assert len(answered) <= 1, answered


# ---------------------------------------------------------------- urgent first

URGENT = [
    "A boy in my tutor group says he wants to end it all after his photos were spread around",
    "Student is self-harming in the toilets right now after a nude leaked",
    "My 14 year old player has gone to meet an adult man she met online, she left an hour ago",
    "A girl from our youth group is missing and her phone shows she was sending images to an older man",
    "Someone is threatening right now to send a pupil's nudes to her parents unless she pays tonight",
    "pupil says she is suicidal because everyone has seen her picture",
    "He's been cutting his arms since the video went round, he's with me now",
    "a 12 year old has run away to see a guy from discord",
    "he told me he's going to take his own life",
    "she has taken a load of pills after the leak",
]


@pytest.mark.parametrize("question", URGENT)
def test_urgent_question_puts_999_first(client: FlaskClient, content: Content, question: str) -> None:
    body = ask(client, question)
    assert body["urgent"] is True
    assert body["contacts"][0]["phone"] == "999"
    assert body["answered"] is True
    assert body["answer"]["url"] == emergency_url(content)


CALM = [
    "Should our sexting policy mention self-harm as a reason to refer?",
    "Last year a pupil self-harmed after an image was shared; how should we review what happened?",
    "What training helps staff spot signs of suicidal thoughts linked to sextortion?",
    "In PSHE, how do we talk about children who went missing after meeting people online?",
    "A pupil who ran away two years ago is back; how do we record the old nudes incident?",
    "How do we write a policy that covers threats to share images?",
    "Is a young person who self-harms always a referral under the sexting guidance?",
    "What should our procedure say if a pupil tells us they feel suicidal?",
]


@pytest.mark.parametrize("question", CALM)
def test_calm_questions_are_not_urgent(client: FlaskClient, question: str) -> None:
    assert ask(client, question)["urgent"] is False


# ---------------------------------------------------------------- the law for the nation

LAW_QUESTIONS = [
    "Is it a crime for a pupil to keep a nude of a classmate on their phone?",
    "What law covers an ex threatening to post a teenager's intimate photo?",
    "Which offence applies when an adult sends sexual messages to a 14 year old?",
]


@pytest.mark.parametrize(
    ("question", "nation"),
    [(q, "scotland") for q in LAW_QUESTIONS]
    + [("Which Scottish law covers sharing an intimate photo to upset someone?", ""),
       ("What offences apply in Scotland when an adult sends a child sexual messages?", "")],
)
def test_scottish_question_gets_only_scottish_law(
    client: FlaskClient, content: Content, question: str, nation: str
) -> None:
    body = ask(client, question, **({"nation": nation} if nation else {}))
    assert body["answered"] is True
    assert body.get("nation") == "scotland"
    assert body["legislation"], "a law question gets the law"
    for item in body["legislation"]:
        assert "scotland" in item["nations"], item["id"]
        assert item["status"] in CURRENT_STATUSES
        law = content.law(item["id"])
        assert law is not None and "scotland" in law.nations and law.current


@pytest.mark.parametrize("question", LAW_QUESTIONS)
def test_no_nation_gives_law_of_every_nation_with_nations(
    client: FlaskClient, content: Content, question: str
) -> None:
    body = ask(client, question)
    assert body["answered"] is True
    assert body.get("nation") is None
    covered: set[str] = set()
    for item in body["legislation"]:
        assert item["nations"] and set(item["nations"]) <= set(NATIONS)
        assert item["status"] in CURRENT_STATUSES
        law = content.law(item["id"])
        assert law is not None and list(law.nations) == item["nations"]
        covered |= set(item["nations"])
    assert covered == set(NATIONS), sorted(covered)


# ---------------------------------------------------------------- never view an image

HANDLING = [
    "Can I have a quick look at the photo to see how bad it is?",
    "Should I save a copy of the nude to the safeguarding file?",
    "Is it OK to take a screenshot of the snap before it disappears?",
    "Can I forward the picture to the head teacher so she knows what it shows?",
    "Do we print the image out for the police?",
    "Should the DSL open the video to check whether it is indecent?",
    "may I download the clip onto my laptop as evidence",
    "A parent wants to show me the picture on her phone, should I look?",
    "is it ok to copy the image to a usb stick for the police",
]
NEVER = re.compile(r"\b(?:never|do not|don't)\b[^.]*\b(?:look|view|copy|print|forward|share|open)", re.I)


@pytest.mark.parametrize("question", HANDLING)
def test_viewing_an_image_is_never_advised(client: FlaskClient, question: str) -> None:
    body = ask(client, question)
    assert body["answered"] is True
    assert body["answer"]["source"]["section"] == IMAGE_SECTION
    assert NEVER.search(body["answer"]["text"]), body["answer"]["text"]


@pytest.mark.parametrize("question", [
    "head wants me to screenshot it as evidence before it gets deleted",
    "Is it OK to take a screenshot of the snap before it disappears?",
    "my manager told us to save the pics to the shared drive for the police",
])
@pytest.mark.parametrize("nation", [None, *NATIONS])
def test_handling_an_image_is_answered_with_never_doing_so_in_every_nation(
        ix: OpenIndex, question: str, nation: str | None) -> None:
    # The sections of the same source section about one nation (England's advice on searching devices) are not
    # the answer to "may I keep a copy?", wherever the user is; someone asking it for their manager asks it too.
    found = ix.content.image_handling_section()
    assert found is not None
    reply = answer(ix, question, nation=nation)
    assert reply.section is found[1], (reply.section.heading if reply.section else None)


def test_handling_words_answer_unless_the_scope_model_is_all_but_sure_and_a_decline_lists_the_image_guidance_first(
        ix: OpenIndex) -> None:
    # Keeping CCTV or a prospectus's photos asks in the words of handling an image. Served with the scope threshold
    # above every probability, the handling words still answer above Tuning.image_floor; with the floor above every
    # probability too, each question is declined and the image guidance leads the parts that may be close.
    declining = replace(ix, learned={**ix.learned, "ranking": {**ix.learned["ranking"], "threshold": 1.0}}, memo=Memo())
    unfloored, floored = (declining.tuned(replace(ix.tuning, image_floor=floor)) for floor in (0.0, 1.01))
    image = ix.content.image_handling_section()
    assert image is not None
    for question in HANDLING[:4]:
        assert answer(unfloored, question).section == image[1], question
        reply = answer(floored, question)
        assert not reply.answered and not reply.urgent, question
        assert reply.alternatives and reply.alternatives[0][0] == image[1].heading, question
        assert len(reply.alternatives) <= 3 and len(set(reply.alternatives)) == len(reply.alternatives)
    # A declined question that is not about handling an image does not get it first.
    other = answer(floored, "what does the law say about two 15 year olds sharing nudes?")
    assert not other.answered and all(a[0] != image[1].heading for a in other.alternatives[:1])


# Questions whose words look like handling an image ("you never send it", "I teach the sending") but that ask
# about something else: the model's answer stands (the image guidance is far down its ranking).
LOOKS_LIKE_HANDLING = [
    ("is it a crime for a 15 year old to have a nude on their phone even if you never send it to anyone?",
     "Sharing indecent images of children"),
    ("how do I teach the sending pics stuff to year 8 without scaring them", "Talk to children"),
]


@pytest.mark.parametrize(("question", "section"), LOOKS_LIKE_HANDLING)
def test_words_that_only_look_like_handling_keep_the_section_that_answers(ix: OpenIndex, question: str,
                                                                          section: str) -> None:
    assert IMAGE_HANDLING.search(question), "the handling words are there"
    reply = answer(ix, question)
    assert reply.section is not None and reply.section.provenance.section == section


# Advice to handle an image: an imperative ("Save the photo"), a modal ("You can look at it") or "it is fine
# to ...", with an image word soon after, and no negation before it in the same sentence. List items are read
# with the sentence that leads into them ("it is a crime to:" + "share a photo" is law, not advice).
VERB = (r"(?:look\s+at|have\s+a\s+look\s+at|view|open|watch|save|copy|print|forward|screenshot|download|keep|store"
        r"|take\s+a\s+(?:copy|screenshot|photo|picture)\s+of|send|show|share|pass\s+on)")
OBJECT = (r"(?:\S+\s+){0,4}?(?:image|images|picture|pictures|pic|pics|photo|photos|video|videos|nude|nudes|it|them"
          r"|clip)\b")
MODAL = (r"\b(?:you|staff|we|they|i|the\s+dsl|the\s+lead|professionals|someone|a\s+colleague)\s+"
         r"(?:should|can|could|may|must|need\s+to|ought\s+to|might|will\s+need\s+to|are\s+allowed\s+to)")
ADVICE = (
    re.compile(rf"^\W*(?:(?:then|first|also|please|now|just)\s+)?{VERB}\s+{OBJECT}", re.I),
    re.compile(rf"{MODAL}\s+(?:\w+\s+)?{VERB}\s+{OBJECT}", re.I),
    re.compile(rf"\bit\s+is\s+(?:ok|okay|fine|acceptable|best|important|safe|sensible|helpful|a\s+good\s+idea)\s+"
               rf"to\s+{VERB}\s+{OBJECT}", re.I),
)
NEGATION = re.compile(r"\b(?:never|not|no|nobody|no\s+one|without|avoid|instead\s+of|rather\s+than)\b|n't\b", re.I)
SENTENCE = re.compile(r"(?<=[.!?;])\s+")
ITEM = re.compile(r"^\s*(?:[-*]|\d+[.)])\s+")


def sentences(text: str) -> Iterator[tuple[str, str]]:
    """Each sentence with what comes before it: a list item after "...to:" completes that line (read whole);
    after any other lead-in it stands alone, with the lead-in before it (a "never" there covers the items)."""
    lead = ""
    for line in text.splitlines():
        if ITEM.match(line):
            item = ITEM.sub("", line)
            if lead.endswith("to:"):
                yield from (("", s) for s in SENTENCE.split(f"{lead} {item}"))
            else:
                yield from ((lead, s) for s in SENTENCE.split(item))
        else:
            lead = line.strip() if line.rstrip().endswith(":") else ""
            yield from (("", s) for s in SENTENCE.split(line))


def plain(markup: str) -> str:
    """Text of rendered HTML: one line per paragraph or list item."""
    text = re.sub(r"\s+", " ", markup)
    text = re.sub(r"<li[^>]*>", "\n- ", text)
    text = re.sub(r"</p>|</li>|<br\s*/?>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def advises_handling(text: str) -> list[str]:
    """The sentences of text that advise viewing, keeping or passing on an image."""
    found = []
    for before, sentence in sentences(text):
        for rx in ADVICE:
            match = rx.search(sentence)
            if match and not NEGATION.search(f"{before} {sentence[: match.end()]}"):
                found.append(sentence.strip())
    return found


@pytest.mark.parametrize(
    ("text", "advises"),
    [
        ("Look at the image to check what it shows.", True),
        ("You should save a copy of the photo for the file.", True),
        ("Staff can forward it to the DSL.", True),
        ("It is fine to view the video once.", True),
        ("Talk to them. Then print the picture for the police.", True),
        ("What to do:\n- take a screenshot of the image", True),
        ("Never look at the image.", False),
        ("Do not save a copy of it.", False),
        ("You should not forward it.", False),
        ("Don't open the picture.", False),
        ("No one should view it.", False),
        ("That rule has no exceptions:\n- a screenshot or a photo of the screen is a copy;", False),
        ("Never do any of these:\n- look at the image\n- forward it", False),
        ("It is a crime to:\n- share a photo of another person without consent", False),
        ("to possess one with a view to distributing it", False),
    ],
)
def test_the_viewing_scan_finds_advice_and_only_advice(text: str, advises: bool) -> None:
    assert bool(advises_handling(text)) is advises


def test_no_text_on_the_site_advises_viewing_an_image(content: Content) -> None:
    texts: list[tuple[str, str]] = []
    for article in content.articles:
        texts.append((article.slug, article.summary))
        texts.append((article.slug, plain(article.lead_html)))
        texts += [(f"{article.slug}#{s.anchor}", f"{s.heading}\n{s.text}") for s in article.sections]
    texts += [(f"glossary:{e.term}", e.definition) for e in content.glossary]
    texts += [(f"law:{i.id}", f"{i.summary}\n{i.note}\n{i.correction}") for i in content.legislation]
    texts += [(f"ref:{r.id}", r.note) for r in content.references]
    texts += [(f"contact:{c.id}", c.when) for c in content.contacts]
    offending = [(where, s) for where, text in texts for s in advises_handling(text)]
    assert not offending, offending


# ---------------------------------------------------------------- follow-ups and context


@pytest.mark.parametrize(
    ("question", "follow", "nation"),
    [
        (LAW_QUESTIONS[0], "and in Scotland?", "scotland"),
        (LAW_QUESTIONS[1], "and in Scotland?", "scotland"),
        (LAW_QUESTIONS[2], "and in Scotland?", "scotland"),
        (LAW_QUESTIONS[1], "what about Northern Ireland?", "northern-ireland"),
    ],
)
def test_and_in_scotland_keeps_the_topic(
    client: FlaskClient, content: Content, question: str, follow: str, nation: str
) -> None:
    first = ask(client, question, nation="england")
    assert first["answered"] is True and first["legislation"]
    second = ask(client, follow, context=first["context"])
    assert second["answered"] is True
    assert second.get("nation") == nation
    assert second["answer"]["source"] == first["answer"]["source"], "the same topic"
    assert second["legislation"], "the law of the new nation on that topic"
    assert all(nation in item["nations"] for item in second["legislation"])
    assert groups(content, second["legislation"]) & groups(content, first["legislation"])


GARBAGE = [
    "", "x", "!!!", "%%%", "\x00\x01", "e30", "W10", "bnVsbA", "a" * 10_000,
    base64.urlsafe_b64encode(b'{"s": 5, "n": ["wales"]}').decode(),
    base64.urlsafe_b64encode(b'{"s": "no-such-article#nowhere", "n": "mars"}').decode(),
    base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
    '{"s": "the-law#is-it-illegal", "n": "scotland"}',
    "../../etc/passwd", "<script>alert(1)</script>",
]


def test_context_token_is_opaque(client: FlaskClient) -> None:
    question = "Is it a crime for a pupil to keep a nude of a classmate on their phone?"
    token = ask(client, question, nation="wales")["context"]
    assert isinstance(token, str) and re.fullmatch(r"[A-Za-z0-9_.~-]{1,400}", token), token
    padded = token + "=" * (-len(token) % 4)
    try:
        inside = base64.urlsafe_b64decode(padded).decode("utf-8", "replace")
    except ValueError:
        inside = ""
    # The token carries the topic and the nation, never what was asked.
    for word in ("classmate", "crime", "pupil"):
        assert word not in token.lower() and word not in inside.lower()


@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_context_is_ignored(client: FlaskClient, garbage: str) -> None:
    for question in ("How can a nude of a pupil be taken down from a website?", "and in Scotland?"):
        plain = ask(client, question)
        given_garbage = ask(client, question, context=garbage)
        assert given_garbage == plain


@settings(deadline=None, database=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=st.one_of(st.text(max_size=300), st.binary(max_size=200).map(
    lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))))
def test_any_context_is_safe(ix: OpenIndex, garbage: str) -> None:
    reply = answer(ix, "and in Scotland?", context=garbage)
    assert isinstance(reply.as_dict()["context"], str)


def test_followups_lead_on(client: FlaskClient, content: Content) -> None:
    for question in [*IN_SCOPE, *HANDLING[:3], *LAW_QUESTIONS]:
        body = ask(client, question, nation="wales")
        followups = body["followups"]
        assert 2 <= len(followups) <= 4, (question, followups)
        if not body["answered"]:
            continue  # abstention is another test's business; its suggestions still lead to /ask
        article, _ = section_at(content, body["answer"]["url"])
        onward = {a.question for slug in article.next if (a := content.article(slug))}
        # What people ask next after this question's intent and its section (content/conversation.yaml), else
        # the questions of the articles that lead on from this one.
        asks = {f.ask for f in content.conversation.next} if content.conversation else set()
        for followup in followups:
            parts = urlsplit(followup["url"])
            params = parse_qs(parts.query)
            assert parts.path == "/ask" and not parts.netloc
            assert params["q"] == [followup["question"]]
            assert params["context"] == [body["context"]]
            assert params.get("nation") == ["wales"]
            assert followup["question"] != article.question, "a follow-up leads somewhere new"
            assert followup["question"] in onward | asks, (question, followup["question"])


@pytest.mark.parametrize("nation", NATIONS)
def test_resources_written_for_other_nations_only_are_left_out(client: FlaskClient, content: Content,
                                                              nation: str) -> None:
    shown = 0
    for question in ["is sexting illegal", "will the police get involved", "can schools search phones for nudes"]:
        for ref in ask(client, question, nation=nation)["resources"]:
            found = content.reference(ref["id"])
            assert found is not None and (not found.nations or nation in found.nations), (question, ref["id"])
            shown += 1
    assert shown, "each nation is given something to read"


def test_resources_are_tied_to_the_section(client: FlaskClient, content: Content) -> None:
    for question in [*IN_SCOPE, *HANDLING[:3], *LAW_QUESTIONS]:
        body = ask(client, question)
        if not body["answered"]:
            assert body["resources"] == []
            continue
        _, section = section_at(content, body["answer"]["url"])
        allowed: dict[str, int] = {}
        for ref_id in section.refs:
            ref = content.reference(ref_id)
            assert ref is not None
            allowed[ref_id] = len(allowed)
            if ref.replaced_by:
                allowed.setdefault(ref.replaced_by, len(allowed))
        ids = [r["id"] for r in body["resources"]]
        assert set(ids) <= set(allowed), (question, ids, sorted(allowed))
        if section.refs:
            assert ids, question
        for ref_id in ids:
            replaced = content.reference(ref_id)
            if replaced and replaced.replaced_by in ids:
                assert ids.index(replaced.replaced_by) < ids.index(ref_id), "the current document first"


# ---------------------------------------------------------------- the JSON API's shape


@pytest.mark.parametrize(
    ("question", "params"),
    [
        (IN_SCOPE[0], {}),
        (LAW_QUESTIONS[0], {"nation": "northern-ireland"}),
        (LAW_QUESTIONS[1], {}),
        (URGENT[1], {}),
        (NOT_COVERED[0], {}),
    ],
)
def test_api_ask_answers_in_the_contract_shape(client: FlaskClient, question: str, params: dict[str, str]) -> None:
    response = client.get("/api/ask", query_string={"q": question, **params})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers
    body = response.get_json()
    keys = ["question", "answered", "urgent", "context", "answer", "legislation", "resources", "followups",
            "contacts"]
    assert set(keys) <= set(body)
    assert body["question"] == question
    assert isinstance(body["answered"], bool) and isinstance(body["urgent"], bool)
    assert isinstance(body["context"], str) and body["context"]
    if body["answered"]:
        assert set(body["answer"]) >= {"title", "heading", "text", "url", "source"}
        assert all(isinstance(body["answer"][k], str) and body["answer"][k] for k in ("title", "heading", "text"))
        assert re.fullmatch(r"/articles/[a-z0-9-]+#[a-z0-9-]+", body["answer"]["url"])
        assert body["answer"]["source"]["document"]
    else:
        assert body["answer"] is None
    for item in body["legislation"]:
        assert {"id", "title", "provision", "nations", "summary", "url", "status"} <= set(item)
        assert all(isinstance(item[k], str) for k in ("id", "title", "provision", "summary", "url", "status"))
        assert isinstance(item["nations"], list) and set(item["nations"]) <= set(NATIONS)
        assert item["status"] in CURRENT_STATUSES
        if "nation" in params:
            assert params["nation"] in item["nations"]
    for ref in body["resources"]:
        assert {"id", "author", "year", "title", "url"} <= set(ref)
        assert all(isinstance(ref[k], str) for k in ("id", "author", "year", "title", "url"))
    for followup in body["followups"]:
        assert set(followup) >= {"question", "url"} and followup["url"].startswith("/ask?")
    assert body["contacts"]
    for contact in body["contacts"]:
        assert {"name", "phone", "url"} <= set(contact)
        assert all(isinstance(contact[k], str) for k in ("name", "phone", "url"))
    if body["urgent"]:
        assert body["contacts"][0]["phone"] == "999"
