"""The tools: the referral decision aid, the incident record sheet and the policy checklist.

The decision aid is checked against the guidance for every combination of answers; the record sheet is
checked to have no way to send anything; the checklist is checked against the source's own lists.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.content import load_content, source_headings
from kb.model import NATION_NAMES, NATIONS, Content, Section
from kb.tools import (
    TOOL_URLS,
    BadState,
    Tools,
    check_policy,
    check_tools,
    decide,
    parse_tools,
    policy_markdown,
)

REFERRAL = "When to make a child protection referral"
SOURCE = "nspcc-sexting-2020"  # the document roles.yaml names
NATION_QUESTION = "Where in the UK does the child live?"
REFER_TITLE = "Make a child protection referral"
NO_REFERRAL_TITLE = "None of the five referral situations applies on your answers"
DANGER_TITLE = "Call 999 now"


# ---------------------------------------------------------------- helpers


@dataclasses.dataclass
class Html:
    """What a tool page is made of, as these tests look at it."""

    forms: list[dict[str, str | None]] = dataclasses.field(default_factory=list)
    controls: list[dict[str, str | None]] = dataclasses.field(default_factory=list)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    links: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    headings: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    ids: list[str] = dataclasses.field(default_factory=list)
    scripts: list[dict[str, str | None]] = dataclasses.field(default_factory=list)
    inline_style: int = 0
    text: str = ""
    main: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html = Html()
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._text: list[str] = []
        self._main: list[str] = []
        self._in_main = False
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.html.ids.append(str(a["id"]))
        if "style" in a or tag == "style":
            self.html.inline_style += 1
        if tag == "script":
            self.html.scripts.append(a)
        if tag == "form":
            self.html.forms.append(a)
            self._in_form = True
        if tag in ("input", "textarea", "select", "button"):
            # Which form a control belongs to (its action): the header's search form carries the nation too.
            action = self.html.forms[-1].get("action") if self._in_form and self.html.forms else None
            self.html.controls.append({"tag": tag, "in_form": "yes" if self._in_form else "no",
                                       "form_action": action, **a})
        if tag == "main":
            self._in_main = True
        if tag in ("a", "label") or re.fullmatch(r"h[1-6]", tag):
            self._open.append((tag, a, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main = False
        if tag == "form":
            self._in_form = False
        if self._open and self._open[-1][0] == tag:
            _, a, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if tag == "a":
                self.html.links.append((str(a.get("href")), text))
            elif tag == "label":
                self.html.labels[str(a.get("for"))] = text
            else:
                self.html.headings.append((int(tag[1]), text))

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._in_main:
            self._main.append(data)
        for _, _, parts in self._open:
            parts.append(data)


def parse(body: bytes) -> Html:
    parser = _Parser()
    parser.feed(body.decode("utf-8"))
    parser.close()
    parser.html.text = " ".join("".join(parser._text).split())
    parser.html.main = " ".join("".join(parser._main).split())
    return parser.html


def page(client: FlaskClient, url: str, status: int = 200) -> Html:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return parse(response.data)


def h1(html: Html) -> str:
    return next(text for level, text in html.headings if level == 1)


def decide_url(*pairs: tuple[str, str]) -> str:
    return "/decide" + (f"?{urlencode(pairs)}" if pairs else "")


def answers(tools: Tools, danger: str, criteria: tuple[str, ...], nation: str = "england") -> list[tuple[str, str]]:
    """Query pairs for the nation, an answer to immediate danger and then to each criterion in turn."""
    return [("nation", nation), (tools.decide.danger.id, danger)] + [
        (q.id, a) for q, a in zip(tools.decide.criteria, criteria, strict=False)]


def asked(criteria: tuple[str, ...]) -> tuple[str, ...]:
    """The answers the aid asks for: every one up to and including the first yes, none after it."""
    return criteria[:criteria.index("yes") + 1] if "yes" in criteria else criteria


def section(content: Content, link: str) -> Section:
    slug, _, anchor = link.removeprefix("/articles/").partition("#")
    article = content.article(slug)
    assert article, link
    return next(s for s in article.sections if s.anchor == anchor)


def numbered_items(section: Section) -> int:
    """How many items the section's numbered list has (the source's lists are restated as ones)."""
    return len(re.findall(r"<li>", section.html.split("<ol", 1)[1].split("</ol>", 1)[0]))


@pytest.fixture(scope="session")
def tools(content_path: Path) -> Tools:
    """The real tools.yaml."""
    parsed = parse_tools((content_path / "tools.yaml").read_text(encoding="utf-8"), "tools.yaml", source_headings(),
                         source=SOURCE)
    assert parsed.problems == ()
    assert isinstance(parsed.value, Tools)
    return parsed.value


def test_the_content_carries_its_tools(content: Content) -> None:
    # kb check validates tools.yaml with the rest, and answers find tools in the content they come from.
    assert isinstance(content.tools, Tools)


ALL_COMBINATIONS = list(itertools.product(("yes", "no"), repeat=5))


# ---------------------------------------------------------------- the data file


def test_the_tools_file_passes_its_checks(tools: Tools, content: Content) -> None:
    assert check_tools(tools, content, source_headings()) == []


def test_parse_reports_each_problem_at_its_line() -> None:
    text = "decide:\n  title: T\n  criteria: []\nrecord: 7\npolicy:\n  lists:\n    - id: Bad Id\nlinks: []\n"
    parsed = parse_tools(text, "tools.yaml", source=SOURCE)
    assert parsed.value is None
    messages = [(p.line, p.message) for p in parsed.problems]
    assert (3, "'criteria' must be a list of referral criteria") in messages
    assert any(line == 4 and "must be a mapping" in m for line, m in messages)
    assert any(line == 7 and "lower-case words" in m for line, m in messages)
    assert all(str(p).startswith("tools.yaml:") for p in parsed.problems)


def test_bad_yaml_is_a_problem_not_a_crash() -> None:
    parsed = parse_tools("decide: [\n", "tools.yaml", source=SOURCE)
    assert parsed.value is None and parsed.problems[0].message.startswith("bad YAML")


def test_check_finds_broken_links_unknown_headings_and_contacts(tools: Tools, content: Content) -> None:
    aid = tools.decide
    broken = dataclasses.replace(aid.criteria[0], link="/articles/when-to-refer#no-such-anchor")
    unsourced = dataclasses.replace(aid.criteria[1], provenance=dataclasses.replace(
        aid.criteria[1].provenance, section="A heading the source does not have"))
    route = dataclasses.replace(aid.routes[1], contacts=("no-such-contact",))
    changed = dataclasses.replace(tools, decide=dataclasses.replace(
        aid, criteria=(broken, unsourced, *aid.criteria[2:]), routes=(aid.routes[0], route, *aid.routes[2:])))
    messages = [p.message for p in check_tools(changed, content, source_headings())]
    assert "broken link '/articles/when-to-refer#no-such-anchor'" in messages
    assert "source 'A heading the source does not have' is not a source heading" in messages
    assert "contact id 'no-such-contact' is not in contacts.yaml" in messages


def test_every_part_of_every_tool_names_its_source_section(tools: Tools) -> None:
    headings = set(source_headings())
    provenances = ([tools.decide.provenance] + [q.provenance for q in tools.decide.questions]
                   + [s.provenance for o in tools.decide.outcomes for s in o.steps]
                   + [g.provenance for g in tools.record.groups]
                   + [pl.provenance for pl in tools.policy.lists])
    assert all(p.document == "nspcc-sexting-2020" and p.section in headings for p in provenances)


# ---------------------------------------------------------------- the decision aid: the rule


def test_decision_aid_asks_the_five_criteria_of_the_guidance(tools: Tools, content: Content) -> None:
    criteria_section = section(content, tools.decide.link)
    assert criteria_section.provenance.section == REFERRAL
    assert len(tools.decide.criteria) == numbered_items(criteria_section) == 5
    for q in tools.decide.criteria:
        assert q.provenance.section == REFERRAL and q.link == tools.decide.link
        assert q.question.endswith("?") and q.means and q.hint


@pytest.mark.parametrize("criteria", ALL_COMBINATIONS, ids="-".join)
def test_refer_if_and_only_if_a_criterion_is_met(tools: Tools, client: FlaskClient,
                                                 criteria: tuple[str, ...]) -> None:
    pairs = answers(tools, "no", criteria)
    met = [q for q, a in zip(tools.decide.criteria, criteria, strict=True) if a == "yes"]
    decision = decide(tools.decide, {k: [v] for k, v in pairs})
    assert decision.outcome is not None and decision.question is None
    assert decision.outcome.id == ("refer" if met else "no-referral")
    # One criterion met is enough: the first decides, and the answers after it are not asked (nor kept).
    assert list(decision.met) == met[:1]
    assert decision.query() == answers(tools, "no", asked(criteria))
    html = page(client, decide_url(*pairs))
    assert h1(html) == (REFER_TITLE if met else NO_REFERRAL_TITLE)
    listed = [q.short for q in tools.decide.criteria if q.short in html.main.split("What to do now")[0]]
    assert listed == [q.short for q in met[:1]]


@pytest.mark.parametrize("criteria", [(), *ALL_COMBINATIONS[:1], *ALL_COMBINATIONS[-1:], ("yes", "no"),
                                      ("no",)], ids=str)
def test_immediate_danger_is_asked_next_and_gives_999(tools: Tools, client: FlaskClient,
                                                      criteria: tuple[str, ...]) -> None:
    second = page(client, "/decide?nation=wales")
    assert h1(second) == tools.decide.danger.question
    # A yes to immediate danger wins over anything else in the address (criteria answered or not).
    for pairs in (answers(tools, "yes", criteria), answers(tools, "yes", criteria)[1:]):
        html = page(client, decide_url(*pairs))
        assert h1(html) == DANGER_TITLE
        assert ("tel:999", "Call 999") in html.links
        steps = html.main.split("What to do now", 1)[1]
        assert steps.index("Call 999") < steps.index("child protection lead") < steps.index("NSPCC Helpline")


@pytest.mark.parametrize("first_yes", range(5))
def test_a_criterion_that_signals_a_risk_lists_its_crisis_lines(tools: Tools, client: FlaskClient,
                                                               content: Content, first_yes: int) -> None:
    criterion = tools.decide.criteria[first_yes]
    html = page(client, decide_url(*answers(tools, "no", ("no",) * first_yes + ("yes",))))
    crisis = [c for c in content.contacts if c.risks]
    assert crisis
    shown = [c.name for c in crisis if c.name in html.main]
    # The suicidal or self-harming criterion brings in the crisis lines; the other criteria do not.
    assert shown == ([c.name for c in crisis] if criterion.risk else []), criterion.id
    assert any(q.risk == "self-harm" for q in tools.decide.criteria)


def test_an_unknown_risk_on_a_criterion_is_a_problem(content_path: Path) -> None:
    text = (content_path / "tools.yaml").read_text(encoding="utf-8").replace("risk: self-harm", "risk: sunburn", 1)
    parsed = parse_tools(text, "tools.yaml", source_headings(), source=SOURCE)
    assert any("unknown risk 'sunburn'" in p.message for p in parsed.problems)


def test_the_nation_is_asked_first(tools: Tools, client: FlaskClient) -> None:
    html = page(client, "/decide")
    assert h1(html) == NATION_QUESTION == tools.decide.nation.question
    radios = [(c["name"], c["value"]) for c in html.controls if c.get("type") == "radio"]
    assert radios == [("nation", n) for n in NATIONS]
    assert [html.labels[f"answer_{n.replace('-', '_')}"] for n in NATIONS] == [NATION_NAMES[n] for n in NATIONS]
    # The nation question says what to do if a child is in danger while it is being answered.
    assert "If a child is in immediate danger, call 999 now" in html.main
    assert "Question 1 of up to 7" in html.main
    # A nation chosen elsewhere on the site (nation= in the address) is already answered.
    assert h1(page(client, "/decide?nation=scotland")) == tools.decide.danger.question
    missing = client.get("/decide?asked=nation")
    assert missing.status_code == 200 and b"<title>Error: " in missing.data
    assert ("#answer_england", "Select where the child lives") in parse(missing.data).links


@pytest.mark.parametrize("first_yes", range(5))
def test_the_aid_stops_asking_at_the_first_criterion_met(tools: Tools, client: FlaskClient,
                                                          first_yes: int) -> None:
    """A yes that already means "refer" ends the questions: the next page is the result, not another question."""
    criteria = ("no",) * first_yes + ("yes",)
    html = page(client, decide_url(*answers(tools, "no", criteria)))
    assert h1(html) == REFER_TITLE
    assert not [c for c in html.controls if c.get("type") == "radio"]
    summary = html.main.split("Your answers", 1)[1]
    assert tools.decide.criteria[first_yes].question in summary
    assert all(q.question not in summary for q in tools.decide.criteria[first_yes + 1:])
    if first_yes < 4:
        assert "Later questions were not asked" in summary


@pytest.mark.parametrize("criterion", range(5))
def test_each_referral_criterion_leads_to_refer(tools: Tools, client: FlaskClient, criterion: int) -> None:
    criteria = tuple("yes" if i == criterion else "no" for i in range(5))
    html = page(client, decide_url(*answers(tools, "no", criteria)))
    assert h1(html) == REFER_TITLE
    assert tools.decide.criteria[criterion].short in html.main


def test_refer_says_who_to_contact_and_how(tools: Tools, client: FlaskClient, content: Content) -> None:
    html = page(client, decide_url(*answers(tools, "no", ("no", "yes", "no", "no", "no"))))
    contacts = {c.id: c for c in content.contacts}
    helpline, local = contacts["nspcc-helpline"], contacts["local-child-protection"]
    assert helpline.phone == "0808 800 5000" and helpline.email == "help@nspcc.org.uk"
    assert ("tel:08088005000", "0808 800 5000") in html.links
    assert ("mailto:help@nspcc.org.uk", "help@nspcc.org.uk") in html.links
    for text in ("Your organisation's child protection procedures", "NSPCC Helpline", local.name,
                 "The police", contacts["ceop"].name.split(" (")[0], "local council where the child lives",
                 "nominated child protection lead"):
        assert text in html.main, text
    for contact in (helpline, local, contacts["ceop"]):
        assert (contact.url, contact.link_text) in html.links, contact.id
    assert ("tel:101", "101") in html.links
    # Grooming was answered yes: the CEOP route says why it may apply.
    assert "This may apply: you answered yes to" in html.main
    assert ("/articles/when-to-refer#share-concerns",
            f"Read more: {section(content, '/articles/when-to-refer#share-concerns').heading}") in html.links
    assert f"From the 2020 guidance: {REFERRAL}" in html.main


def test_no_criterion_met_leads_to_procedures(tools: Tools, client: FlaskClient, content: Content) -> None:
    html = page(client, decide_url(*answers(tools, "no", ("no",) * 5)))
    assert h1(html) == NO_REFERRAL_TITLE
    steps = [text for level, text in html.headings if level == 3]
    assert steps == ["Follow your child protection procedures with your nominated child protection lead",
                     "If you are still worried, share your concerns", "Never view, copy, print or share the image",
                     "Assess the risk, as your procedures set out",
                     "Get the image taken down if it has been shared online", "Support the child",
                     "Record what happened and what you did", "Review how it was handled"]
    outcome = tools.decide.outcome("no-referral")
    for step in outcome.steps:
        assert (step.link, f"Read more: {section(content, step.link).heading}") in html.links
        assert f"From the 2020 guidance: {step.provenance.section}" in html.main
    assert ("/record", "Use the incident record sheet") in html.links


# The guidance's steps besides referring, by the words of their headings and the source section each restates.
OTHER_STEPS = {"never view": "What to do with a sexting image", "risk": "Procedures",
               "taken down": "Getting an explicit image removed from the internet",
               "support": "Continued support for children and young people",
               "record": "Recording and reviewing", "review": "Recording and reviewing"}
OUTCOME_ANSWERS = {"danger": ("yes", ()), "refer": ("no", ("no", "no", "yes")), "no-referral": ("no", ("no",) * 5)}


@pytest.mark.parametrize("outcome", OUTCOME_ANSWERS)
def test_every_outcome_lists_the_guidance_other_steps(tools: Tools, client: FlaskClient, content: Content,
                                                      outcome: str) -> None:
    """Refer or not, the guidance's other steps follow: removal, risk, support, record and review, each cited."""
    danger, criteria = OUTCOME_ANSWERS[outcome]
    html = page(client, decide_url(*answers(tools, danger, criteria)))
    assert h1(html) == {"danger": DANGER_TITLE, "refer": REFER_TITLE, "no-referral": NO_REFERRAL_TITLE}[outcome]
    others = html.main.split("The guidance's other steps, whatever the answers", 1)[1].split("Your answers", 1)[0]
    headings = [text for level, text in html.headings if level == 3]
    for words, source in OTHER_STEPS.items():
        step = next(s for s in tools.decide.next_steps if words in s.heading.lower())
        assert step.heading in headings and step.heading in others, words
        assert step.provenance.section == source
        assert (step.link, f"Read more: {section(content, step.link).heading}") in html.links
        assert f"From the 2020 guidance: {source}" in others
    contacts = {c.id: c for c in content.contacts}
    for contact_id in ("report-remove", "iwf", "childline"):
        assert (contacts[contact_id].url, contacts[contact_id].link_text) in html.links, contact_id
    assert ("/record", "Use the incident record sheet") in html.links


