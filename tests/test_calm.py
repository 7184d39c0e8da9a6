"""Issue 13, calm pages and search that respects time: one nation carried everywhere by one picker, search that
reaches every result and answers short questions, quiet highlights and one set of filters, sources as a small line,
each correction boxed once, a plain summary of each nation's law, current guidance first, no placeholder or
internal id in what a reader sees, printed links in full."""

from __future__ import annotations

import html as html_module
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from kb import IndexHolder, OpenIndex, answer, search
from kb.analysis import stems
from kb.coverage import GENERIC
from kb.learn import engine
from kb.model import NATIONS, Content
from web.filters import first_sentence


@pytest.fixture(scope="module")
def ix(index_dir: Path) -> OpenIndex:
    """The session's index, opened."""
    opened = IndexHolder(index_dir).get()
    assert opened is not None
    return opened


# ---------------------------------------------------------------- reading a page


@dataclass
class Field:
    """A form control: its name, value (the selected option's, for a select) and the form it belongs to."""

    name: str
    value: str
    form: str | None
    tag: str = "input"


@dataclass
class Form:
    id: str | None
    method: str
    action: str


@dataclass
class Page:
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, the landmark it is in: header/main/footer)
    forms: list[Form] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    selects: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # id -> [(value, label)]
    text: list[str] = field(default_factory=list)  # every text node a reader may meet, outside scripts


class Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.landmarks: list[str] = []
        self.form_stack: list[int] = []
        self.select: tuple[str, str | None, str | None] | None = None  # (id, name, form attr)
        self.option: tuple[str, bool] | None = None
        self.option_text: list[str] = []
        self.chosen: str = ""
        self.skip = 0

    def _form(self, attr: str | None) -> str | None:
        if attr:
            return attr
        if self.form_stack:
            form = self.page.forms[self.form_stack[-1]]
            return form.id or f"#{self.form_stack[-1]}"
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("header", "main", "footer"):
            self.landmarks.append(tag)
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "a" and "href" in a:
            self.page.links.append((a["href"], self.landmarks[-1] if self.landmarks else ""))
        if tag == "form":
            self.page.forms.append(Form(a.get("id") or None, a.get("method", ""), a.get("action", "")))
            self.form_stack.append(len(self.page.forms) - 1)
        if tag == "input" and a.get("name"):
            self.page.fields.append(Field(a["name"], a.get("value", ""), self._form(a.get("form"))))
        if tag == "select":
            self.select = (a.get("id", ""), a.get("name"), a.get("form"))
            self.page.selects[a.get("id", "")] = []
            self.chosen = ""
        if tag == "option" and self.select:
            self.option = (a.get("value", ""), "selected" in a)
            self.option_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("header", "main", "footer") and self.landmarks:
            self.landmarks.pop()
        if tag in ("script", "style"):
            self.skip -= 1
        if tag == "form" and self.form_stack:
            self.form_stack.pop()
        if tag == "option" and self.select and self.option:
            value, selected = self.option
            self.page.selects[self.select[0]].append((value, " ".join("".join(self.option_text).split())))
            if selected:
                self.chosen = value
            self.option = None
        if tag == "select" and self.select:
            sid, name, form = self.select
            if name:
                self.page.fields.append(Field(name, self.chosen, self._form(form), "select"))
            self.select = None

    def handle_data(self, data: str) -> None:
        if self.option is not None:
            self.option_text.append(data)
        if not self.skip and data.strip():
            self.page.text.append(" ".join(data.split()))


