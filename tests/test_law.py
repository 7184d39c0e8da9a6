"""The law today (issue 6): each nation sees exactly the law that extends to it, repealed law only as history,
every correction cited, current law in answers and search, nothing unconfirmed stated as fact."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from kb import IndexHolder, OpenIndex, search
from kb.answering import answer, contacts_for
from kb.model import CURRENT_STATUSES, NATION_NAMES, NATIONS, Content, Provenance, Section
from kb.related import choose_laws, laws_for
from kb.retrieve import Hit
from kb.tuning import DEFAULT

UK_WIDE = re.compile(r"\b(?:all (?:four )?UK nations|across the UK|UK-wide|throughout the UK|whole of the UK)\b", re.I)
REPORTED = re.compile(r"\b(?:2020 (?:page|guidance|text)|the source)\b", re.I)
SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


@pytest.fixture(scope="module")
def ix(index_dir: Path) -> OpenIndex:
    """The session's index, opened."""
    opened = IndexHolder(index_dir).get()
    assert opened is not None
    return opened


def json_of(client: FlaskClient, url: str, **params: str) -> Any:
    response = client.get(url, query_string=params)
    assert response.status_code == 200 and response.mimetype == "application/json", (url, response.status_code)
    return response.get_json()


def page_ids(html: str, content: Content) -> list[str]:
    """The legislation items a page shows (each law item carries its id)."""
    law_ids = {item.id for item in content.legislation}
    return [i for i in re.findall(r'\bid="([^"]+)"', html) if i in law_ids]


def split_history(html: str) -> tuple[str, str]:
    """A legislation page before and after its history heading."""
    before, marker, after = html.partition('id="history_heading"')
    return before, (marker + after)


def site_texts(content: Content) -> list[tuple[str, str]]:
    """Everything the site says, as (where, text)."""
    out: list[tuple[str, str]] = []
    for article in content.articles:
        out.append((article.path, f"{article.title}\n{article.summary}\n{article.lead_html}"))
        out += [(f"{article.path}#{s.anchor}", f"{s.heading}\n{s.text}") for s in article.sections]
    for item in content.legislation:
        out.append((f"law:{item.id}", "\n".join([item.title, item.provision, item.summary, item.note,
                                                   item.correction, item.in_force_note])))
    out += [(f"ref:{r.id}", f"{r.title}\n{r.note}") for r in content.references]
    out += [(f"glossary:{e.term}", e.definition) for e in content.glossary]
    out += [(f"change:{c.date}", c.summary) for c in content.changes]
    return out


# ---------------------------------------------------------------- nation by nation


