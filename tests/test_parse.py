"""Parsing is pure: content text in, frozen values and path:line problems out."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import parse, parse_article, parse_data
from kb.model import Article, LawItem, Provenance, Section
from kb.parse_signals import parse_places, parse_scope

ROOT = Path(__file__).resolve().parent.parent
HEADINGS = parse.parse_headings((ROOT / "kb" / "source_sections.txt").read_text(encoding="utf-8"))
SOURCE = "nspcc-sexting-2020"  # the document roles.yaml names

FRONT = """\
---
title: What to do with an image
slug: image
summary: A line.
order: 1
topics: [image-handling]
nations: [england, wales]
audiences: [all]
last_reviewed: 2026-11-26
source: nspcc-sexting-2020
---
"""
FRONT_LINES = FRONT.count("\n")


def article(body: str, front: str = FRONT) -> parse.Parsed:
    """Parse one article from text (no disk)."""
    return parse_article.parse_article(front + body, "articles/image.md", HEADINGS, source=SOURCE)


def messages(parsed: parse.Parsed) -> list[str]:
    return [f"{p.line}: {p.message}" for p in parsed.problems]


def only_section(body: str) -> Section:
    parsed = article(body)
    assert parsed.problems == (), messages(parsed)
    (section,) = parsed.value.sections
    return section


def test_each_section_records_its_provenance() -> None:
    parsed = article(
        '{#never-view source="What to do with a sexting image"}\n## Never look\n\nOur words.\n\n'
        '{#law-now document=legislation-gov-uk url="https://www.legislation.gov.uk/ukpga/1988/33/section/160"}\n'
        "### The law today\n\nMore words.\n"
    )
    assert parsed.problems == (), messages(parsed)
    first, second = parsed.value.sections
    image = "What to do with a sexting image"
    assert first.provenance == Provenance(document="nspcc-sexting-2020", section=image)
    assert first.provenance.as_dict() == {"document": "nspcc-sexting-2020", "section": image}
    assert second.provenance.as_dict() == {
        "document": "legislation-gov-uk", "url": "https://www.legislation.gov.uk/ukpga/1988/33/section/160"}
    assert (first.level, second.level) == (2, 3)


def test_sections_take_their_anchor_and_heading_line() -> None:
    parsed = article(
        'Lead text.\n\n{#first-one source="Overview"}\n## First\n\nA.\n\n'
        '{#second source="Schools"}\n## Second\n\nB.\n'
    )
    first, second = parsed.value.sections
    assert (first.anchor, first.heading, first.line) == ("first-one", "First", FRONT_LINES + 4)
    assert (second.anchor, second.heading, second.line) == ("second", "Second", FRONT_LINES + 9)


def test_lead_paragraph_is_not_a_section() -> None:
    parsed = article('A lead paragraph.\n\n{#only source="Overview"}\n## Only\n\nText.\n')
    assert "A lead paragraph." in parsed.value.lead_html
    assert [s.heading for s in parsed.value.sections] == ["Only"]
    assert "lead paragraph" not in parsed.value.sections[0].text


def test_article_is_a_frozen_value() -> None:
    parsed = article('{#only source="Overview"}\n## Only\n\nText.\n')
    assert isinstance(parsed.value, Article)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.value.slug = "other"  # type: ignore[misc]


def test_front_matter_fields_are_read() -> None:
    value = article('{#only source="Overview"}\n## Only\n\nText.\n').value
    assert (value.slug, value.title, value.order) == ("image", "What to do with an image", 1)
    assert value.topics == ("image-handling",)
    assert value.nations == ("england", "wales")
    assert value.last_reviewed == "2026-11-26"  # dates stay text, as written


@pytest.mark.parametrize(
    ("written", "full"),
    [
        ("Talking to a young person", "Talking to a young person who has been involved in sexting"),
        ("Talking to a young person who has been involved in sexting",
         "Talking to a young person who has been involved in sexting"),
        ("Get", "Get training"),
        ("Outcome 21", "Outcome 21"),
    ],
)
def test_heading_prefix_in_whole_words_names_the_full_heading(written: str, full: str) -> None:
    section = only_section(f'{{#only source="{written}"}}\n## Only\n\nText.\n')
    assert section.provenance.section == full


@pytest.mark.parametrize(
    "written",
    ["Key", "Talking to a young per", "Recog", "overview", "Sexting", "Policy statement and more"],
    ids=["ambiguous", "part-word", "part-first-word", "wrong-case", "no-heading", "longer-than-heading"],
)
def test_heading_that_is_not_an_unambiguous_prefix_is_a_problem(written: str) -> None:
    parsed = article(f'{{#only source="{written}"}}\n## Only\n\nText.\n')
    assert messages(parsed) == [
        f"{FRONT_LINES + 2}: provenance '{written}' is not a heading of the source (sections.txt)"]


def test_section_without_attribute_line_is_a_problem() -> None:
    parsed = article("## Bare\n\nText.\n")
    assert f"{FRONT_LINES + 1}: section 'Bare' needs an attribute line" in " ".join(messages(parsed))


def test_section_without_provenance_is_a_problem() -> None:
    parsed = article("{#bare}\n## Bare\n\nText.\n")
    assert messages(parsed)[0].startswith(f"{FRONT_LINES + 2}: section 'Bare' has no provenance")


def test_a_section_from_another_source_names_its_subject_in_phrases() -> None:
    section = only_section('{#law-now document=legislation-gov-uk url="https://www.legislation.gov.uk/ukpga/2003/42"'
                           ' subject="cyberflashing, unsolicited nude"}\n## The law today\n\nWords.\n')
    assert section.subject == ("cyberflashing", "unsolicited nude")


def test_a_subject_on_a_section_restating_the_2020_page_is_a_problem() -> None:
    parsed = article('{#only source="Overview" subject="sexting"}\n## Only\n\nText.\n')
    assert messages(parsed) == [f"{FRONT_LINES + 2}: subject is only for a section from another source: this one "
                                "restates the 2020 page"]


def test_duplicate_anchor_is_reported_at_the_second_section() -> None:
    parsed = article('{#same source="Overview"}\n## One\n\nA.\n\n{#same source="Schools"}\n## Two\n\nB.\n')
    assert messages(parsed) == [f"{FRONT_LINES + 7}: duplicate anchor 'same'"]


def test_raw_html_is_not_rendered() -> None:
    section = only_section(
        '{#only source="Overview"}\n## Only\n\n<script>alert(1)</script>\n\n'
        'Inline <img src=x onerror=alert(1)> and <b>bold</b>.\n'
    )
    assert "<script" not in section.html
    assert "<img" not in section.html
    assert "<b>" not in section.html
    assert "&lt;script&gt;" in section.html


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>x</script>"],
)
def test_unsafe_links_are_refused(href: str) -> None:
    parsed = article(f'{{#only source="Overview"}}\n## Only\n\nA [link]({href}) here.\n')
    html = parsed.value.sections[0].html.lower()
    assert "<a " not in html  # the link stays inert text
    assert any(str(FRONT_LINES + 4) + ":" in m for m in messages(parsed)), messages(parsed)


def test_plain_http_link_is_refused() -> None:
    parsed = article('{#only source="Overview"}\n## Only\n\nSee [a page](http://www.legislation.gov.uk/).\n')
    assert 'href="http://' not in parsed.value.sections[0].html
    assert messages(parsed) == [
        f"{FRONT_LINES + 4}: link 'http://www.legislation.gov.uk/' must be https://, /articles/..., "
        "law:, ref: or contact:"]


def test_law_ref_and_contact_links_are_rewritten_to_site_urls() -> None:
    section = only_section(
        '{#only source="Key legislation"}\n## Only\n\n'
        "See [the Act](law:pca-1978-s1), [the guide](ref:childnet-2016) and [call](contact:emergency).\n"
    )
    assert 'href="/legislation#pca-1978-s1"' in section.html
    assert 'href="/references#childnet-2016"' in section.html
    assert 'href="/contacts#emergency"' in section.html
    assert "law:" not in section.html and "ref:" not in section.html
    assert section.laws == ("pca-1978-s1",)
    assert section.refs == ("childnet-2016",)
    assert set(section.links) == {"law:pca-1978-s1", "ref:childnet-2016", "contact:emergency"}


def test_section_inherits_article_lists_unless_it_names_its_own() -> None:
    front = FRONT.replace("source: nspcc", "references: [a-ref]\nlegislation: [a-law]\nsource: nspcc")
    body = ('{#one source="Overview"}\n## One\n\nA.\n\n'
            '{#two source="Schools" refs="b-ref" laws="b-law"}\n## Two\n\nB.\n')
    parsed = article(body, front)
    one, two = parsed.value.sections
    assert (one.refs, one.laws) == (("a-ref",), ("a-law",))
    assert (two.refs, two.laws) == (("b-ref",), ("b-law",))


def test_internal_and_https_links_are_kept() -> None:
    section = only_section(
        '{#only source="Overview"}\n## Only\n\n[there](/articles/other#part), [here](#only) and '
        "[gov](https://www.gov.uk/).\n"
    )
    assert 'href="/articles/other#part"' in section.html
    assert 'href="https://www.gov.uk/"' in section.html
    assert "/articles/other#part" in section.links and "#only" in section.links


def test_https_links_are_recorded_with_their_words_and_line() -> None:
    parsed = article(
        "A lead [GOV.UK page](https://www.gov.uk/a).\n\n"
        '{#only source="Overview"}\n## Only\n\nFirst line, then a label split over\n[two `lines` of\nwords]'
        "(https://www.legislation.gov.uk/ukpga/1978/37/section/1) and [a site](/articles/other).\n"
    )
    assert parsed.problems == (), messages(parsed)
    lead, body = parsed.value.external_links
    assert (lead.href, lead.label, lead.line) == ("https://www.gov.uk/a", "GOV.UK page", FRONT_LINES + 1)
    assert body.href == "https://www.legislation.gov.uk/ukpga/1978/37/section/1"
    assert (body.label, body.line) == ("two lines of words", FRONT_LINES + 7)


@pytest.mark.parametrize(
    ("block", "css", "label"),
    [
        ("warning", "callout--warning", "Warning"),
        ("correction", "callout--correction", "Correction to the 2020 guidance"),
        ("update", "callout--update", "Updated since 2020"),
    ],
)
def test_our_blocks_render(block: str, css: str, label: str) -> None:
    section = only_section(
        f'{{#only source="Overview"}}\n## Only\n\n::: {block}\nThe text, see [law](https://www.legislation.gov.uk/).\n:::\n'
    )
    assert css in section.html
    assert label in section.html
    assert "The text" in section.html
    assert ":::" not in section.html


def test_details_block_renders_collapsed_with_its_summary() -> None:
    section = only_section(
        '{#only source="Overview"}\n## Only\n\n::: details More <about> it\nHidden text.\n:::\n'
    )
    assert "<details" in section.html and "</details>" in section.html
    assert "<summary" in section.html and "More &lt;about&gt; it" in section.html
    assert "More <about> it" in section.text  # the summary is searchable


def test_correction_without_https_citation_is_a_problem() -> None:
    parsed = article('{#only source="Overview"}\n## Only\n\n::: correction\nThe 2020 page was wrong.\n:::\n')
    assert messages(parsed) == [f"{FRONT_LINES + 4}: a correction must cite an https:// source"]


def test_ordered_list_renders_as_steps() -> None:
    section = only_section('{#only source="Overview"}\n## Only\n\n1. First.\n2. Second.\n')
    assert '<ol class="steps">' in section.html


def test_plain_text_drops_markup_and_keeps_words() -> None:
    section = only_section(
        '{#only source="Overview"}\n## Only\n\n'
        "Some **bold** and [a link](https://www.gov.uk/).\n\n- one item\n- two\n"
    )
    assert section.text.splitlines() == ["Some bold and a link.", "- one item", "- two"]


def test_h1_in_the_body_is_a_problem() -> None:
    parsed = article('# Title again\n\n{#only source="Overview"}\n## Only\n\nText.\n')
    assert messages(parsed) == [f"{FRONT_LINES + 1}: use H2/H3 in the body; the title is in front matter"]


def test_article_without_sections_is_a_problem() -> None:
    parsed = article("Only a lead.\n")
    assert messages(parsed) == ["1: an article needs at least one H2 section"]


def test_missing_front_matter_is_reported_at_line_1() -> None:
    parsed = parse_article.parse_article('{#only source="Overview"}\n## Only\n\nText.\n', "a.md", HEADINGS,
                                         source=SOURCE)
    assert parsed.value is None
    assert messages(parsed) == ["1: missing front matter (a block between '---' lines at the top)"]


def test_bad_front_matter_yaml_is_reported_at_its_line() -> None:
    front = FRONT.replace("summary: A line.", "summary: A: line.")
    parsed = article('{#only source="Overview"}\n## Only\n\nText.\n', front)
    assert parsed.value is None
    assert messages(parsed)[0].startswith("4: bad YAML")


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("topics: [image-handling]", "topics: [image-handling, gossip]", "topics:", "unknown topic 'gossip'"),
        ("nations: [england, wales]", "nations: [england, narnia]", "nations:", "unknown nation 'narnia'"),
        ("audiences: [all]", "audiences: [everyone]", "audiences:", "unknown audience 'everyone'"),
        ("order: 1", "order: first", "order:", "'order' must be a whole number"),
        ("last_reviewed: 2026-11-26", "last_reviewed: 26 Nov 2026", "last_reviewed:",
         "'last_reviewed' must be an ISO date"),
        ("slug: image", "slug: Image_One", "slug:", "slug 'Image_One' must be lower-case"),
    ],
    ids=["topic", "nation", "audience", "order", "date", "slug"],
)
def test_front_matter_errors_are_reported_at_their_line(old: str, new: str, key: str, message: str) -> None:
    front = FRONT.replace(old, new)
    line = next(n for n, text in enumerate(front.splitlines(), 1) if text.startswith(key))
    parsed = article('{#only source="Overview"}\n## Only\n\nText.\n', front)
    assert any(m.startswith(f"{line}: {message}") for m in messages(parsed)), messages(parsed)


def test_missing_required_front_matter_is_a_problem() -> None:
    front = FRONT.replace("title: What to do with an image\n", "")
    parsed = article('{#only source="Overview"}\n## Only\n\nText.\n', front)
    assert "2: missing 'title'" in messages(parsed)


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=600))
def test_parse_article_never_raises(text: str) -> None:
    parsed = parse_article.parse_article(text, "a.md", HEADINGS, source=SOURCE)
    assert all(p.line >= 1 for p in parsed.problems)


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=300))
def test_article_body_never_raises_and_never_renders_raw_html(body: str) -> None:
    parsed = article(body)
    if parsed.value is not None:
        for section in parsed.value.sections:
            assert "<script" not in section.html.lower()
            assert 'href="javascript:' not in section.html.lower()


# ---------------------------------------------------------------- YAML data files

LAW = """\
- id: pca-1978-s1
  title: Protection of Children Act 1978
  provision: section 1
  group: images-of-children
  nations: [england, wales]
  summary: Our words.
  status: in force
  url: https://www.legislation.gov.uk/ukpga/1978/37/section/1
  provenance:
    source: Sharing indecent images of children