@pytest.mark.parametrize("nation", NATIONS)
def test_refer_names_whom_to_contact_in_the_nation(tools: Tools, client: FlaskClient, content: Content,
                                                   nation: str) -> None:
    html = page(client, decide_url(*answers(tools, "no", ("yes",), nation=nation)))
    assert h1(html) == REFER_TITLE
    assert f"The contacts for a child who lives in {NATION_NAMES[nation]}" in html.main
    contacts = {c.id: c for c in content.contacts}
    council, gateway = contacts["local-child-protection"], contacts["gateway-team-northern-ireland"]
    here, elsewhere = (gateway, council) if nation == "northern-ireland" else (council, gateway)
    assert (here.url, here.link_text) in html.links
    assert here.url.startswith(("https://www.gov.uk/find-local-council", "https://www.nidirect.gov.uk/"))
    assert elsewhere.url not in [href for href, _ in html.links]
    assert ("tel:101", "101") in html.links
    for route in content.routes:
        assert (route.title in html.main) == (route.nation == nation), route.title


NO_REFERRAL_CLAIM = re.compile(r"no (child protection )?referral is (needed|required|necessary)|"
                               r"(do not|don't|need not) (need to )?(make a |make any )?(child protection )?refer",
                               re.I)


@pytest.mark.parametrize("criteria", [("no",) * 5, *ALL_COMBINATIONS[1:3]], ids=str)
def test_every_outcome_keeps_the_guidance_routes_for_a_worried_professional(
    tools: Tools, client: FlaskClient, content: Content, criteria: tuple[str, ...]
) -> None:
    """The guidance says when to refer, never when not to: whatever the answers, it says to share a worry."""
    html = page(client, decide_url(*answers(tools, "no", criteria)))
    assert not NO_REFERRAL_CLAIM.search(html.main), NO_REFERRAL_CLAIM.search(html.main)
    contacts = {c.id: c for c in content.contacts}
    for text in ("nominated child protection lead", "Your organisation's child protection procedures",
                 "NSPCC Helpline", contacts["local-child-protection"].name, "The police",
                 contacts["ceop"].name.split(" (")[0], "999"):
        assert text in html.main, text
    assert ("tel:08088005000", "0808 800 5000") in html.links
    assert ("mailto:help@nspcc.org.uk", "help@nspcc.org.uk") in html.links