@pytest.mark.parametrize("nation", NATIONS)
def test_each_nation_shows_exactly_the_law_that_extends_to_it(
    client: FlaskClient, content: Content, nation: str
) -> None:
    here = [item for item in content.legislation if nation in item.nations]
    # The law to apply today: in force, and not superseded by another item (its replaced_by).
    current = [item.id for item in here if item.current]
    repealed = [item.id for item in here if not item.current]
    assert current, f"{nation} has law"

    body = json_of(client, "/api/legislation", nation=nation)
    assert body["nation"] == nation
    assert [i["id"] for i in body["items"]] == [item.id for item in here]
    for item in body["items"]:
        assert nation in item["nations"]
    assert [i["id"] for i in body["items"] if i["current"]] == current
    assert all(i["status"] in CURRENT_STATUSES for i in body["items"] if i["id"] in current)

    response = client.get(f"/legislation/{nation}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"The law in {NATION_NAMES[nation]}" in html
    now, history = split_history(html)
    assert sorted(set(page_ids(now, content))) == sorted(current)
    assert sorted(set(page_ids(history, content))) == sorted(repealed)


# ---------------------------------------------------------------- repealed law is history

REPEALED_TOPICS = [
    "revenge porn",
    "Is it illegal to share an ex's private sexual photo to upset them?",
    "section 33 of the Criminal Justice and Courts Act 2015",
    "threatening to disclose a private sexual photograph after a break up",
    "Which law covers a teenager whose intimate video was posted by her ex?",
]


def test_repealed_law_exists_in_the_content(content: Content) -> None:
    assert [item for item in content.legislation if item.status == "repealed"], "the rule below has teeth"


@pytest.mark.parametrize("nation", [None, *NATIONS])
def test_repealed_law_is_never_shown_as_current_in_answers(
    client: FlaskClient, content: Content, nation: str | None
) -> None:
    for question in REPEALED_TOPICS:
        params = {"nation": nation} if nation else {}
        body = json_of(client, "/api/ask", q=question, **params)
        for item in body["legislation"]:
            law = content.law(item["id"])
            assert law is not None
            assert item["status"] in CURRENT_STATUSES and law.current, (question, nation, item["id"])


@pytest.mark.parametrize("nation", [None, *NATIONS])
def test_repealed_law_is_never_shown_as_current_in_search(ix: OpenIndex, content: Content, nation: str | None) -> None:
    for query in REPEALED_TOPICS:
        hits = search(ix, query, nation=nation, kind="legislation", limit=50).hits
        ranked = [h.anchor for h in hits]
        for hit in hits:
            law = content.law(hit.anchor)
            assert law is not None
            if law.current:
                continue
            assert re.search(r"repealed|not current|history", hit.heading, re.I), (query, hit.heading)
            # Where it still applies, the law that replaced it comes first.
            for newer in law.replaced_by:
                replacement = content.law(newer)
                if replacement and (nation is None or nation in replacement.nations):
                    assert newer in ranked and ranked.index(newer) < ranked.index(hit.anchor), (query, nation, ranked)


@pytest.mark.parametrize("url", ["/legislation", *[f"/legislation/{n}" for n in NATIONS]])
def test_repealed_law_is_shown_only_as_history(client: FlaskClient, content: Content, url: str) -> None:
    html = client.get(url).get_data(as_text=True)
    now, history = split_history(html)
    repealed = {item.id for item in content.legislation if item.status == "repealed"}
    assert not repealed & set(page_ids(now, content))
    if url == "/legislation":
        assert repealed <= set(page_ids(history, content))


def test_section_33_is_england_and_wales_and_repealed_in_2024(client: FlaskClient, content: Content) -> None:
    law = content.law("cjca-2015-s33")
    assert law is not None
    assert law.title == "Criminal Justice and Courts Act 2015" and law.provision.startswith("section 33")
    assert law.nations == ("england", "wales")
    assert law.status == "repealed"
    assert law.replaced_by == ("soa-2003-s66b-66d",)
    assert "31 January 2024" in law.note
    assert law.note_url.startswith("https://")
    replacement = content.law("soa-2003-s66b-66d")
    assert replacement is not None and replacement.current
    assert replacement.nations == ("england", "wales") and replacement.in_force_from == "2024-01-31"
    served = next(i for i in json_of(client, "/api/legislation")["items"] if i["id"] == "cjca-2015-s33")
    assert served["nations"] == ["england", "wales"]
    assert served["status"] == "repealed"
    assert served["replaced_by"] == ["soa-2003-s66b-66d"]
    assert "31 January 2024" in served["note"]


# ---------------------------------------------------------------- corrections


def correction_blocks(text: str) -> list[tuple[int, str]]:
    """Each `::: correction` block of an article's markdown, with its first line."""
    blocks, current, start = [], None, 0
    for n, line in enumerate(text.splitlines(), 1):
        if current is None and re.match(r"^:::\s*correction\b", line):
            current, start = [], n
        elif current is not None and re.match(r"^:::\s*$", line):
            blocks.append((start, "\n".join(current)))
            current = None
        elif current is not None:
            current.append(line)
    assert current is None, f"unclosed correction block at line {start}"
    return blocks


def test_every_correction_cites_a_source(content_path: Path, content: Content) -> None:
    found = 0
    for path in sorted((content_path / "articles").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        blocks = correction_blocks(text)
        found += len(blocks)
        for line, block in blocks:
            assert re.search(r"\]\(https://[^)\s]+\)", block), f"{path.name}:{line}: correction without an https link"
        article = content.article(path.stem)
        assert article is not None
        rendered = sum(s.html.count("callout--correction") for s in article.sections)
        assert rendered == len(blocks), f"{path.name}: every correction is shown as one"
    assert found, "the content corrects the 2020 text"
    for item in content.legislation:
        if item.correction:
            assert item.correction_url.startswith("https://"), item.id
        if item.note:
            assert item.note_url.startswith("https://"), item.id


# ---------------------------------------------------------------- current law in answers

REVENGE_PORN_QUESTIONS = [
    "Is revenge porn illegal?",
    "Which law covers revenge porn?",
    "What law applies if a pupil shares a classmate's intimate photo to humiliate her?",
    "Is it an offence for a boy to threaten to leak his ex-girlfriend's nudes?",
    "Is posting a deepfake nude of a classmate a crime?",
]


@pytest.mark.parametrize("question", REVENGE_PORN_QUESTIONS)
def test_asking_about_revenge_porn_in_wales_gives_current_law(
    client: FlaskClient, content: Content, question: str
) -> None:
    body = json_of(client, "/api/ask", q=question, nation="wales")
    assert body["answered"] is True
    ids = [item["id"] for item in body["legislation"]]
    assert "soa-2003-s66b-66d" in ids, ids
    assert "cjca-2015-s33" not in ids
    superseded = [i for i in ids if (law := content.law(i)) and law.replaced_by]
    assert not superseded, f"law that has been replaced is offered as current: {superseded}"
    heading = body["answer"]["heading"]
    others = [NATION_NAMES[n] for n in NATIONS if n != "wales" and NATION_NAMES[n] in heading]
    assert not others or "Wales" in heading, f"a section about another nation answers for Wales: {heading}"


def test_serious_crime_act_is_not_presented_as_uk_wide(client: FlaskClient, content: Content) -> None:
    items = [i for i in content.legislation if "Serious Crime Act" in f"{i.title} {i.provision}"]
    assert items
    for item in items:
        assert item.nations == ("england", "wales"), item.id
    for where, text in site_texts(content):
        for sentence in SENTENCE.split(text):
            if "Serious Crime Act" in sentence and UK_WIDE.search(sentence):
                assert REPORTED.search(sentence), f"{where}: {sentence}"
    for nation in ("scotland", "northern-ireland"):
        body = json_of(client, "/api/ask", q="Does the Serious Crime Act 2015 offence of sexual communication "
                       "with a child apply here?", nation=nation)
        assert body["legislation"], nation
        for entry in body["legislation"]:
            assert nation in entry["nations"], (nation, entry["id"])


def test_no_unconfirmed_detail_is_stated(content: Content) -> None:
    osa_sections = re.compile(
        r"(?:section|s\.)\s*(\d+)\w*\s+of\s+the\s+Online\s+Safety\s+Act|Online\s+Safety\s+Act(?:\s+2023)?,?\s+"
        r"(?:section|s\.)\s*(\d+)", re.I)
    unconfirmed = re.compile(r"not (?:been )?confirmed|unconfirmed|not yet in force|not in force", re.I)
    for where, text in site_texts(content):
        for match in osa_sections.finditer(text):
            number = match.group(1) or match.group(2)
            # Only s.187 (cyberflashing) and s.188 (sharing intimate images) are confirmed; the repealing
            # section for the 2015 offence is not.
            assert number in ("187", "188"), f"{where}: {match.group(0)}"
        for sentence in SENTENCE.split(text):
            if "66E" in sentence:
                assert unconfirmed.search(sentence), f"{where}: {sentence}"
    assert not [i.id for i in content.legislation if "66e" in i.id.lower() or "66E" in i.provision]
    # Exact commencement dates not confirmed: the items give none.
    for law_id in ("ja-ni-2016-s51", "soni-2008-art22a"):
        law = content.law(law_id)
        assert law is not None and law.in_force_from == "", law_id
    for ref_id in ("wales-sharing-nudes", "college-of-policing-briefing"):
        ref = content.reference(ref_id)
        assert ref is not None and ref.year == "", f"{ref_id}: publication date not confirmed"


def current_url(content: Content, ref_id: str) -> str:
    """A reference's own address: empty, or one that sources.yaml lists as verified."""
    ref = content.reference(ref_id)
    assert ref is not None
    verified = {v.url for doc in content.sources for v in doc.verified}
    assert ref.url == "" or ref.url in verified, ref_id
    return ref.url


def test_replaced_guidance_points_to_current(client: FlaskClient, content: Content) -> None:
    replaced = [r for r in content.references if r.replaced_by]
    assert replaced
    for ref in replaced:
        current = content.reference(ref.replaced_by)
        assert current is not None, ref.id
        assert current.kind == "current-guidance", (ref.id, current.id, current.kind)
        assert not current.replaced_by, f"{current.id} is itself replaced"
        # Reachable through a verified address: its own, or (where its own is not verified) its note's source.
        assert (current.url or current.note_url).startswith("https://"), current.id
        if ref.nations and current.nations:
            assert set(ref.nations) & set(current.nations), (ref.id, current.id)
        # Each nation the old work applied in is told what replaced it there.
        replacements = [content.reference(other) for other in ref.replacements]
        if ref.nations and all(r is not None and r.nations for r in replacements):
            covered = {n for r in replacements if r is not None for n in r.nations}
            assert set(ref.nations) <= covered, (ref.id, ref.replacements)
    served = {r["id"]: r for r in json_of(client, "/api/references")["items"]}
    for ref in replaced:
        assert served[ref.id]["replaced_by"] == ref.replaced_by
        assert served[ref.replaced_by]["url"] == current_url(content, ref.replaced_by)


# ---------------------------------------------------------------- links say what they open

LAW_LINK = re.compile(r'<p class="law__link"><a href="([^"]+)">([^<]+)</a>')


@pytest.mark.parametrize("url", ["/legislation", *[f"/legislation/{n}" for n in NATIONS]])
def test_a_law_link_that_names_legislation_gov_uk_opens_it(client: FlaskClient, content: Content, url: str) -> None:
    html = client.get(url).get_data(as_text=True)
    links = LAW_LINK.findall(html)
    assert links, url
    for href, label in links:
        if href.startswith("/"):
            continue  # "More about ...": a link within the site
        host = re.sub(r"^www\.", "", href.split("/")[2])
        if "legislation.gov.uk" in label:
            assert host == "legislation.gov.uk", (label, href)
        provision = re.search(r"\b(section|article)s? (\w+)", label.split(", ", 1)[-1])
        if provision and label.startswith("Read "):
            # A label naming one provision opens that provision, not the Act's contents.
            assert f"/{provision.group(1)}/{provision.group(2)}".lower() in href.lower(), (label, href)


def test_references_page_names_each_nations_replacement(client: FlaskClient, content: Content) -> None:
    html = client.get("/references").get_data(as_text=True)
    several = [r for r in content.references if len(r.replacements) > 1]
    assert several, "UKCIS (2016a) and (2016b) applied in England and Wales"
    for ref in several:
        entry = html.split(f'id="{ref.id}"', 1)[1].split("</li>", 1)[0]
        replaced = entry.split("Replaced by:", 1)[1]
        for other in ref.replacements:
            current = content.reference(other)
            assert current is not None
            assert f'href="#{other}"' in replaced, (ref.id, other)
            assert f"(in {' and '.join(NATION_NAMES[n] for n in current.nations)})" in replaced, (ref.id, other)
            newer = html.split(f'id="{other}"', 1)[1].split("</li>", 1)[0]
            assert f'href="#{ref.id}"' in newer.split("Replaces:", 1)[1], (other, ref.id)


# ---------------------------------------------------------------- the research note's nation matrix

# legal-updates.md, "Nation matrix": what each nation's page must show as the law to apply today.
MATRIX = {
    "england": [("Protection of Children Act 1978", "section 1"), ("Criminal Justice Act 1988", "section 160"),
                ("Sexual Offences Act 2003", "sections 66B to 66D"), ("Sexual Offences Act 2003", "section 66A"),
                ("Sexual Offences Act 2003", "section 15A")],
    "northern-ireland": [("Protection of Children (Northern Ireland) Order 1978", "article 3"),
                         ("Criminal Justice (Evidence, Etc.) (Northern Ireland) Order 1988", "article 15"),
                         ("Justice Act (Northern Ireland) 2016", "section 51"),
                         ("Sexual Offences (Northern Ireland) Order 2008", "article 72A"),
                         ("Sexual Offences (Northern Ireland) Order 2008", "article 22A")],
    "scotland": [("Civic Government (Scotland) Act 1982", "section 52"),
                 ("Civic Government (Scotland) Act 1982", "section 52A"),
                 ("Abusive Behaviour and Sexual Harm (Scotland) Act 2016", "section 2"),
                 ("Sexual Offences (Scotland) Act 2009", "section 6"),
                 ("Sexual Offences (Scotland) Act 2009", "section 24"),
                 ("Sexual Offences (Scotland) Act 2009", "section 34"),
                 ("Age of Criminal Responsibility (Scotland) Act 2019", "whole Act")],
}
MATRIX["wales"] = MATRIX["england"]


@pytest.mark.parametrize("nation", NATIONS)
def test_each_nation_page_shows_every_provision_of_the_nation_matrix(
    client: FlaskClient, content: Content, nation: str
) -> None:
    """A provision named only in an article's prose would be missing from the nation's law page."""
    now, _ = split_history(client.get(f"/legislation/{nation}").get_data(as_text=True))
    shown = set(page_ids(now, content))
    for title, provision in MATRIX[nation]:
        found = [i for i in content.legislation if i.title == title
                 and re.match(rf"{re.escape(provision)}\b", i.provision)]
        assert found, f"{title}, {provision}: no legislation item"
        assert any(i.id in shown for i in found), f"{title}, {provision} is not on /legislation/{nation}"


CALLOUT = re.compile(r'<div class="callout callout--(?:update|correction)">(.*?)</div>', re.S)


def test_a_date_in_an_update_is_cited_to_a_source_for_that_law(content: Content) -> None:
    """When a callout dates a law it is about, one of its links is that law's own source (url, note or
    correction): a date for Northern Ireland is not cited to an England and Wales source."""
    checked = 0
    for article in content.articles:
        for section in article.sections:
            for block in CALLOUT.findall(section.html):
                hrefs = set(re.findall(r'href="([^"]+)"', block))
                text = re.sub(r"<[^>]+>", " ", block)
                for law_id in section.laws:
                    item = content.law(law_id)
                    if item is None or not item.in_force_from:
                        continue
                    year, month, day = (int(part) for part in item.in_force_from.split("-"))
                    months = ["January", "February", "March", "April", "May", "June", "July", "August",
                              "September", "October", "November", "December"]
                    if f"{day} {months[month - 1]} {year}" not in " ".join(text.split()):
                        continue
                    checked += 1
                    sources = {item.url, item.note_url, item.correction_url} - {""}
                    assert hrefs & sources, (f"{article.slug}#{section.anchor}: the date of {law_id} is cited to "
                                             f"{sorted(hrefs)}, none of its sources {sorted(sources)}")
    assert checked >= 5, "the rule has teeth"


# ---------------------------------------------------------------- comparing nations

COMPARING = [
    # (question, the nation chosen before or None, the nation shown first, the other nations shown)
    ("Is threatening to share a girl's nudes in Glasgow the same offence as in England?", "scotland", "scotland",
     ["england"]),
    ("Is the law on sharing nudes different in Scotland?", "england", "england", ["scotland"]),
    ("How does the law on sharing nudes of a child in Wales compare with Northern Ireland?", None, "wales",
     ["northern-ireland"]),
    ("Is the law on sharing nudes the same in Scotland as in England?", "wales", "scotland", ["england"]),
]


@pytest.mark.parametrize(("question", "given", "first", "others"), COMPARING)
def test_a_question_comparing_nations_shows_each_nations_law(
    client: FlaskClient, content: Content, question: str, given: str | None, first: str, others: list[str]
) -> None:
    body = json_of(client, "/api/ask", q=question, **({"nation": given} if given else {}))
    assert body["answered"] is True
    assert body["nation"] == first and body["compared_nations"] == others
    shown = {n for item in body["legislation"] for n in item["nations"]}
    assert {first, *others} <= shown, body["legislation"]
    # The contacts are those of the nation shown first (the user's own, when chosen).
    assert [c["id"] for c in body["contacts"]] == [c.id for c in contacts_for(content, first)]
    page = client.get("/ask", query_string={"q": question, **({"nation": given} if given else {})})
    places = " and in ".join(NATION_NAMES[n] for n in [first, *others])
    assert f"The law in {places}</h3>" in page.get_data(as_text=True)


@pytest.mark.parametrize("question", ["and in Scotland?", "What is the law on sharing nudes in Scotland?",
                                      "We're in Scotland: what's the difference between a policy and procedures?"])
def test_naming_one_nation_without_comparing_shows_that_nations_law_only(client: FlaskClient, question: str) -> None:
    body = json_of(client, "/api/ask", q=question, nation="england")
    assert body["nation"] == "scotland" and body["compared_nations"] == []
    assert all("scotland" in item["nations"] for item in body["legislation"]), body["legislation"]


def test_a_follow_up_comparing_nations_keeps_the_topic_and_shows_each_nations_law(client: FlaskClient) -> None:
    first = json_of(client, "/api/ask", q="Is it a crime to share a nude of a 15 year old?", nation="scotland")
    assert first["legislation"] and all("scotland" in item["nations"] for item in first["legislation"])
    body = json_of(client, "/api/ask", q="Is it the same in England?", context=first["context"])
    assert body["nation"] == "scotland" and body["compared_nations"] == ["england"]
    shown = {n for item in body["legislation"] for n in item["nations"]}
    assert {"scotland", "england"} <= shown, body["legislation"]
    groups = {item["group"] for item in first["legislation"]}
    assert {item["group"] for item in body["legislation"]} <= groups, "the follow-up keeps the subjects of law"


def test_law_that_turns_on_the_age_a_follow_up_gives_comes_first_where_it_applies(client: FlaskClient,
                                                                                  content: Content) -> None:
    # Scotland's age of criminal responsibility is 12 (acrsa-2019, `ages: [0, 11]`): a follow-up that says the child
    # is 11 shows it first; one that says 13 does not; England's law has no such item.
    aged = [item.id for item in content.legislation if item.ages and item.ages[0] <= 11 <= item.ages[1]]
    assert aged and all("scotland" in item.nations for item in content.legislation if item.id in aged)
    first = json_of(client, "/api/ask", q="Is it a crime for a 13 year old to send a nude?", nation="scotland")
    assert first["answered"] and not {i["id"] for i in first["legislation"]} & set(aged)
    younger = json_of(client, "/api/ask", q="what if she is 11?", context=first["context"])
    assert [i["id"] for i in younger["legislation"]][:len(aged)] == aged, younger["legislation"]
    older = json_of(client, "/api/ask", q="what if she is 13?", context=first["context"])
    assert not {i["id"] for i in older["legislation"]} & set(aged)
    england = json_of(client, "/api/ask", q="Is it a crime for a 13 year old to send a nude?", nation="england")
    elsewhere = json_of(client, "/api/ask", q="what if she is 11?", context=england["context"])
    assert not {i["id"] for i in elsewhere["legislation"]} & set(aged)
    # "Will the police charge ..." asks about the law as "charged" does.
    charged = json_of(client, "/api/ask", q="will the police charge an 11 year old for sharing nudes",
                      nation="scotland")
    assert [i["id"] for i in charged["legislation"]][:len(aged)] == aged, charged["legislation"]


def _law_hit(anchor: str, score: float) -> Hit:
    return Hit("legislation", anchor, "", "", "", "", score, Provenance("", "", ""), anchor=anchor)


def _applies(content: Content, law_id: str, nation: str) -> bool:
    item = content.law(law_id)
    return item is not None and item.current and nation in item.nations


def test_law_the_section_names_and_the_question_points_to_comes_first(content: Content) -> None:
    # The clearest match alone often names a neighbouring offence: among the items shown, those that the answering
    # section names and the question's words also match lead (in the order of their match), then the rest of what the
    # question points to clearly, then the section's own; as many items as before.
    def others(section: Section, nation: str) -> list[str]:
        return [it.id for it in content.legislation
                if it.current and nation in it.nations and it.id not in section.laws]

    section, nation = next((s, n) for a in content.articles for s in a.sections for n in NATIONS
                           if len(s.laws) >= 2 and all(_applies(content, i, n) for i in s.laws[:2])
                           and len(others(s, n)) >= 3)
    unnamed = others(section, nation)
    # The question's words match three items the section does not name best, then the section's two.
    hits = (*(_law_hit(i, 50.0 - k) for k, i in enumerate(unnamed[:3])), _law_hit(section.laws[1], 41.0),
            _law_hit(section.laws[0], 40.0))
    chosen = choose_laws(content, section, "what law is it", nation, hits, DEFAULT)
    own = laws_for(content, (section.laws[1], section.laws[0]), nation)
    assert chosen[:len(own)] == own, [it.id for it in chosen]
    assert len(chosen) == min(DEFAULT.max_laws, len(dict.fromkeys(
        laws_for(content, (*section.laws, *unnamed[:3]), nation))))


CORE_LAW = {"england": r"Protection of Children Act 1978", "wales": r"Protection of Children Act 1978",
            "scotland": r"Civic Government \(Scotland\) Act 1982",
            "northern-ireland": r"Protection of Children \(Northern Ireland\) Order 1978"}


@pytest.mark.parametrize("question", [
    "which laws cover pupils sharing nudes",
    "what law applies when a boy passes round a girl's nude",
    "is sharing nudes of classmates a crime",
    "what crime is it to forward a nude of a 14 year old",
])
@pytest.mark.parametrize("nation", sorted(CORE_LAW))
def test_a_law_question_about_childrens_nudes_shows_the_nations_indecent_images_law(
        ix: OpenIndex, question: str, nation: str) -> None:
    reply = answer(ix, question, nation)
    assert reply.answered and reply.legislation
    assert any(re.search(CORE_LAW[nation], item.title) for item in reply.legislation), (
        [item.title for item in reply.legislation])
    assert all(nation in item.nations for item in reply.legislation)


def test_law_from_another_document_names_its_url_in_the_api(client: FlaskClient) -> None:
    items = client.get("/api/legislation").get_json()["items"]
    others = [item["source"] for item in items if "section" not in item["source"]]
    assert others, "the content has law from documents other than the source"
    assert all(source["document"] and source["url"].startswith("https://") for source in others), others