def read(client: FlaskClient, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    reader = Reader()
    reader.feed(response.get_data(as_text=True))
    reader.close()
    return reader.page


def site_pages(content: Content) -> list[str]:
    """Every kind of page a reader can reach, each article and each nation's law."""
    return ["/", "/?audience=dsl", "/search", "/search?q=nudes", "/search?q=referral&nation=wales&page=2",
            "/search?q=law&type=all", "/search?q=zxqvbnm+qwzzy&spell=0", "/references", "/glossary", "/contacts",
            "/about", "/accessibility", "/privacy", "/changes", "/report-a-mistake", "/legislation",
            "/ask", "/ask?q=what+should+I+do+with+a+nude+image", "/ask?q=is+it+illegal+to+share+nudes",
            "/decide", "/record", "/policy", "/policy/check?point=law",
            *[a.url for a in content.articles], *[f"/legislation/{n}" for n in NATIONS]]


# ---------------------------------------------------------------- 3. one nation, everywhere

# Pages whose whole markup is ours; the others (ask, the decision aid, the record sheet, contacts) are checked for
# the header and footer, which every page shares.
WHOLE = ["/", "/search", "/search?q=referral", "/search?q=who+do+I+tell&page=1", "/articles/when-to-refer",
         "/articles/the-law", "/legislation", "/references", "/glossary", "/about", "/privacy", "/changes",
         "/policy", "/policy/check?point=law"]
SHARED_ONLY = ["/ask", "/decide", "/record", "/contacts"]


def carries(href: str, nation: str) -> bool:
    """A link keeps the nation: in its query, or in a law page's path (which names a nation on purpose)."""
    parts = urlsplit(href)
    if re.fullmatch(r"/legislation/[a-z-]+", parts.path):
        return True
    return parse_qs(parts.query).get("nation") == [nation]


@pytest.mark.parametrize("url", WHOLE + SHARED_ONLY + ["/legislation/scotland"])
def test_the_chosen_nation_is_carried_by_every_link_and_form(client: FlaskClient, url: str) -> None:
    nation = "scotland"
    if url.startswith("/legislation/"):
        page = read(client, url)  # the address names the nation already
    else:
        page = read(client, url + ("&" if "?" in url else "?") + f"nation={nation}")
    whole = url in WHOLE or url.startswith("/legislation/")
    lost = [href for href, where in page.links
            if href.startswith("/") and not href.startswith(("/static/", "/print.css"))
            and (whole or where in ("header", "footer")) and not carries(href, nation)]
    assert lost == [], f"{url}: links that drop the nation"
    for i, form in enumerate(page.forms):
        key = form.id or f"#{i}"
        if form.method != "get" or (not whole and key != "#0"):
            continue
        values = [f.value for f in page.fields if f.form == key and f.name == "nation"]
        assert values == [nation], f"{url}: form {form.action} does not carry the nation"


def test_no_nation_is_added_when_none_was_chosen(client: FlaskClient) -> None:
    page = read(client, "/articles/when-to-refer")
    assert not [href for href, _ in page.links if "nation=" in href]


def test_a_nation_that_is_not_one_of_the_four_is_never_carried(client: FlaskClient) -> None:
    page = read(client, "/articles/when-to-refer?nation=atlantis")
    assert not [href for href, _ in page.links if "nation=" in href]


PICKERS = {"/search?q=referral": "filter_nation", "/search": "filter_nation", "/ask": "nation",
           "/legislation": "law_nation", "/legislation/wales": "law_nation"}


def test_search_ask_and_the_law_share_one_nation_picker(client: FlaskClient) -> None:
    seen = {}
    for url, select_id in PICKERS.items():
        page = read(client, url)
        pickers = [f for f in page.fields if f.name == "nation" and f.tag == "select"]
        assert len(pickers) == 1, url
        options = [(value, re.sub(r" \(\d+\)$", "", label)) for value, label in page.selects[select_id]]
        assert options[0][0] == "", url  # one way to choose no nation (its words may suit the page)
        seen[url] = options[1:]
        html = client.get(url).get_data(as_text=True)
        assert "differ between the UK's nations" in html, url  # the picker's own hint
    assert len({tuple(options) for options in seen.values()}) == 1, seen
    assert [value for value, _ in seen["/ask"]] == list(NATIONS)


def test_the_law_picker_shows_the_chosen_nations_law(client: FlaskClient) -> None:
    response = client.get("/legislation?nation=northern-ireland&show=law")
    assert response.status_code == 302
    assert response.headers["Location"] == "/legislation/northern-ireland"
    page = read(client, "/legislation/northern-ireland")
    assert [f.value for f in page.fields if f.name == "nation" and f.tag == "select"] == ["northern-ireland"]
    assert read(client, "/legislation?nation=&show=law").links  # "not chosen": every nation's law


def test_the_header_law_link_leads_to_the_chosen_nations_law(client: FlaskClient) -> None:
    page = read(client, "/glossary?nation=wales")
    assert ("/legislation/wales", "header") in page.links


def test_a_bad_nation_on_a_page_with_the_picker_is_a_400(client: FlaskClient) -> None:
    read(client, "/legislation?nation=atlantis", 400)


# ---------------------------------------------------------------- 6. search that respects time

SHORT_QUESTIONS = ["who do I tell", "who to tell", "who do I call", "who do I ring", "where do I go",
                   "who should I speak to", "who do I report it to"]


@pytest.mark.parametrize("text", SHORT_QUESTIONS)
def test_short_questions_of_common_words_find_whom_to_tell(ix: OpenIndex, text: str) -> None:
    result = search(ix, text)
    assert result.total > 0, text
    assert any(h.slug == "when-to-refer" for h in result.hits[:3]), [h.heading for h in result.hits[:3]]


def test_who_do_i_tell_puts_the_section_that_says_whom_first(ix: OpenIndex) -> None:
    for text in ("who do I tell", "who to tell", "who should I tell"):
        assert search(ix, text).hits[0].anchor == "share-concerns", text


@pytest.mark.parametrize("text", SHORT_QUESTIONS)
def test_short_questions_of_common_words_are_answered_not_declined(ix: OpenIndex, text: str) -> None:
    # The guided Q&A answers what search finds: a question that says only what it wants to do asks it of the
    # site's subject.
    got = answer(ix, text)
    assert got.answered and got.section is not None, text
    assert got.section.anchor in [h.anchor for h in search(ix, text).hits[:3]], got.section.heading


def test_who_do_i_tell_is_answered_with_the_section_that_says_whom(ix: OpenIndex) -> None:
    for text in ("who do I tell", "who to tell", "who should I tell?"):
        got = answer(ix, text)
        assert got.section is not None and got.section.anchor == "share-concerns", text


@pytest.mark.parametrize("text", ["who do I report FGM to", "who do I tell about a DBS check",
                                  "who do I tell about the football"])
def test_whom_to_tell_about_something_else_is_still_declined(ix: OpenIndex, text: str) -> None:
    assert not answer(ix, text).answered, text


def test_words_found_nowhere_still_find_nothing(ix: OpenIndex) -> None:
    assert search(ix, "football").total == 0


RESULT_LINK = re.compile(r'<h3 class="result__title"><a href="([^"]+)">')


def test_pages_of_results_reach_every_result_once(client: FlaskClient) -> None:
    for query in ("q=nudes", "q=law&type=all", "q=image&nation=scotland"):
        url: str | None = f"/search?{query}"
        seen: list[str] = []
        total = pages = 0
        while url:
            html = client.get(url).get_data(as_text=True)
            pages += 1
            total = int(re.search(r'id="results_heading">(\d+) results?<', html).group(1))  # type: ignore[union-attr]
            seen += RESULT_LINK.findall(html)
            following = re.search(r'<a href="([^"]+)" rel="next"', html)
            url = following.group(1).replace("&amp;", "&") if following else None
        assert total > 20, query
        assert pages == -(-total // 20), query
        assert len(seen) == total and len(set(seen)) == total, query


def test_a_page_past_the_end_shows_the_last_page_and_a_bad_page_is_a_400(client: FlaskClient) -> None:
    page = read(client, "/search?q=nudes&page=99")
    assert any(re.match(r"Showing \d+ to \d+, page (\d+) of \1$", t) for t in page.text)
    for bad in ("0", "-1", "two", "1.5", "9999999"):
        read(client, f"/search?q=nudes&page={bad}", 400)


def test_search_offset_returns_the_next_results(ix: OpenIndex) -> None:
    first = search(ix, "image", limit=10)
    second = search(ix, "image", limit=10, offset=10)
    both = search(ix, "image", limit=20)
    assert [h.id for h in first.hits + second.hits] == [h.id for h in both.hits]
    assert first.total == second.total == both.total
    for kind in ("all", "legislation", "reference", "glossary"):
        whole = search(ix, "law image", kind=kind, limit=20)
        paged = search(ix, "law image", kind=kind, limit=5).hits + search(ix, "law image", kind=kind, limit=5,
                                                                              offset=5).hits
        assert [h.id for h in paged] == [h.id for h in whole.hits[:10]], kind


def test_the_api_pages_with_an_offset(client: FlaskClient) -> None:
    whole = client.get("/api/search?q=nudes&limit=30").get_json()
    rest = client.get("/api/search?q=nudes&limit=10&offset=20").get_json()
    assert [r["url"] for r in rest["results"]] == [r["url"] for r in whole["results"][20:30]]
    assert rest["total"] == whole["total"]
    for bad in ("-1", "x", "1.5"):
        response = client.get(f"/api/search?q=nudes&offset={bad}")
        assert response.status_code == 400 and "offset" in response.get_json()["error"]


def test_an_urgent_search_keeps_999_first_and_every_result_on_one_page_or_another(ix: OpenIndex) -> None:
    text = "a pupil says a man is coming to meet her tonight and she is scared"
    whole = search(ix, text, limit=50)
    assert whole.urgent and "immediate-danger" in (whole.hits[0].anchor, whole.hits[1].anchor)
    paged = [h.id for offset in range(0, whole.total, 7) for h in search(ix, text, limit=7, offset=offset).hits]
    assert paged == [h.id for h in whole.hits]


MARKED = re.compile(r"<mark>(.*?)</mark>")


@pytest.mark.parametrize("text", ["kid sent nudes on snapchat", "do I tell social services", "nudes",
                                  "image phone", "young person blackmailed", "sexting images of children"])
def test_highlights_mark_only_the_searchers_own_telling_words(ix: OpenIndex, text: str) -> None:
    stats = engine(ix).stats
    own = {s for s in stems(text) if s not in GENERIC and stats.df.get(s, 0) <= len(stats.stems) / 2}
    for kind in ("section", "all"):
        for hit in search(ix, text, kind=kind, limit=20).hits:
            for word in MARKED.findall(hit.snippet):
                assert stems(word) and stems(word)[0] in own, (text, word, hit.heading)


def test_highlights_leave_common_words_and_the_glossarys_meanings_alone(ix: OpenIndex) -> None:
    marked = Counter(w.lower() for h in search(ix, "kid sent nudes on snapchat", limit=20).hits
                     for w in MARKED.findall(h.snippet))
    assert not {"image", "images", "child", "site", "app", "social", "media", "nudes", "sharing"} & set(marked)
    marked = Counter(w.lower() for h in search(ix, "do I tell social services", limit=20).hits
                     for w in MARKED.findall(h.snippet))
    assert not {"child", "protection", "referral"} & set(marked)
    assert {"social", "services"} & set(marked)


def test_search_shows_one_set_of_filters_after_the_results(client: FlaskClient) -> None:
    html = client.get("/search?q=referral").get_data(as_text=True)
    for name in ("nation", "topic", "type"):
        assert html.count(f'name="{name}"') == 1, name
    page = read(client, "/search?q=referral")
    assert not [href for href, _ in page.links if href.startswith("/search?") and ("topic=" in href)]
    assert html.index('class="result"') < html.index('id="filters_heading"')
    assert re.search(r"Topic|Where do you work", html) and "(" in page.selects["filter_topic"][1][1]


def test_search_results_carry_no_source_banner(client: FlaskClient) -> None:
    html = client.get("/search?q=referral").get_data(as_text=True)
    assert 'class="provenance"' not in html and "From the 2020 guidance" not in html


# ---------------------------------------------------------------- 7. calm pages


def test_an_articles_sources_are_a_small_line_after_each_section_not_under_its_heading(
        client: FlaskClient, content: Content) -> None:
    for article in content.articles:
        html = client.get(article.url).get_data(as_text=True)
        assert not re.search(r"</h[23]>\s*<p class=\"(?:provenance|source-note)\"", html), article.slug
        assert "From the 2020 guidance:" not in html, article.slug
        assert html.count('class="source-note"') == len(article.sections), article.slug
        for section in article.sections:
            part = html.split(f'id="{section.anchor}"', 1)[1].split("</section>", 1)[0]
            note = re.search(r'<p class="source-note">(.*?)</p>', part, re.S)
            assert note, (article.slug, section.anchor)
            if section.provenance.section:
                assert f"section ‘{section.provenance.section}’" in note.group(1)
            else:
                assert f'href="{section.provenance.url}"' in note.group(1)


CORRECTION = re.compile(r'<div class="callout callout--correction">(.*?)</div>', re.S)


def test_each_correction_is_boxed_once_on_a_page(client: FlaskClient, content: Content) -> None:
    pages = ["/legislation", *[f"/legislation/{n}" for n in NATIONS], *[a.url for a in content.articles]]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        boxes = Counter(" ".join(re.sub(r"<[^>]+>", " ", b).split()) for b in CORRECTION.findall(html))
        assert [text for text, n in boxes.items() if n > 1] == [], url
    # Items that share one correction point to the one box.
    html = client.get("/legislation/scotland").get_data(as_text=True)
    assert 'class="law__correction-ref"' in html
    shared = [i for i in content.legislation if i.correction and "scotland" in i.nations]
    assert len({i.correction for i in shared}) == len(CORRECTION.findall(html))


def test_a_nations_law_page_opens_with_a_plain_summary(client: FlaskClient, content: Content) -> None:
    for nation in NATIONS:
        html = client.get(f"/legislation/{nation}").get_data(as_text=True)
        headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)
        assert headings[0] == "In short", nation
        short = html.split('id="in_short_heading"', 1)[1].split("</section>", 1)[0]
        current = [i for i in content.legislation if nation in i.nations and i.current]
        assert short.count('href="#group_') == len({i.group for i in current}), nation
        # Every current item is summed up, not only the first of its subject (Scotland's s.24 and s.34).
        text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", short)).split())
        for item in current:
            assert " ".join(first_sentence(item.summary).split()) in text, (nation, item.id)
        assert "What has changed since 2020" not in html


def test_current_guidance_comes_first_in_the_references(client: FlaskClient) -> None:
    html = client.get("/references").get_data(as_text=True)
    kinds = re.findall(r'<h2 id="kind_\d+" class="heading-l">(.*?)</h2>', html)
    assert kinds[0] == "Guidance published since 2020"


PLACEHOLDERS = re.compile(
    r"(?i:gives no title|no title|not titled|untitled|\bWork cited as\b|\(cited as\b|\bTODO\b|\bTBC\b|\bFIXME\b|"
    r"\bplaceholder\b|\bundefined\b|\{\{|\}\}|\{%|%\}|\blorem\b)|\bNone\b(?!\s+[a-z])")


def internal_ids(content: Content) -> set[str]:
    """The ids content uses for its parts (with a hyphen: plain words such as "childline" are names too)."""
    ids = {r.id for r in content.references} | {i.id for i in content.legislation}
    ids |= {c.id for c in content.contacts} | {s.id for s in content.sources} | {a.slug for a in content.articles}
    return {i for i in ids if "-" in i}


def test_no_page_shows_a_placeholder_or_an_internal_id(client: FlaskClient, content: Content) -> None:
    ids = internal_ids(content)
    assert "home-office-2018" in ids and "legislation-gov-uk" in ids
    found = []
    for url in site_pages(content):
        text = " ".join(read(client, url).text)
        found += [(url, m.group()) for m in PLACEHOLDERS.finditer(text)]
        found += [(url, i) for i in ids if re.search(rf"(?<![\w/-]){re.escape(i)}(?![\w-])", text)]
    assert found == []


def test_the_scan_for_placeholders_and_ids_has_teeth(content: Content) -> None:
    ids = internal_ids(content)
    for text in ("see home-office-2018", "Work cited as UKCCIS, 2017a (the 2020 guidance gives no title)"):
        assert PLACEHOLDERS.search(text) or any(re.search(rf"(?<![\w/-]){re.escape(i)}(?![\w-])", text)
                                                for i in ids), text


def test_printed_links_within_the_site_are_absolute(make_app: object) -> None:
    app = make_app(SITE_URL="https://kb.example.org")  # type: ignore[operator]
    client = app.test_client()
    html = client.get("/articles/when-to-refer").get_data(as_text=True)
    assert re.search(r'<link rel="stylesheet" href="/print\.css" media="print">', html)
    css = client.get("/print.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    rule = css.get_data(as_text=True)
    assert '.main a[href^="/"]::after' in rule and '"https://kb.example.org" attr(href)' in rule


def test_a_strange_site_address_cannot_break_out_of_the_print_rule(make_app: object) -> None:
    app = make_app(SITE_URL='https://kb.example.org/"}body{x:y')  # type: ignore[operator]
    rule = app.test_client().get("/print.css").get_data(as_text=True)
    assert rule.count('"') == 8 and "}body" not in rule


# ---------------------------------------------------------------- 9. the header


def test_the_tools_are_in_the_menu(client: FlaskClient) -> None:
    page = read(client, "/articles/the-law")
    header = [href for href, where in page.links if where == "header"]
    for path in ("/decide", "/record", "/policy", "/ask", "/legislation", "/references", "/glossary", "/contacts"):
        assert path in header, path