def test_no_tool_says_a_referral_is_not_needed(content_path: Path) -> None:
    text = " ".join((content_path / "tools.yaml").read_text(encoding="utf-8").split())
    assert not NO_REFERRAL_CLAIM.search(text), NO_REFERRAL_CLAIM.search(text)


def test_an_adult_involved_gives_no_route_the_sources_do_not_support(tools: Tools,
                                                                     client: FlaskClient) -> None:
    html = page(client, decide_url(*answers(tools, "no", ("yes", "no", "no", "no", "no"))))
    assert "works or volunteers with children" in html.main
    assert "follow your organisation's procedures" in html.main
    for invented in ("LADO", "designated officer", "Designated Officer"):
        assert invented not in html.text


def test_questions_come_one_a_page_in_order_with_the_answers_so_far(tools: Tools,
                                                                    client: FlaskClient) -> None:
    pairs: list[tuple[str, str]] = []
    for number, q in enumerate((tools.decide.nation, *tools.decide.questions), 1):
        html = page(client, decide_url(*pairs))
        assert h1(html) == q.question
        assert f"Question {number} of up to 7" in html.main
        assert "What this means" in html.main and q.means in html.main
        main_forms = [f for f in html.forms if f.get("action") == "/decide"]
        assert len(main_forms) == 1 and main_forms[0].get("method") == "get"
        radios = [c for c in html.controls if c.get("type") == "radio"]
        values = list(NATIONS) if q is tools.decide.nation else ["yes", "no"]
        assert [(r["name"], r["value"]) for r in radios] == [(q.id, v) for v in values]
        hidden = [(c["name"], c["value"]) for c in html.controls
                  if c.get("type") == "hidden" and c.get("form_action") == "/decide"]
        assert hidden == [*pairs, ("asked", q.id)]
        if pairs:
            assert (decide_url(*pairs[:-1]), "Back to the previous question") in html.links
        pairs.append((q.id, "scotland" if q is tools.decide.nation else "no"))


