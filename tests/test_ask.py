"""/ask as a conversation: the thread carried in the address alone, a guided answer to "what do I do?" that asks
the facts and ends in the decision aid's result, follow-ups from the question, and law only for a nation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from kb.model import NATION_NAMES, NATIONS, Content

LAW = "Which law makes it a crime to share a nude image of a child?"
IMAGE = "Can I keep a copy of the nude as evidence?"
REMOVAL = "How can a nude of a pupil be taken off a website?"
WHAT_DO_I_DO = "what do I do?"
URGENT = "A pupil has just told me she is going to kill herself tonight"
ALL_NO = {"danger": "no", "adult": "no", "coerced": "no", "content": "no", "under-13": "no", "harm": "no"}


@dataclass
class Form:
    css: str
    action: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (type, name, value)
    radios: dict[str, list[str]] = field(default_factory=dict)

    def pairs(self, **chosen: str) -> list[tuple[str, str]]:
        """What submitting the form sends: its hidden fields and inputs, and the radios chosen."""
        out = [(name, value) for kind, name, value in self.fields if kind != "radio" and name not in chosen]
        return out + [(name, value) for name, value in chosen.items()]


@dataclass
class Page:
    html: str
    text: str
    links: list[tuple[str, str]]  # (href, text)
    forms: list[Form]
    headings: list[tuple[int, str, str]]  # (level, id, text)

    def form(self, css_class: str) -> Form:
        found = [f for f in self.forms if css_class in f.css.split()]
        assert found, css_class
        return found[0]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.forms: list[Form] = []
        self.headings: list[tuple[int, str, str]] = []
        self.text: list[str] = []
        self._link: list[str] | None = None
        self._href = ""
        self._heading: tuple[int, str] | None = None
        self._heading_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self._href, self._link = a["href"], []
        if tag == "form":
            self.forms.append(Form(a.get("class", ""), a.get("action", "")))
        if tag == "option" and "selected" in a and self.forms:
            kind, name, _ = self.forms[-1].fields[-1]
            self.forms[-1].fields[-1] = (kind, name, a.get("value", ""))
        if tag in ("input", "textarea", "select") and self.forms:
            kind = a.get("type", tag)
            self.forms[-1].fields.append((kind, a.get("name", ""), a.get("value", "")))
            if kind == "radio":
                self.forms[-1].radios.setdefault(a["name"], []).append(a["value"])
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._heading_text = (int(tag[1]), a.get("id", "")), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._link = None
        if self._heading and tag == f"h{self._heading[0]}":
            self.headings.append((*self._heading, " ".join("".join(self._heading_text).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._link is not None:
            self._link.append(data)
        if self._heading:
            self._heading_text.append(data)


def get(client: FlaskClient, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert "Set-Cookie" not in response.headers
    html = response.data.decode()
    main = html.split('<main id="main_content"', 1)[1].split("</main>", 1)[0]
    parser = _Parser()
    parser.feed(main)
    parser.close()
    return Page(html, " ".join("".join(parser.text).split()), parser.links, parser.forms, parser.headings)


def url(*pairs: tuple[str, str], **params: str) -> str:
    return "/ask?" + urlencode([*pairs, *params.items()])


def submit(client: FlaskClient, form: Form, **chosen: str) -> Page:
    assert form.action.startswith("/ask#"), form.action
    return get(client, "/ask?" + urlencode(form.pairs(**chosen)))


def ask_form(page: Page) -> Form:
    return page.form("ask-form")


def questions_shown(page: Page) -> list[str]:
    return [text.removeprefix("You asked: ") for level, _, text in page.headings
            if level == 2 and text.startswith("You asked:")]


# ---------------------------------------------------------------- the empty page


def test_the_empty_page_offers_starter_questions_by_role(client: FlaskClient, content: Content) -> None:
    page = get(client, "/ask")
    assert content.conversation is not None
    for starters in content.conversation.starters:
        for question in starters.questions:
            href = next(h for h, text in page.links if text == question)
            parts = urlsplit(href)
            assert parts.path == "/ask" and parts.fragment == "turn-1"
            assert dict(parse_qsl(parts.query)) == {"q": question}
    roles = [text for level, _, text in page.headings if level == 3]
    assert roles == ["For school and college staff", "For designated safeguarding leads",
                     "For youth and sport workers", "For police", "For health and social care staff"]
    assert ask_form(page).action.endswith("/ask#turn-1")


def test_a_starter_keeps_the_nation_chosen(client: FlaskClient) -> None:
    page = get(client, "/ask?nation=wales")
    starters = [h for h, _ in page.links if h.startswith("/ask?q=")]
    assert starters and all("nation=wales" in h for h in starters)


# ---------------------------------------------------------------- the thread


def test_each_question_stays_on_the_page_with_its_answer(client: FlaskClient) -> None:
    first = get(client, url(q=IMAGE))
    second = submit(client, ask_form(first), q=REMOVAL)
    third = submit(client, ask_form(second), q=LAW)
    assert questions_shown(third) == [IMAGE, REMOVAL, LAW]
    answers = [text for level, hid, text in third.headings if level == 3 and re.fullmatch(r"turn-\d-answer", hid)]
    assert len(answers) == 3
    assert answers[0] == "Should I look at the image or keep a copy as evidence?"
    assert answers[1] == "How can I get a nude image of a child taken down?"


def test_the_thread_is_carried_in_the_form_and_the_address_only(client: FlaskClient) -> None:
    page = get(client, url(("t", IMAGE), ("t", REMOVAL), q=LAW, nation="wales"))
    form = ask_form(page)
    assert form.action.endswith("/ask#turn-4"), "the next turn is anchored"
    hidden = [(name, value) for kind, name, value in form.fields if kind == "hidden"]
    assert hidden == [("t", IMAGE), ("t", REMOVAL), ("t", LAW)]
    assert ("textarea", "q", "") in form.fields
    assert 'id="turn-3"' in page.html and 'class="turn turn--newest" id="turn-3"' in page.html


def test_only_the_latest_questions_are_carried_and_the_page_says_so(client: FlaskClient) -> None:
    earlier = [("t", f"{IMAGE} ({n})") for n in range(8)]
    page = get(client, url(*earlier, q=LAW))
    assert len(questions_shown(page)) == 6
    assert questions_shown(page)[0] == f"{IMAGE} (3)"
    assert "the page keeps your latest six" in page.text
    long = [("t", "é" * 500) for _ in range(5)]
    page = get(client, url(*long, q=LAW))
    assert len(questions_shown(page)) < 6, "the address stays short enough for every server on the way"


def test_every_address_on_a_long_conversation_fits_in_a_request_line(client: FlaskClient) -> None:
    earlier = [("t", "%" * 500) for _ in range(5)]
    page = get(client, url(*earlier, q="é" * 500, nation="wales"))
    addresses = [h for h, _ in page.links if h.startswith("/ask?")]
    addresses += ["/ask?" + urlencode(ask_form(page).pairs(q="é" * 500))]
    assert addresses
    assert all(len(f"GET {a} HTTP/1.1") < 8190 for a in addresses)


def test_questions_in_the_thread_are_cleaned(client: FlaskClient) -> None:
    page = get(client, url(("t", "what\x00 do\x1b I do"), ("t", "   "), q=LAW))
    assert questions_shown(page) == ["what do I do", LAW]


def test_a_form_sent_back_empty_keeps_the_thread(client: FlaskClient) -> None:
    page = get(client, url(("t", IMAGE), ("t", LAW), q=""))
    assert questions_shown(page) == [IMAGE, LAW]
    assert "Type a question in the box to ask it." in page.text


def test_start_again_clears_the_thread_and_keeps_the_nation(client: FlaskClient) -> None:
    page = get(client, url(("t", IMAGE), q=LAW, nation="scotland"))
    restart = next(h for h, text in page.links if text == "Start again")
    assert restart == "/ask?nation=scotland"
    empty = get(client, restart)
    assert questions_shown(empty) == [] and "Or start with a question like these" in empty.text


def test_an_old_follow_up_link_with_a_context_still_works(client: FlaskClient) -> None:
    api = client.get("/api/ask", query_string={"q": LAW}).get_json()
    page = get(client, url(q="and in Scotland?", context=api["context"]))
    assert "The law in Scotland" in page.text
    assert ("hidden", "context", api["context"]) in ask_form(page).fields


# ---------------------------------------------------------------- follow-ups


def followups(page: Page, turn: int) -> list[tuple[str, str]]:
    block = page.html.split(f'id="turn-{turn}-next"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<a href="([^"]+)" data-thread>([^<]+)</a>', block)


def test_follow_ups_are_chosen_from_the_question_and_carry_the_thread(client: FlaskClient) -> None:
    law = get(client, url(("t", IMAGE), q=LAW, nation="wales"))
    removal = get(client, url(("t", IMAGE), q=REMOVAL, nation="wales"))
    after_law, after_removal = followups(law, 2), followups(removal, 2)
    assert after_law and after_removal
    assert [t for _, t in after_law] != [t for _, t in after_removal], "not the same generic links"
    for href, text in after_law:
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        assert parts.fragment == "turn-3"
        assert parse_qsl(parts.query) == [("t", IMAGE), ("t", LAW), ("q", text), ("nation", "wales")]


def test_a_follow_up_already_asked_is_not_offered_again(client: FlaskClient) -> None:
    first = get(client, url(q=IMAGE))
    offered = [t for _, t in followups(first, 1)]
    assert offered
    page = get(client, url(("t", IMAGE), q=offered[0]))
    assert offered[0] not in [t for _, t in followups(page, 2)]


# ---------------------------------------------------------------- the law and the nation


def test_without_a_nation_a_law_answer_offers_a_choice_of_nation_not_all_the_law(client: FlaskClient) -> None:
    page = get(client, url(("t", IMAGE), q=LAW))
    law = page.html.split('id="turn-2-law"', 1)[1].split("</section>", 1)[0]
    assert "The law depends on where you work" in page.text
    assert 'class="law"' not in law, "no law is listed until a nation is chosen"
    choices = re.findall(r'<a href="([^"]+)" class="nation-choice__link" data-thread>([^<]+)</a>', law)
    assert [name for _, name in choices] == [NATION_NAMES[n] for n in NATIONS]
    for href, name in choices:
        parts = urlsplit(href.replace("&amp;", "&"))
        assert parts.fragment == "turn-2-law"
        assert parse_qsl(parts.query)[:2] == [("t", IMAGE), ("q", LAW)]
        assert ("nation", next(n for n in NATIONS if NATION_NAMES[n] == name)) in parse_qsl(parts.query)


def test_choosing_a_nation_shows_that_nations_law_across_the_thread(client: FlaskClient) -> None:
    page = get(client, url(("t", LAW), q="What does outcome 21 mean?", nation="scotland"))
    law = page.html.split('id="turn-1-law"', 1)[1].split("</section>", 1)[0]
    assert "The law in Scotland" in page.text
    extents = re.findall(r"<dt>Applies in</dt><dd>([^<]+)</dd>", law)
    assert extents and all("Scotland" in e or "all four" in e for e in extents)
    assert '<option value="scotland" selected>' in page.html


def test_a_turn_that_names_another_nation_moves_the_turns_after_it_there(client: FlaskClient) -> None:
    # The nation in the address is where the thread starts: "and in Scotland?" moves the questions after it.
    page = get(client, url(("t", LAW), ("t", "and in Scotland?"), q="Which law applies to sharing a nude?",
                           nation="england"))
    law = [text for level, hid, text in page.headings if hid.endswith("-law")]
    assert law[0] == "The law in England" and law[1:] and all(t == "The law in Scotland" for t in law[1:]), law


def test_a_nation_in_capitals_is_read_as_the_nation(client: FlaskClient) -> None:
    response = client.get("/api/ask?" + urlencode({"q": LAW, "nation": "Scotland"}))
    assert response.status_code == 200 and response.get_json()["nation"] == "scotland"


def test_a_bad_nation_is_a_400_page(client: FlaskClient) -> None:
    page = get(client, url(q="law", nation="narnia"), 400)
    assert "Unknown nation" in page.text


# ---------------------------------------------------------------- guided: "what do I do?"


def test_what_do_i_do_gets_the_first_steps_in_order_and_the_first_fact_to_answer(
    client: FlaskClient, content: Content
) -> None:
    assert content.conversation is not None
    page = get(client, url(q=WHAT_DO_I_DO))
    steps = page.html.split('<ol class="first-steps">', 1)[1].split("</ol>", 1)[0]
    shown = re.findall(r'<li><a href="([^"]+)">([^<]+)</a> <span class="cite">Source: ([^<]+)</span></li>', steps)
    expected = [(s.link, s.text, s.provenance.section) for s in content.conversation.first_steps.steps]
    assert [(h, t.replace("&#39;", "'"), c) for h, t, c in shown] == expected
    form = page.form("guide__form")
    assert form.radios == {"nation": list(NATIONS)}, "the decision aid asks where the child lives first"
    assert form.action.endswith("/ask#guide-next")
    assert ("hidden", "q", WHAT_DO_I_DO) in form.fields and ("hidden", "asked", "nation") in form.fields
    chosen = get(client, url(q=WHAT_DO_I_DO, nation="wales"))
    assert chosen.form("guide__form").radios == {"danger": ["yes", "no"]}, "a nation chosen is not asked again"


def test_each_answer_narrows_what_comes_next_until_the_decision_aids_result(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO))
    asked = []
    for _ in range(12):
        if not any("guide__form" in f.css for f in page.forms):
            break
        form = page.form("guide__form")
        (name, options), = form.radios.items()
        asked.append(name)
        page = submit(client, form, **{name: "yes" if name == "adult" else "wales" if name == "nation" else "no"})
    assert asked == ["nation", "danger", "adult", "shared"], "a yes to a criterion is enough: no more of them"
    aid = urlencode({"nation": "wales", "danger": "no", "adult": "yes"})
    decided = get(client, "/decide?" + aid)
    title = re.search(r"<h1[^>]*>([^<]+)</h1>", decided.html)
    assert title and f'id="guide-next" class="heading-m guide__outcome" tabindex="-1" data-focus>{title.group(1)}' \
        in page.html
    assert "/decide?" + aid.replace("&", "&amp;") in page.html
    for text in ("The contacts for a child who lives in Wales", "In Wales:", "The guidance's other steps"):
        assert text in page.text and text in decided.text.replace("’", "'"), text


def test_immediate_danger_shows_999_first_and_asks_nothing_more(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, danger="yes"))
    assert not any("guide__form" in f.css for f in page.forms)
    result = page.html.split('id="guide-next"', 1)[1]
    assert result.startswith(' class="emergency-panel__heading"')
    assert result.index('href="tel:999"') < result.index("</ol>")
    assert "Call 999 now" in page.text


def test_an_image_that_has_spread_brings_getting_it_taken_down_first(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, nation="england", shared="yes", **ALL_NO))
    others = page.html.split('<ol class="steps outcome-steps next-steps">', 1)[1]
    first = others.split("</li>", 1)[0]
    assert re.search(r"getting-an-image-removed[^\"]*#ways-to-remove", first) and "This applies:" in first
    page = get(client, url(q=WHAT_DO_I_DO, nation="england", shared="no", **ALL_NO))
    assert "This applies:" not in page.text


def test_an_answer_can_be_changed(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, nation="england", shared="no", **ALL_NO))
    change = [h.replace("&amp;", "&") for h, text in page.links if text.startswith("Change")]
    assert len(change) == 8, "where the child lives, immediate danger, the five criteria, whether it spread"
    assert parse_qsl(urlsplit(change[0]).query) == [("q", WHAT_DO_I_DO)], "a new nation starts the questions again"
    assert parse_qsl(urlsplit(change[1]).query) == [("q", WHAT_DO_I_DO), ("nation", "england")]
    assert parse_qsl(urlsplit(change[2]).query) == [("q", WHAT_DO_I_DO), ("nation", "england"), ("danger", "no")]


def test_a_question_sent_back_unanswered_says_what_to_do(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, asked="nation"))
    assert "Error: Choose an answer" in page.text
    assert "<title>Error: " in page.html


@pytest.mark.parametrize("facts", [{"danger": "maybe"}, {"adult": "yes"}, {**ALL_NO, "shared": "perhaps"}])
def test_garbled_facts_are_a_400_page(client: FlaskClient, facts: dict[str, str]) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, nation="wales", **facts), 400)
    assert "Start again" in page.text


def test_leaving_the_nation_unchosen_starts_the_guided_questions_again(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, nation="wales", danger="no", adult="no"))
    again = submit(client, ask_form(page), q=LAW, nation="")
    assert again.form("guide__form").radios == {"nation": list(NATIONS)}
    urgent = get(client, url(q=WHAT_DO_I_DO, danger="yes"))
    assert "Call 999 now" in urgent.text, "a child in immediate danger gets 999 first, nation or not"


def test_the_facts_stay_with_later_questions_and_leave_with_the_guided_answer(client: FlaskClient) -> None:
    page = get(client, url(q=WHAT_DO_I_DO, nation="wales", danger="no", adult="no"))
    hidden = [(n, v) for kind, n, v in ask_form(page).fields if kind == "hidden"]
    assert ("danger", "no") in hidden and ("adult", "no") in hidden
    later = get(client, url(("t", WHAT_DO_I_DO), q=LAW, nation="wales", danger="no", adult="no"))
    assert later.form("guide__form").radios == {"coerced": ["yes", "no"]}
    without = get(client, url(q=LAW, nation="wales", danger="no", adult="no"))
    assert not [n for kind, n, _ in ask_form(without).fields if n in ("danger", "adult")]


def test_a_calm_situation_with_what_do_i_do_gets_steps_and_its_own_section(client: FlaskClient) -> None:
    page = get(client, url(q="A year 8 boy sent a nude to a girl in his class, what should I do?"))
    assert "What to do first" in page.text
    assert "The part of the guidance closest to your question:" in page.text


def test_an_urgent_turn_shows_999_before_the_answer(client: FlaskClient) -> None:
    page = get(client, url(("t", IMAGE), q=URGENT))
    turn = page.html.split('id="turn-2"', 1)[1]
    assert turn.index('class="emergency-panel"') < turn.index('id="turn-2-answer"')
    assert turn.index("tel:999") < turn.index("tel:08088005000")


def test_the_api_gives_the_first_steps_too(client: FlaskClient, content: Content) -> None:
    assert content.conversation is not None
    body = client.get("/api/ask", query_string={"q": WHAT_DO_I_DO}).get_json()
    assert body["answered"] is True
    assert [s["url"] for s in body["steps"]] == [s.link for s in content.conversation.first_steps.steps]
    assert all(s["source"]["document"] == "nspcc-sexting-2020" for s in body["steps"])
    assert client.get("/api/ask", query_string={"q": LAW}).get_json()["steps"] == []


def test_every_link_in_a_conversation_lands_on_its_fragment(client: FlaskClient) -> None:
    page = get(client, url(("t", WHAT_DO_I_DO), ("t", IMAGE), q=LAW, danger="no", nation="wales"))
    targets = [h.replace("&amp;", "&") for h, _ in page.links if h.startswith("/ask?") and "#" in h]
    targets += ["/ask?" + urlencode(ask_form(page).pairs(q=REMOVAL)) + "#" + ask_form(page).action.split("#")[1]]
    assert len(targets) >= 5
    for target in targets:
        address, _, fragment = target.partition("#")
        assert f'id="{fragment}"' in get(client, address).html, target


def test_a_contact_with_no_number_to_ring_says_how_to_reach_it_in_the_turn(client: FlaskClient, content: Content
                                                                          ) -> None:
    # A crisis text line (no phone number, no email) is of no use in the list as a bare link to its website.
    page = get(client, url(q="she says she wants to end it all tonight because everyone has seen her nudes"))
    contacts = page.html.split('class="turn__contacts"', 1)[1]
    shown = [c for c in content.contacts if c.name in contacts and not c.phone and not c.email and c.url]
    assert shown, "the turn lists a contact reached only through its website"
    for contact in shown:
        assert str(escape(contact.when)) in contacts, contact.id