- id: cjca-2015-s33
  title: Criminal Justice and Courts Act 2015
  provision: section 33
  group: intimate-images
  nations: [england, wales]
  summary: Our words.
  status: repealed
  replaced_by: [soa-2003-s66b]
  url: https://www.legislation.gov.uk/ukpga/2015/2/section/33
  provenance:
    source: Causing distress
  correction: The 2020 page says it applied across the UK; it covered England and Wales.
  correction_url: https://www.legislation.gov.uk/ukpga/2015/2/section/33
"""


def test_legislation_items_are_read_with_their_lines() -> None:
    parsed = parse_data.parse_legislation(LAW, source=SOURCE)
    assert parsed.problems == ()
    first, second = parsed.value
    assert isinstance(first, LawItem)
    assert (first.id, first.provision, first.nations) == ("pca-1978-s1", "section 1", ("england", "wales"))
    assert first.line == 1
    assert first.provenance == Provenance("nspcc-sexting-2020", section="Sharing indecent images of children")
    assert (second.status, second.replaced_by, second.line) == ("repealed", ("soa-2003-s66b",), 12)
    assert not second.current and first.current
    assert second.correction_url.startswith("https://")
    assert first.ages == ()
    with_ages = LAW.replace("group: intimate-images", "group: intimate-images\n  ages: [0, 11]")
    aged = parse_data.parse_legislation(with_ages, source=SOURCE)
    assert aged.problems == () and aged.value[1].ages == (0, 11)


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("nations: [england, wales]\n  summary: Our words.\n  status: repealed",
         "nations: [england, mercia]\n  summary: Our words.\n  status: repealed", "nations:",
         "unknown nation 'mercia'"),
        ("status: repealed", "status: gone", "status:", "unknown status 'gone'"),
        ("url: https://www.legislation.gov.uk/ukpga/2015/2/section/33",
         "url: http://www.legislation.gov.uk/ukpga/2015/2/section/33", "url:",
         "'url' must be an https:// URL"),
        ("  correction_url: https://www.legislation.gov.uk/ukpga/2015/2/section/33\n", "", "correction:",
         "a 'correction' needs its 'correction_url'"),
        ("group: intimate-images", "group: other", "group:", "unknown group 'other'"),
        ("group: intimate-images", "group: intimate-images\n  ages: [12, 3]", "ages:",
         "'ages' must be two whole numbers from 0 to 17, the youngest first"),
        ("group: intimate-images", "group: intimate-images\n  ages: [0, 18]", "ages:", "'ages' must be two whole"),
    ],
    ids=["nation", "status", "http", "correction-without-url", "group", "ages-backwards", "ages-adult"],
)
def test_legislation_problems_are_reported_at_their_line(old: str, new: str, key: str, message: str) -> None:
    text = LAW.replace(old, new, 1)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if n > 11 and row.strip().startswith(key))
    parsed = parse_data.parse_legislation(text, source=SOURCE)
    assert any(p.line == line and p.message.startswith(message) for p in parsed.problems), parsed.problems


def test_law_from_another_document_names_its_url() -> None:
    other = LAW.replace("  provenance:\n    source: Causing distress", "  provenance:\n    document: law-society")
    sourced = parse_data.parse_legislation(other, source=SOURCE)
    assert sourced.problems == ()
    assert sourced.value[1].provenance.as_dict() == {
        "document": "law-society", "url": "https://www.legislation.gov.uk/ukpga/2015/2/section/33"}
    named = other.replace("document: law-society", "document: law-society\n    url: https://www.lawscot.org.uk/x")
    assert parse_data.parse_legislation(named, source=SOURCE).value[1].provenance.url == "https://www.lawscot.org.uk/x"
    unsourced = parse_data.parse_legislation(
        other.replace("  url: https://www.legislation.gov.uk/ukpga/2015/2/section/33\n", '  url: ""\n'), source=SOURCE)
    assert (21, "'provenance' naming a document needs its 'url'") in [
        (p.line, p.message.split(" (")[0]) for p in unsourced.problems]


def test_duplicate_legislation_id_is_a_problem() -> None:
    parsed = parse_data.parse_legislation(LAW.replace("id: cjca-2015-s33", "id: pca-1978-s1"), source=SOURCE)
    assert [(p.line, p.message) for p in parsed.problems] == [(12, "duplicate legislation id 'pca-1978-s1'")]


def test_yaml_syntax_error_is_reported_at_its_line() -> None:
    text = LAW.replace("summary: Our words.\n  status: repealed", "summary: Our: words.\n  status: repealed")
    parsed = parse_data.parse_legislation(text, source=SOURCE)
    assert [(p.line, p.message.split(":")[0]) for p in parsed.problems] == [(17, "bad YAML")]


def test_source_documents_list_verified_addresses_with_where_they_were_checked() -> None:
    parsed = parse_data.parse_sources(
        "- id: gov-uk\n  title: GOV.UK\n  url: https://www.gov.uk/\n  verified:\n"
        "    - url: https://www.gov.uk/\n      where: the research note\n"
        "    - url: http://www.gov.uk/old\n      where: somewhere\n"
        "    - url: https://www.gov.uk/no-where\n"
        "    - url: https://www.gov.uk/\n      where: again\n"
    )
    (doc,) = parsed.value
    assert [(v.url, v.where, v.line) for v in doc.verified][0] == ("https://www.gov.uk/", "the research note", 5)
    assert [(p.line, p.message) for p in parsed.problems] == [
        (7, "'url' must be an https:// URL, not 'http://www.gov.uk/old'"),
        (7, "a 'verified' entry needs its https:// 'url'"),
        (9, "missing 'where'"),
        (10, "duplicate verified url 'https://www.gov.uk/'"),
    ]


def test_reference_without_url_is_a_warning_not_an_error() -> None:
    parsed = parse_data.parse_references(
        '- id: childnet-2016\n  author: Childnet International\n  year: "2016"\n  title: Cyberbullying\n'
        "  kind: reference\n  url: \"\"\n"
    )
    assert [(p.line, p.severity) for p in parsed.problems] == [(6, "warning")]
    assert parsed.value[0].year == "2016"


def test_reference_kind_is_checked() -> None:
    parsed = parse_data.parse_references("- id: x\n  author: A\n  title: T\n  kind: gossip\n  url: https://www.gov.uk/\n")
    assert [(p.line, p.message.split(" (")[0]) for p in parsed.problems] == [(4, "unknown kind 'gossip'")]


def test_first_contact_must_be_999() -> None:
    ok = parse_data.parse_contacts('- id: emergency\n  name: Police\n  phone: "999"\n  when: Danger now.\n')
    assert ok.problems == ()
    bad = parse_data.parse_contacts('- id: helpline\n  name: Helpline\n  phone: "0808 800 5000"\n  when: Sad.\n')
    assert [(p.line, p.message) for p in bad.problems] == [
        (1, "the first contact must be the emergency number 999")]


def test_glossary_terms_are_unique_ignoring_case() -> None:
    parsed = parse_data.parse_glossary(
        "- term: Nudes\n  means: [sexting]\n  definition: One.\n\n"
        "- term: nudes\n  means: [sexting]\n  definition: Two.\n"
    )
    assert [(p.line, p.message) for p in parsed.problems] == [(5, "duplicate glossary term 'nudes'")]


def test_data_file_that_is_not_a_list_is_a_problem() -> None:
    parsed = parse_data.parse_contacts("id: emergency\nphone: '999'\n")
    assert [(p.line, p.message) for p in parsed.problems] == [(1, "expected a list of contacts")]


def test_empty_data_file_is_empty() -> None:
    assert parse_data.parse_glossary("").value == ()


def test_headings_are_one_a_line() -> None:
    assert parse.parse_headings("Overview\n\n  Schools  \n") == ("Overview", "Schools")
    assert len(HEADINGS) == 31


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=400))
def test_data_parsers_never_raise(text: str) -> None:
    parsers = (partial(parse_data.parse_legislation, source=SOURCE), parse_data.parse_references,
               parse_data.parse_contacts, parse_data.parse_glossary, parse_data.parse_sources, parse_data.parse_changes,
               partial(parse_data.parse_roles, headings=HEADINGS))
    for parser in parsers:
        parsed = parser(text, "x.yaml")
        assert all(p.line >= 1 for p in parsed.problems)


def test_grouped_names_say_what_is_wrong_once_where_it_is() -> None:
    places = parse_places("places:\n  wales: [Cardiff]\n  narnia: [Cair Paravel, Beaversdam]\n")
    assert places.value == (("cardiff", "wales"),)
    assert [(p.line, p.message) for p in places.problems] == [(3, "unknown nation 'narnia'")]
    scope = parse_scope("elsewhere:\n  concerns: [vaping, Vaping]\n  abroad: 3\n")
    assert scope.value == ("vaping",)
    assert [(p.line, p.message) for p in scope.problems] == [(2, "'Vaping' is listed twice"),
                                                              (3, "'abroad' must be a list of names")]


def test_a_place_counts_however_it_is_typed_unless_written_only_with_capitals() -> None:
    places = parse_places("capital_only: [Bath, Atlantis]\nplaces:\n  england: [Bath, Leeds, PCC Thames Valley]\n")
    assert places.value == (("Bath", "england"), ("leeds", "england"), ("pcc thames valley", "england"))
    assert [(p.line, p.message) for p in places.problems] == [
        (1, "'atlantis' in capital_only is not a place listed")]