def test_decision_aid_works_without_javascript(tools: Tools, client: FlaskClient) -> None:
    """Submit each question page's own GET form, as a browser without JavaScript would."""
    url, choices = "/decide", iter(["wales", "no", "no", "yes"])
    for _ in range(4):
        html = page(client, url)
        form = next(f for f in html.forms if f.get("action") == "/decide")
        assert form.get("method") == "get"
        fields = [(str(c["name"]), str(c["value"])) for c in html.controls
                  if c.get("type") == "hidden" and c.get("form_action") == "/decide"]
        radio = next(c for c in html.controls if c.get("type") == "radio")
        url = f"/decide?{urlencode([*fields, (str(radio['name']), next(choices))])}"
    html = page(client, url)
    assert h1(html) == REFER_TITLE
    met = html.main.split("What to do now")[0]
    assert tools.decide.criteria[1].short in met and tools.decide.criteria[4].short not in met
    assert not [s for s in html.scripts if not s.get("src")] and html.inline_style == 0


def test_a_question_sent_without_an_answer_says_what_to_do(tools: Tools, client: FlaskClient) -> None:
    response = client.get(decide_url(("nation", "england"), ("danger", "no"), ("asked", "adult")))
    html = parse(response.data)
    assert response.status_code == 200
    assert h1(html) == tools.decide.criteria[0].question
    assert re.search(rb"<title>Error: ", response.data)
    assert ("#answer_yes", "Select yes or no") in html.links
    assert "Error: Select yes or no" in html.main


