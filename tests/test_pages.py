"""The pages: the layout on every route, the parts each page type promises, working links, escaping."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from kb import IndexHolder, OpenIndex
from kb.index import Memo
from kb.model import LAW_GROUPS, NATION_NAMES, NATIONS, Content

PAGES = [
    "/", "/?audience=dsl", "/search", "/search?q=nudes", "/search?q=zxqvbnm+qwzzy", "/ask",
    "/ask?q=what+should+I+do+with+a+nude+image", "/ask?q=Can+you+give+me+a+recipe+for+banana+bread%3F",
    "/articles/what-to-do-with-an-image", "/legislation", "/legislation/scotland", "/references", "/contacts",
    "/glossary", "/about", "/accessibility", "/privacy", "/changes", "/report-a-mistake",
]
TASKS = ["I have found out about an image", "A young person has told me", "Do I need to refer?",
         "Getting an image removed", "Our policy and procedures", "The law where I work"]
HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>&amp;"


@dataclass
class Page:
    """What a page is made of, as the tests look at it."""

    ids: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    scripts: list[dict[str, str | None]] = field(default_factory=list)
    styles: int = 0
    style_attrs: int = 0
    inline_handlers: int = 0
    forms: list[dict[str, str | None]] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    text: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._heading: int | None = None
        self._heading_text: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.page.ids.append(str(a["id"]))
        if tag == "a" and a.get("href"):
            self.page.links.append(str(a["href"]))
        if tag == "script":
            self.page.scripts.append(a)
        if tag == "style":
            self.page.styles += 1
        if "style" in a:
            self.page.style_attrs += 1
        self.page.inline_handlers += sum(1 for k in a if k.startswith("on"))
        if tag == "form":
            self.page.forms.append(a)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = int(tag[1])
            self._heading_text = []

    def handle_endtag(self, tag: str) -> None:
        if self._heading and tag == f"h{self._heading}":
            self.page.headings.append((self._heading, " ".join("".join(self._heading_text).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._heading:
            self._heading_text.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = " ".join("".join(self._text).split())


def parse(html: bytes) -> Page:
    parser = _Parser()
    parser.feed(html.decode("utf-8"))
    parser.close()
    return parser.page


def get(client: FlaskClient, url: str, status: int = 200) -> tuple[bytes, Page]:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return response.data, parse(response.data)


# ---------------------------------------------------------------- every page


@pytest.mark.parametrize("url", PAGES + ["/articles/nope", "/search?nation=atlantis"])
def test_every_page_has_the_layout_and_the_emergency_strip(client: FlaskClient, url: str) -> None:
    status = 404 if "nope" in url else 400 if "atlantis" in url else 200
    html, page = get(client, url, status)
    assert b'<html lang="en-GB">' in html
    assert page.links[0] == "#main_content" and "main_content" in page.ids
    strip = re.search(rb'<aside class="emergency".*?</aside>', html, re.S)
    assert strip, url
    for text in (b"999", b"0808 800 5000", b"help@nspcc.org.uk", b"0800 1111", b"immediate danger"):
        assert text in strip.group(0)
    assert "Sexting: advice for professionals, 01 Oct 2020" in page.text
    assert "It is not the NSPCC and it is not legal advice." in page.text
    for path in ("/privacy", "/accessibility", "/changes", "/report-a-mistake", "/about"):
        assert path in {urlsplit(link).path for link in page.links}
    assert "Check online for the latest version" in page.text
    assert [level for level, _ in page.headings][0] == 1
    assert len([h for h in page.headings if h[0] == 1]) == 1


@pytest.mark.parametrize("url", PAGES)
def test_no_page_has_inline_script_or_style(client: FlaskClient, url: str) -> None:
    _, page = get(client, url)
    assert page.scripts and all(s.get("src", "").startswith("/static/") for s in page.scripts)  # type: ignore[union-attr]
    assert page.styles == 0 and page.style_attrs == 0 and page.inline_handlers == 0


@pytest.mark.parametrize("url", PAGES)
def test_every_form_reads_with_get_only(client: FlaskClient, url: str) -> None:
    _, page = get(client, url)
    assert all(form.get("method") == "get" for form in page.forms)


@pytest.mark.parametrize("url", PAGES)
def test_ids_on_a_page_are_unique(client: FlaskClient, url: str) -> None:
    _, page = get(client, url)
    assert len(page.ids) == len(set(page.ids)), [i for i in page.ids if page.ids.count(i) > 1]


def test_every_internal_link_and_fragment_lands(client: FlaskClient, content: Content) -> None:
    pages = PAGES + [a.url for a in content.articles] + [f"/legislation/{n}" for n in NATIONS]
    seen: dict[str, Page] = {}
    missing = []
    for url in pages:
        _, page = get(client, url)
        seen[url] = page
        for link in page.links:
            if link.startswith("#"):
                if link[1:] not in page.ids:
                    missing.append((url, link))
                continue
            if not link.startswith("/") or link.startswith("/static/"):
                continue
            path, _, fragment = link.partition("#")
            if path.startswith(("/search", "/ask")):
                continue
            if path not in seen:
                seen[path] = get(client, path)[1]
            if fragment and fragment not in seen[path].ids:
                missing.append((url, link))
    assert not missing


# ---------------------------------------------------------------- home


def test_home_has_one_search_box_the_tasks_and_the_roles(client: FlaskClient, content: Content) -> None:
    html, page = get(client, "/")
    assert html.count(b'type="search"') == 1
    for task in TASKS:
        assert task in page.text
    for role in ("school-staff", "dsl", "youth-and-sport", "police", "health-and-social-care"):
        assert f"/?audience={role}#articles_heading" in page.links
    for article in content.articles:
        assert article.url in page.links
    assert "/legislation" in page.links


def test_a_role_lists_its_articles_first(client: FlaskClient, content: Content) -> None:
    html, page = get(client, "/?audience=police")
    article_list = parse(html.split(b'id="articles_heading"')[1])
    listed = [link for link in article_list.links if link.startswith("/articles/")]
    expected = [a for a in content.articles if "police" in a.audiences or "all" in a.audiences]
    assert sorted(listed) == sorted(a.url for a in expected)
    written_for_police = [a.url for a in expected if "police" in a.audiences]
    assert listed[: len(written_for_police)] == sorted(written_for_police, key=listed.index)
    assert "Guidance for police" in page.text


def test_an_unknown_role_is_a_400_page(client: FlaskClient) -> None:
    _, page = get(client, "/?audience=astronauts", 400)
    assert "Unknown role" in page.text


# ---------------------------------------------------------------- articles


def test_article_page_has_its_parts(client: FlaskClient, content: Content) -> None:
    for article in content.articles:
        html, page = get(client, article.url)
        assert (1, article.title) in page.headings
        assert article.summary in page.text
        assert "Last reviewed" in page.text
        assert "NSPCC, Sexting: advice for professionals, last updated 01 Oct 2020" in page.text
        assert b"data-print" in html
        for section in article.sections:
            assert f"#{section.anchor}" in page.links, "the contents list links every section"
            assert section.anchor in page.ids
            if section.provenance.section:
                assert f"section ‘{section.provenance.section}’" in page.text
            else:
                assert "Source: " in page.text and section.provenance.url in page.links


def test_article_cites_the_current_replacement_first(client: FlaskClient, content: Content) -> None:
    checked = 0
    for article in content.articles:
        ids = list(article.references) + [r for s in article.sections for r in s.refs]
        for ref_id in dict.fromkeys(ids):
            ref = content.reference(ref_id)
            if not ref or not ref.replaced_by:
                continue
            html, _ = get(client, article.url)
            refs = html.split(b'id="article_references"', 1)[1]
            current = refs.index(f'href="/references#{ref.replaced_by}"'.encode())
            old = refs.index(f'href="/references#{ref.id}"'.encode())
            assert current < old
            checked += 1
    assert checked, "some article cites a reference that has been replaced"


def test_article_renders_content_blocks_with_their_classes(client: FlaskClient) -> None:
    html, _ = get(client, "/articles/what-to-do-with-an-image")
    assert b'class="callout callout--warning"' in html
    assert b'<ol class="steps">' in html


def test_unknown_article_is_a_404_page_with_search(client: FlaskClient) -> None:
    html, page = get(client, "/articles/no-such-article", 404)
    assert "Page not found" in page.text
    assert b'action="/search"' in html


# ---------------------------------------------------------------- search


def test_search_with_empty_q_shows_the_form(client: FlaskClient) -> None:
    for url in ("/search", "/search?q=", "/search?q=+++"):
        html, page = get(client, url)
        assert b'id="q"' in html and "Search the guidance" in page.text
        assert 'class="result"' not in html.decode()


def test_search_shows_results_filters_and_facet_counts(client: FlaskClient) -> None:
    html, page = get(client, "/search?q=referral")
    assert b'class="result"' in html
    assert re.search(rb'name="nation"', html) and re.search(rb'name="topic"', html) and b'name="type"' in html
    # The counts are in the filters' options (one set of filters, not a second list of links).
    assert re.search(rb'<option value="referral">Referral \(\d+\)</option>', html)
    assert re.search(rb'<option value="wales">Wales \(\d+\)</option>', html)


def test_search_lists_the_crisis_lines_when_the_words_signal_a_risk_of_suicide(client: FlaskClient,
                                                                             content: Content) -> None:
    crisis = [c.name for c in content.contacts if c.risks]
    assert crisis
    risky, _ = get(client, "/search?q=going+to+kill+myself")
    calm, _ = get(client, "/search?q=referral")
    assert 'id="crisis_heading"' in risky.decode() and all(name in risky.decode() for name in crisis)
    assert 'id="crisis_heading"' not in calm.decode()


def test_search_filters_are_kept_in_the_form(client: FlaskClient) -> None:
    html, _ = get(client, "/search?q=law&nation=scotland&topic=law&type=legislation")
    assert b'<option value="scotland" selected>' in html
    assert b'<option value="law" selected>' in html
    assert b'<option value="legislation" selected>' in html


def test_search_shows_the_correction_and_a_link_to_search_instead(client: FlaskClient) -> None:
    _, page = get(client, "/search?q=sextign")
    assert "Showing results for sexting" in page.text
    instead = [link for link in page.links if "spell=0" in link]
    assert len(instead) == 1
    assert parse_qs(urlsplit(instead[0]).query)["q"] == ["sextign"]
    _, plain = get(client, instead[0])
    assert "Showing results for" not in plain.text


def test_search_snippets_contain_only_mark(client: FlaskClient) -> None:
    html, _ = get(client, "/search?q=image+phone&type=all")
    snippets = re.findall(rb'<p class="result__snippet">(.*?)</p>', html, re.S)
    assert snippets
    for snippet in snippets:
        assert set(re.findall(rb"<[^>]*>", snippet)) <= {b"<mark>", b"</mark>"}


def test_no_results_offers_the_tasks_and_the_contacts(client: FlaskClient) -> None:
    _, page = get(client, "/search?q=zxqvbnm+qwzzy&spell=0")
    assert "No results for ‘zxqvbnm qwzzy’" in page.text
    for task in TASKS:
        assert task in page.text
    assert "Childline" in page.text.split("If you need help now")[1]


def test_bad_search_filters_are_a_400_page(client: FlaskClient) -> None:
    for url in ("/search?q=x&nation=mars", "/search?q=x&topic=cake", "/search?q=x&type=pictures"):
        _, page = get(client, url, 400)
        assert "Unknown" in page.text


# ---------------------------------------------------------------- ask


def test_ask_with_empty_q_shows_the_form_with_the_nation_picker(client: FlaskClient) -> None:
    html, _ = get(client, "/ask")
    form = re.search(rb'<form [^>]*class="ask-form".*?</form>', html, re.S)
    assert form
    assert b'name="q"' in form.group(0) and b'<select id="nation" name="nation"' in form.group(0)


def test_ask_page_shows_the_answer_with_provenance_and_a_link(client: FlaskClient, content: Content) -> None:
    html, page = get(client, "/ask?q=can+I+keep+a+copy+of+a+nude+image")
    assert "You asked: can I keep a copy of a nude image" in page.text
    answer_links = [link for link in page.links if re.fullmatch(r"/articles/[a-z0-9-]+#[a-z0-9-]+", link)]
    assert answer_links
    slug, anchor = answer_links[0][len("/articles/"):].split("#")
    article = content.article(slug)
    assert article
    section = next(s for s in article.sections if s.anchor == anchor)
    assert (3, section.heading) in page.headings
    assert "From the 2020 guidance:" in page.text or "Source:" in page.text
    assert b'<input type="hidden" name="t" value="can I keep a copy of a nude image">' in html


def test_urgent_question_shows_the_emergency_panel_above_the_answer(client: FlaskClient) -> None:
    html, _ = get(client, "/ask?q=A+pupil+has+just+told+me+she+is+going+to+kill+herself+tonight")
    panel = html.index(b'class="emergency-panel"')
    assert panel < html.index(b'id="turn-1-answer"')
    assert html.index(b"tel:999", panel) < html.index(b"tel:08088005000", panel)


def test_uncovered_question_says_so_plainly(client: FlaskClient) -> None:
    _, page = get(client, "/ask?q=Can+you+give+me+a+recipe+for+banana+bread%3F")
    assert "The guidance does not cover this" in page.text
    assert "Who to contact" in page.text and "0808 800 5000" in page.text
    assert "I have found out about an image" in page.text


def test_ask_without_a_nation_asks_to_choose_one_before_showing_law(client: FlaskClient) -> None:
    _, page = get(client, "/ask?q=Which+law+makes+it+a+crime+to+share+a+nude+image+of+a+child%3F")
    assert "The law depends on where you work" in page.text
    assert "Choose where you work" in page.text
    assert [link for link in page.links if "nation=scotland" in link and link.startswith("/ask?")]


def test_and_in_scotland_works_through_the_form(client: FlaskClient) -> None:
    law = "Which law makes it a crime to share a nude image of a child?"
    html, _ = get(client, "/ask?" + urlencode({"q": law}))
    assert f'<input type="hidden" name="t" value="{law}">'.encode() in html
    follow, page = get(client, "/ask?" + urlencode({"t": law, "q": "and in Scotland?"}))
    assert "The law in Scotland" in page.text
    turn = follow.split(b'id="turn-2-law"')[1].split(b"</section>")[0]
    extents = re.findall(rb"<dt>Applies in</dt><dd>([^<]+)</dd>", turn)
    assert extents and all(b"Scotland" in e or b"all four" in e for e in extents)


def test_a_bad_nation_on_ask_is_a_400_page(client: FlaskClient) -> None:
    _, page = get(client, "/ask?q=law&nation=narnia", 400)
    assert "Unknown nation" in page.text


# ---------------------------------------------------------------- law, references, contacts and the rest


def test_legislation_lists_every_item_once_with_an_anchor(client: FlaskClient, content: Content) -> None:
    html, page = get(client, "/legislation")
    for item in content.legislation:
        assert page.ids.count(item.id) == 1
    history = html.split(b'id="history_heading"')
    repealed = [i for i in content.legislation if i.status == "repealed"]
    for item in repealed:
        assert f'id="{item.id}"'.encode() in history[1]
    # One picker leads to each nation's law.
    for nation in NATIONS:
        assert f'<option value="{nation}">'.encode() in html


@pytest.mark.parametrize("nation", NATIONS)
def test_legislation_for_a_nation_shows_only_its_law_by_subject(
    client: FlaskClient, content: Content, nation: str
) -> None:
    html, page = get(client, f"/legislation/{nation}")
    here = [i for i in content.legislation if nation in i.nations]
    elsewhere = [i for i in content.legislation if nation not in i.nations]
    assert (1, f"The law in {NATION_NAMES[nation]}") in page.headings
    for item in here:
        assert item.id in page.ids
    for item in elsewhere:
        assert item.id not in page.ids
    groups = {LAW_GROUPS[i.group] for i in here if i.status != "repealed"}
    assert groups <= {text for level, text in page.headings if level == 2}
    assert "Applies in" in page.text and "Provision" in page.text
    if [i for i in here if (i.note or i.correction) and i.status != "repealed"]:
        assert "Changed or corrected since the 2020 guidance" in page.text


def test_an_unknown_nation_page_is_a_404(client: FlaskClient) -> None:
    get(client, "/legislation/atlantis", 404)


def test_references_are_grouped_by_kind_with_replacements(client: FlaskClient, content: Content) -> None:
    html, page = get(client, "/references")
    for ref in content.references:
        assert ref.id in page.ids
        if ref.replaced_by:
            entry = html.split(f'id="{ref.id}"'.encode())[1].split(b"</li>")[0]
            assert b"Replaced by:" in entry and f'href="#{ref.replaced_by}"'.encode() in entry
    assert "References listed in the 2020 guidance" in page.text


def test_contacts_lists_every_contact_999_first(client: FlaskClient, content: Content) -> None:
    html, page = get(client, "/contacts")
    positions = [html.index(f'id="{c.id}"'.encode()) for c in content.contacts]
    assert positions == sorted(positions)
    assert content.contacts[0].phone == "999"


def test_glossary_has_an_anchor_for_every_search_result(client: FlaskClient) -> None:
    _, page = get(client, "/glossary")
    hits = client.get("/api/search?q=nudes+sexting+pics+revenge&type=glossary&limit=50").get_json()["results"]
    assert hits
    for hit in hits:
        assert hit["url"].split("#")[1] in page.ids


def test_changes_lists_the_change_log(client: FlaskClient, content: Content) -> None:
    _, page = get(client, "/changes")
    for change in content.changes:
        assert change.summary.split(".")[0] in page.text


def test_report_a_mistake_says_where_to_write(make_app: Callable[..., Flask], client: FlaskClient) -> None:
    _, unset = get(client, "/report-a-mistake")
    assert "has not been set up" in unset.text
    configured = make_app(REPORT_MISTAKES_TO="corrections@example.org").test_client()
    for url in ("/report-a-mistake", "/articles/when-to-refer"):
        _, page = get(configured, url)
        assert "mailto:corrections@example.org" in page.links


def test_about_says_what_the_site_is_not(client: FlaskClient) -> None:
    _, page = get(client, "/about")
    assert "It is not the NSPCC" in page.text and "It is not legal advice" in page.text


def test_print_footer_has_the_date_and_the_address(client: FlaskClient) -> None:
    _, page = get(client, "/articles/when-to-refer")
    assert re.search(r"Printed \d{1,2} \w+ \d{4} from http://localhost/articles/when-to-refer", page.text)


# ---------------------------------------------------------------- escaping of what users type


@pytest.mark.parametrize(
    "url",
    [
        "/search?q={}", "/search?q=sextign+{}", "/search?q={}&spell=0", "/ask?q={}",
        "/ask?q=what+is+sexting+{}", "/ask?q=x&context={}", "/search?q=x&nation={}", "/search?q=x&topic={}",
        "/search?q=x&type={}", "/ask?q=x&nation={}", "/?audience={}", "/ask?t={}&q=x", "/ask?t=x&t={}",
        "/ask?q=what+do+I+do&danger={}", "/ask?q=what+do+I+do&danger=no&asked={}",
    ],
)
def test_reflected_query_is_escaped(client: FlaskClient, url: str) -> None:
    from urllib.parse import quote

    response = client.get(url.format(quote(HOSTILE)))
    assert response.status_code in (200, 400)
    html = response.data.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "\"'>" not in html
    if "q={}" in url and "nation" not in url and "topic" not in url and "type" not in url:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_did_you_mean_and_title_escape_the_query(client: FlaskClient) -> None:
    html, page = get(client, "/search?q=sextign+%3Cb%3Ebold%3C%2Fb%3E")
    assert "Search instead for sextign <b>bold</b>" in page.text
    assert b"<b>bold</b>" not in html
    assert b"<title>Search results for \xe2\x80\x98sextign &lt;b&gt;bold&lt;/b&gt;\xe2\x80\x99" in html


def test_a_declined_question_that_may_be_urgent_asks_whether_anyone_is_in_danger(content_path: Path, index_dir: Path,
                                                                                  ix: OpenIndex) -> None:
    # Everything served as below the scope threshold and the bound under which urgent words are about something
    # else (kb.rank.Model.outside): an emergency reads as maybe urgent and is declined, with 999 first.
    ranking = {**ix.learned["ranking"], "outside": 1.0, "threshold": 1.0}
    patched = replace(ix, learned={**ix.learned, "ranking": ranking}, memo=Memo())

    class Patched(IndexHolder):
        def get(self) -> OpenIndex | None:
            return patched

    app = create_app({"TESTING": True, "CONTENT_DIR": str(content_path), "INDEX_DIR": str(index_dir),
                      "BUILD_ON_START": False}, Patched(index_dir))
    html, _ = get(app.test_client(), "/ask?q=" + quote("he is parked outside the school waiting for her"))
    line = re.search(r"<p class=\"maybe-urgent\"><strong>(.*?)</strong>", html.decode())
    assert line and line.group(1) == "Is anyone in danger right now? Call 999."
    assert b"emergency-panel" not in html

    # Declined for that reason, the page says nothing of the guidance's subject: the reason is the scope model's.
    assert b"says the person at" not in html


def test_a_declined_emergency_of_an_adult_says_the_guidance_is_about_children(client: FlaskClient) -> None:
    told = "One of our apprentices, {}, has just said she will end her life tonight because her ex posted her nudes"
    html, _ = get(client, "/ask?q=" + quote(told.format(24)))
    text = " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())
    assert "Is anyone in danger right now? Call 999." in text
    assert "is about children and young people under 18, and your question says the person at risk is an adult" in text
    html, _ = get(client, "/ask?q=" + quote(told.format(15)))
    assert b"emergency-panel" in html and b"says the person at" not in html


@pytest.mark.parametrize("path", ["/search?q=a man is outside the school waiting for her now",
                                  "/ask?q=a man is outside the school waiting for her now"])
def test_the_emergency_links_carry_each_requests_own_nation(client: FlaskClient, path: str) -> None:
    """A link built in a template from a literal address carries the nation of the request that shows it, never
    the nation of the request that first compiled the template."""
    for nation in ("wales", "scotland", "", "northern-ireland"):
        page = client.get(f"{path}&nation={nation}").get_data(as_text=True)
        links = re.findall(r'href="([^"]*immediate-danger[^"]*)"', page)
        assert links, (path, nation)
        for link in links:
            carried = parse_qs(urlsplit(link.replace("&amp;", "&")).query).get("nation", [""])[0]
            assert carried == nation, (path, nation, link)


def test_a_young_person_writing_is_told_first_where_they_can_get_help(client: FlaskClient) -> None:
    page = client.get("/ask?q=he says he'll post my nudes tonight if i dont send more").get_data(as_text=True)
    panel = page[page.index('class="emergency-panel"'):]
    panel = panel[:panel.index("</section>")]
    assert "if you or anyone else is in danger" in panel and "safeguarding lead" not in panel
    aside = page[page.index("If you are a young person"):]
    assert "0800 1111" in aside[:aside.index("</aside>")]
    staff = client.get("/ask?q=a pupil says a man is outside the school waiting for her now").get_data(as_text=True)
    assert "If you are a young person" not in staff and "nominated child protection lead" in staff