def test_the_result_is_a_printable_summary_of_every_answer(tools: Tools, client: FlaskClient,
                                                           app: Flask) -> None:
    pairs = answers(tools, "no", ("no", "yes"), nation="northern-ireland")
    html = page(client, decide_url(*pairs, ("content", "no")))
    with app.test_request_context():
        from web.filters import day, today

        answered = day(today())
    assert f"Answered on {answered}" in html.main
    summary = html.main.split("Your answers", 1)[1]
    assert f"{NATION_QUESTION} Northern Ireland Change" in summary
    for (qid, answer), q in zip(pairs[1:], tools.decide.questions, strict=False):
        assert q.id == qid
        assert f"{q.question} {answer.capitalize()} Change" in summary
    changes = [href for href, text in html.links if text.startswith("Change your answer")]
    assert changes == [decide_url(*pairs[:i]) for i in range(len(pairs))]
    assert any("data-print" in c for c in html.controls if c.get("tag") == "button")


@pytest.mark.parametrize("query", [
    "danger=maybe", "danger=yes&danger=no", "adult=yes", "danger=no&coerced=yes", "danger=no&adult=",
    "danger=no&adult=YES", "danger=no&adult=yes%00", "danger=%F0%9F%98%80", "nation=atlantis",
    "nation=england&nation=wales", "nation=england&adult=yes", "danger=no", "nation=england&danger=no&adult=",
    "nation=England",
])
def test_a_garbled_address_is_a_400_with_a_way_to_start_again(client: FlaskClient, query: str) -> None:
    html = page(client, f"/decide?{query}", status=400)
    assert h1(html) == "There is a problem with the address"
    assert ("/decide", "Start the questions again") in html.links


def test_unknown_parameters_are_ignored(tools: Tools, client: FlaskClient) -> None:
    html = page(client, "/decide?utm_source=x&step=9")
    assert h1(html) == tools.decide.nation.question


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["nation", "danger", "adult", "coerced", "content", "under-13", "harm",
                                           "asked", "x"]),
                          st.one_of(st.sampled_from(["yes", "no", "", "adult", "nation", *NATIONS]),
                                    st.text(max_size=8))),
                max_size=10))
def test_no_address_makes_the_decision_aid_fail(client: FlaskClient, pairs: list[tuple[str, str]]) -> None:
    response = client.get("/decide?" + urlencode(pairs))
    assert response.status_code in (200, 400)
    assert response.headers["Cache-Control"] == "no-store"


def test_decide_raises_badstate_for_garbled_answers(tools: Tools) -> None:
    for params in ({"danger": ["no", "no"]}, {"danger": ["perhaps"]}, {"danger": ["no"], "content": ["yes"]},
                   {"danger": ["no"]}, {"nation": ["wales"], "adult": ["no"]}, {"nation": ["mars"]}):
        with pytest.raises(BadState):
            decide(tools.decide, params)


def test_answers_never_reach_the_logs(tools: Tools, client: FlaskClient,
                                      caplog: pytest.LogCaptureFixture) -> None:
    marker = f"marker{uuid.uuid4().hex[:12]}"
    urls = [decide_url(*answers(tools, "no", ("yes", "no", "no", "no", "yes"))),
            decide_url(("danger", "no"), ("asked", marker)), decide_url(("danger", marker)),
            "/policy/check?point=law", f"/policy/check?point={marker}", "/policy/download?point=law"]
    with caplog.at_level(logging.DEBUG):
        for url in urls:
            client.get(url)
    lines = [r.getMessage() for r in caplog.records if r.name == "app"]
    assert len(lines) == len(urls)
    line_format = r"GET /(decide|policy/check|policy/download) \d{3} [\d.]+ms id=[0-9a-f]{12}"
    assert all(re.fullmatch(line_format, line) for line in lines), lines
    for secret in (marker, "adult=", "harm=", "point="):
        assert secret not in caplog.text


# ---------------------------------------------------------------- the record sheet


def test_record_sheet_posts_nothing(client: FlaskClient) -> None:
    response = client.get("/record")
    html = parse(response.data)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert html.forms == [] and b"<form" not in response.data
    fields = [c for c in html.controls if c["tag"] in ("input", "textarea")]
    assert len(fields) >= 12
    for c in html.controls:
        assert not {"form", "formaction", "formmethod"} & set(c), c
        assert c.get("type") != "submit", c
    # Nothing the browser remembers, nothing sent to a spelling service.
    assert all(c.get("autocomplete") == "off" for c in fields)
    assert all(c.get("spellcheck") == "false" for c in fields if c.get("type") in (None, "text"))


def test_record_sheet_has_a_labelled_field_for_what_the_guidance_says_to_record(
        tools: Tools, client: FlaskClient, content: Content) -> None:
    html = page(client, "/record")
    found_out = next(g for g in tools.record.groups
                     if g.provenance.section.startswith("Talking to a young person"))
    six = section(content, found_out.link).text
    assert "six things" in six
    expected = ["Date and time you are writing this", "Your role", "How the young person is feeling",
                "Is it an image, a video or a message?", "Who sent it", "Who appears in it",
                "Were any adults involved?",
                "Is it on a device that belongs to your organisation, or on a personal device?",
                "Actions taken", "Who was told, and when", "Date of the review", "Outcome of the review",
                *RECORD_ADDED.values()]
    text_fields = [c["id"] for c in html.controls if c["tag"] == "textarea" or c.get("type") == "text"]
    assert all(html.labels.get(str(fid)) for fid in text_fields), "every text field has a label"
    for label in expected:
        assert label in html.main, label
    for choice in ("An image", "A video", "A message", "Our organisation's device", "A personal device"):
        assert choice in html.labels.values()


def test_record_sheet_warns_never_to_view_copy_print_share_or_attach_the_image(client: FlaskClient) -> None:
    response = client.get("/record")
    body = response.data.decode()
    main = body.split('id="main_content"', 1)[1]
    warning = re.search(r'<div class="callout callout--warning[^"]*">(.*?)</div>', main, re.S)
    assert warning and main.index(warning.group(0)) < main.index("<textarea")
    assert "Never view, copy, print or share the image, and do not attach it" in " ".join(warning.group(1).split())


# Fields a written record needs beyond the six things to find out (issue 13), by field id.
RECORD_ADDED = {"happened-on": "When it happened, if known", "child-age": "Age of each child involved",
                "recorded-by": "Who recorded this", "decision": "What was decided",
                "decision-reason": "The reason for the decision, and who made it",
                "parents-told": "Were the parents or carers told?", "parents-not-told-why": "If not, why not",
                "reference": "Reference", "signature": "Signed"}


def test_record_sheet_has_when_age_who_decision_parents_reference_and_signature(
        tools: Tools, client: FlaskClient) -> None:
    html = page(client, "/record")
    fields = {f.id: f for g in tools.record.groups for f in g.entries}
    for field_id, label in RECORD_ADDED.items():
        field = fields[field_id]
        assert field.label == label
        control = "record_" + field_id.replace("-", "_")
        if field.kind in ("radios", "checkboxes"):
            assert f"{control}_1" in html.ids and label in html.main, field_id
        else:
            assert html.labels.get(control) == label, field_id
    decision = [html.labels[f"record_decision_{i}"] for i in (1, 2, 3)]
    assert decision == ["A child protection referral was made", "No referral was made", "Not decided yet"]
    assert [html.labels[f"record_parents_told_{i}"] for i in (1, 2, 3)] == ["Yes", "No", "Not yet"]
    # The signature is a line to sign on paper; it can be left blank on screen.
    signature = next(c for c in html.controls if c.get("id") == "record_signature")
    assert "record-field__signature" in str(signature.get("class"))
    # Each new part names the source section it serves.
    groups = {g.id: g.provenance.section for g in tools.record.groups}
    assert groups["decision"] == REFERRAL
    assert groups["parents"] == "Continued support for children and young people"
    assert groups["about"] == groups["sign"] == "Recording and reviewing"


# The guidance forbids viewing, copying, printing and sharing an image; it never forbids writing down what you
# were told about it (two referral criteria turn on "what you know about the image").
FORBIDS_RECORDING = re.compile(r"(never|not|don't) (describe|write down|record)[^.]{0,40}(image|picture)|"
                               r"(never|not) what the image shows", re.I)


def test_record_sheet_asks_what_you_were_told_about_the_image(tools: Tools, client: FlaskClient,
                                                              content: Content) -> None:
    html = page(client, "/record")
    assert not FORBIDS_RECORDING.search(html.main), FORBIDS_RECORDING.search(html.main)
    group = next(g for g in tools.record.groups if g.provenance.section == REFERRAL)
    assert group.link == tools.decide.link, "it serves the referral criteria"
    criteria = section(content, group.link).text
    assert "what you know about the image" in criteria
    (field,) = group.entries
    assert field.kind == "textarea" and html.labels.get("record_" + field.id.replace("-", "_")) == field.label
    assert "told" in field.label and "Never look at the image" in field.hint


# ---------------------------------------------------------------- the policy checklist


def test_policy_checklist_lists_every_point_of_the_source(tools: Tools, client: FlaskClient,
                                                          content: Content) -> None:
    lists = {pl.provenance.section: pl for pl in tools.policy.lists}
    assert set(lists) == {"Policy statement", "Procedures"}
    for heading, count in (("Policy statement", 6), ("Procedures", 4)):
        restated = section(content, lists[heading].link)
        assert restated.provenance.section == heading
        assert len(lists[heading].entries) == numbered_items(restated) == count
    html = page(client, "/policy")
    boxes = [c for c in html.controls if c.get("type") == "checkbox"]
    assert [c["value"] for c in boxes] == list(tools.policy.point_ids)
    assert all(c["name"] == "point" for c in boxes)
    for pl in tools.policy.lists:
        for p in pl.entries:
            assert html.labels[f"point_{p.id.replace('-', '_')}"] == p.label
            assert p.explain in html.main
        assert f"From the 2020 guidance: {pl.provenance.section}" in html.main
    form = next(f for f in html.forms if f.get("action") == "/policy/check")
    assert form.get("method") == "get"
    assert ("Check my policy" in html.main)


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_policy_check_shows_what_is_covered_and_what_is_missing(tools: Tools, client: FlaskClient,
                                                                data: st.DataObject) -> None:
    ticked = data.draw(st.lists(st.sampled_from(tools.policy.point_ids), unique=True))
    html = page(client, "/policy/check?" + urlencode([("point", p) for p in ticked]))
    assert f"cover {len(ticked)} of the 10 points" in html.main
    for check in check_policy(tools.policy, ticked):
        pl = check.points
        assert f"{pl.heading}: {len(check.covered)} of {len(pl.entries)} covered" in html.main
        part = html.main.split(f"{pl.heading}: ", 1)[1].split("From the 2020 guidance", 1)[0]
        missing, _, covered = part.partition("Covered")
        for p in pl.entries:
            assert (p.label in covered) == (p.id in ticked), p.id
            assert (p.label in missing) == (p.id not in ticked), p.id
    ordered = [p for p in tools.policy.point_ids if p in ticked]
    query = urlencode([("point", p) for p in ordered])
    assert (f"/policy/download{'?' + query if query else ''}", "Download as text") in html.links
    assert (f"/policy{'?' + query if query else ''}", "Change what you ticked") in html.links


def test_change_what_you_ticked_keeps_the_ticks(tools: Tools, client: FlaskClient) -> None:
    response = client.get("/policy?point=law&point=risk")
    checked = re.findall(rb'value="([a-z-]+)"[^>]* checked', response.data)
    assert checked == [b"law", b"risk"]


def test_policy_download_is_a_markdown_file_made_from_the_address(tools: Tools, client: FlaskClient) -> None:
    response = client.get("/policy/download?point=law&point=what-it-is&point=action")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="policy-checklist-\d{4}-\d{2}-\d{2}\.md"',
                        response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    text = response.data.decode()
    for pl in tools.policy.lists:
        for p in pl.entries:
            box = "[x]" if p.id in ("law", "what-it-is", "action") else "[ ]"
            assert f"- {box} {p.label}\n" in text
    assert "Your policy statement: 2 of 6 covered" in text and "Your procedures: 1 of 4 covered" in text
    assert "http://localhost/articles/the-law" not in text, "covered points need no pointer"
    assert "See http://localhost/articles/raising-awareness" in text


def test_policy_markdown_is_pure(tools: Tools) -> None:
    checks = check_policy(tools.policy, ["why"])
    text = policy_markdown(tools.policy, checks, "1 January 2030", "https://example.org/")
    assert text.startswith("# Check your policy and procedures\n")
    assert "Checked on 1 January 2030" in text and "https://example.org/policy" in text


@pytest.mark.parametrize("url", ["/policy?point=nope", "/policy/check?point=nope",
                                 "/policy/download?point=%00"])
def test_an_unknown_policy_point_is_a_400(client: FlaskClient, url: str) -> None:
    html = page(client, url, status=400)
    assert ("/policy", "Start the checklist again") in html.links


# ---------------------------------------------------------------- every tool page


TOOL_PAGES = ["/decide", "/decide?nation=england", "/decide?nation=england&danger=no", "/decide?danger=yes",
              "/decide?nation=wales&danger=no&adult=yes",
              "/decide?nation=northern-ireland&danger=no&adult=no&coerced=no&content=no&under-13=no&harm=no",
              "/record", "/policy", "/policy/check?point=law"]


@pytest.mark.parametrize("url", TOOL_PAGES + ["/decide?danger=x"])
def test_tool_pages_have_the_layout_and_nothing_inline(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    html = parse(response.data)
    assert b'<html lang="en-GB">' in response.data
    assert html.links[0] == ("#main_content", "Skip to main content")
    strip = re.search(rb'<aside class="emergency".*?</aside>', response.data, re.S)
    assert strip and b"999" in strip.group(0) and b"0808 800 5000" in strip.group(0)
    assert [level for level, _ in html.headings][0] == 1
    assert len([1 for level, _ in html.headings if level == 1]) == 1
    assert html.inline_style == 0
    assert all(str(s.get("src")).startswith("/static/") for s in html.scripts)
    assert len(html.ids) == len(set(html.ids))
    assert all(f.get("method") == "get" for f in html.forms)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_every_link_on_the_tool_pages_lands(client: FlaskClient) -> None:
    cache: dict[str, Html] = {}
    missing = []
    for url in TOOL_PAGES:
        html = page(client, url)
        for href, _ in html.links:
            if href.startswith("#"):
                if href[1:] not in html.ids:
                    missing.append((url, href))
                continue
            if not href.startswith("/") or href.startswith("/static/"):
                continue
            parts = urlsplit(href)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in cache:
                response = client.get(target)
                if response.status_code != 200:
                    missing.append((url, href))
                    continue
                cache[target] = parse(response.data) if response.mimetype == "text/html" else Html()
            if parts.fragment and parts.fragment not in cache[target].ids:
                missing.append((url, href))
    assert missing == []


def test_query_pairs_round_trip(tools: Tools) -> None:
    pairs = answers(tools, "no", ("no", "no", "no"), nation="scotland")
    decision = decide(tools.decide, {k: [v] for k, v in parse_qsl(urlencode(pairs))})
    assert decision.query() == pairs and decision.question == tools.decide.criteria[3]
    assert decision.nation == "scotland" and decision.query(-1) == pairs[:-1]


# ---------------------------------------------------------------- links from answers and the home page


@pytest.mark.parametrize(("heading", "url"), [
    (REFERRAL, "/decide"),
    ("Talking to a young person who has been involved in sexting", "/record"),
    ("Recording and reviewing", "/record"),
    ("Writing a sexting policy and procedures", "/policy"),
    ("Policy statement", "/policy"),
    ("Procedures", "/policy"),
])
def test_answers_from_a_section_link_to_its_tool(tools: Tools, heading: str, url: str) -> None:
    assert [u for _, u in tools.for_section(heading)] == [url]


def test_other_sections_link_to_no_tool(tools: Tools) -> None:
    assert tools.for_section("Key legislation") == []
    assert tools.for_section("No such heading") == []
    assert set(TOOL_URLS.values()) == {link.url for link in tools.links}


def test_home_leads_to_the_tools(client: FlaskClient) -> None:
    html = page(client, "/")
    assert ("/decide", "Do I need to refer?") in html.links
    assert any(href == "/articles/when-to-refer" and text.startswith("Read the guidance")
               for href, text in html.links)
    tools_part = html.main.split("Tools", 1)[1]
    for url in ("/decide", "/record", "/policy"):
        assert url in [href for href, _ in html.links]
    assert "Incident record sheet" in tools_part and "Check your policy and procedures" in tools_part


def test_a_broken_tools_file_keeps_the_last_good_tools(
        make_app: Callable[..., Flask], tmp_path: Path, content_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(content_path, broken)
    (broken / "tools.yaml").write_text("decide: [\n", encoding="utf-8")
    # The content check names the file and line; the site goes on serving the tools of its last good index.
    assert any(p.path.endswith("tools.yaml") and p.line == 2 for p in load_content(broken).errors)
    client = make_app(CONTENT_DIR=str(broken)).test_client()
    for url in ("/decide", "/record", "/policy"):
        assert client.get(url).status_code == 200
    assert client.get("/").status_code == 200
