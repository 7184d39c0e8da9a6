"""`kb check`: every problem printed as path:line: message, exit 1 on errors, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.cli import main
from kb.content import load_content

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
VALID = FIXTURES / "valid"
KB = Path(sys.executable).parent / "kb"

# Each case is a folder in tests/fixtures/ holding only the files that differ from tests/fixtures/valid/
# (a whole valid base is needed: every source heading must have a home). The expected line is given as
# text found on that line of the fixture file (so the table reads as "the line that says ...") or a number.
CASES = [
    ("bad_yaml", "legislation.yaml", "title: An item: with a second colon", "bad YAML"),
    ("bad_front_matter_yaml", "articles/bad-front-matter-yaml.md", "title: Sexting: a title", "bad YAML"),
    ("missing_front_matter", "articles/missing-front-matter.md", 1, "missing front matter"),
    ("front_matter_not_a_mapping", "articles/front-matter-not-a-mapping.md", 2,
     "front matter must be a mapping"),
    ("mistyped_front_matter", "articles/mistyped-front-matter.md", "order: third",
     "'order' must be a whole number"),
    ("missing_title", "articles/missing-title.md", 2, "missing 'title'"),
    ("unknown_topic", "articles/unknown-topic.md", "topics:", "unknown topic 'gossip'"),
    ("unknown_nation", "articles/unknown-nation.md", "nations:", "unknown nation 'narnia'"),
    ("unknown_audience", "articles/unknown-audience.md", "audiences:", "unknown audience 'astronauts'"),
    ("bad_date", "articles/bad-date.md", "last_reviewed:", "'last_reviewed' must be an ISO date"),
    ("bad_slug", "articles/bad-slug.md", "slug:", "slug 'Bad_Slug' must be lower-case"),
    ("slug_not_file_name", "articles/slug-not-file-name.md", "slug:", "must match the file name"),
    ("duplicate_slug", "articles/guide-again.md", "slug:", "duplicate slug 'guide'"),
    ("duplicate_anchor", "articles/duplicate-anchor.md", "## Second section", "duplicate anchor 'same'"),
    ("bad_anchor", "articles/bad-anchor.md", "## A section", "anchor 'Not_An_Anchor' must be lower-case"),
    ("provenance_not_a_heading", "articles/provenance-not-a-heading.md", "## The only section",
     "provenance 'Sexting in the staff room' is not a heading of the source"),
    ("ambiguous_heading_prefix", "articles/ambiguous-heading-prefix.md", "## The only section",
     "provenance 'Key' is not a heading of the source"),
    ("section_without_provenance", "articles/section-without-provenance.md", "## A section with no source",
     "has no provenance"),
    ("section_without_attribute_line", "articles/section-without-attribute-line.md", "## A bare section",
     "needs an attribute line"),
    ("document_without_url", "articles/document-without-url.md", "## Law since 2020", "but no https:// url"),
    ("unknown_document", "articles/unknown-document.md", "## Law since 2020",
     "document 'no-such-source' is not in sources.yaml"),
    ("h1_in_body", "articles/h1-in-body.md", "# A second title", "use H2/H3"),
    ("source_section_without_home", "sources.yaml", "id: nspcc-sexting-2020",
     "source section 'Causing distress' has no home"),
    ("unresolved_law_id", "articles/unresolved-law-id.md", "(law:no-such-law)",
     "legislation id 'no-such-law' does not resolve"),
    ("unresolved_reference_id", "articles/unresolved-reference-id.md", "(ref:no-such-ref)",
     "reference id 'no-such-ref' does not resolve"),
    ("unresolved_contact_id", "articles/unresolved-contact-id.md", "(contact:no-such-contact)",
     "contact id 'no-such-contact' does not resolve"),
    ("unresolved_front_matter_id", "articles/unresolved-front-matter-id.md", "legislation: [no-such-law]",
     "legislation id 'no-such-law' does not resolve"),
    ("broken_internal_link", "articles/broken-internal-link.md", "(/articles/guide#no-such-anchor)",
     "broken internal link '/articles/guide#no-such-anchor'"),
    ("link_to_missing_article", "articles/link-to-missing-article.md", "(/articles/no-such-article)",
     "broken internal link '/articles/no-such-article'"),
    ("javascript_link", "articles/javascript-link.md", "javascript:", "link not recognised"),
    ("http_link", "articles/http-link.md", "http://", "link 'http://www.legislation.gov.uk/' must be https://"),
    ("correction_without_citation", "articles/correction-without-citation.md", "::: correction",
     "a correction must cite an https:// source"),
    ("replaced_by_unknown", "references.yaml", "replaced_by: no-such-reference",
     "'old-guidance' replaced_by unknown id 'no-such-reference'"),
    ("replaced_in_one_nation_only", "references.yaml", "replaced_by: england-advice",
     "'old-schools-guidance' applies in wales but nothing it is replaced_by does"),
    ("law_replaced_by_unknown", "legislation.yaml", "replaced_by: [no-such-law]",
     "'old-offence' points to unknown legislation id 'no-such-law'"),
    ("replaced_law_still_current", "legislation.yaml", "status: in force",
     "'amending-section' names what replaced it (replaced_by) but its status is 'in force'"),
    ("link_label_names_another_site", "articles/link-label-names-another-site.md", "(https://www.gov.uk/",
     "link labelled 'the threats offence on legislation.gov.uk' names legislation.gov.uk but opens gov.uk"),
    ("law_link_on_another_site", "legislation.yaml", "url: https://www.gov.uk/",
     "'threats-section': the page labels its url as on legislation.gov.uk but it opens gov.uk"),
    ("law_link_to_another_provision", "legislation.yaml", "url: https://www.legislation.gov.uk/nia/2022/19/contents",
     "'inserted-article': the page labels its url as article 72A but it opens /nia/2022/19/contents"),
    ("url_not_verified", "articles/url-not-verified.md", "(https://www.gov.uk/",
     "address 'https://www.gov.uk/government/publications/keeping-children-safe' is not listed as verified"),
    ("verified_url_on_another_site", "sources.yaml", "filed-under-the-wrong-site",
     "verified address 'https://www.gov.uk/government/publications/filed-under-the-wrong-site' is not on "
     "legislation.gov.uk, the site of 'legislation-gov-uk'"),
    ("not_https_url", "legislation.yaml", "url: http://", "'url' must be an https:// URL"),
    ("note_without_url", "legislation.yaml", "note: Something changed", "a 'note' needs its 'note_url'"),
    ("unknown_law_status", "legislation.yaml", "status: sort of in force",
     "unknown status 'sort of in force'"),
    ("duplicate_law_id", "legislation.yaml", "- id: pca-1978-s1", "duplicate legislation id 'pca-1978-s1'"),
    ("unknown_reference_kind", "references.yaml", "kind: rumour", "unknown kind 'rumour'"),
    ("first_contact_not_999", "contacts.yaml", "- id: helpline",
     "the first contact must be the emergency number 999"),
    ("data_file_not_a_list", "glossary.yaml", 1, "expected a list of glossary entries"),
    ("not_utf8", "articles/not-utf8.md", "Some text", "not valid UTF-8 text"),
    ("conversation_broken_link", "conversation.yaml", "/articles/guide#no-such-anchor",
     "broken link '/articles/guide#no-such-anchor'"),
    # scope.yaml: subjects the guidance does not cover, which the scope model reads.
    ("scope_names_the_subject", "scope.yaml", "- Nude Pics",
     "'nude pics' is a core word of the glossary: it names this guidance's subject"),
    ("scope_word_twice", "scope.yaml", "more:", "'Vaping' is listed twice"),
    # roles.yaml: what the code relies on, named once and checked, so a rename is reported where it breaks it.
    ("emergency_anchor_renamed", "roles.yaml", "section: guide#when-to-make-a-child-protection-referral",
     "emergency section 'guide#when-to-make-a-child-protection-referral' is not a section of any article"),
    ("role_restates_renamed_heading", "roles.yaml", "restates: What to do with an image",
     "'What to do with an image' is not a heading of the source"),
    ("role_section_restates_another", "roles.yaml", "section: guide#overview",
     "image_handling section 'guide#overview' restates 'Overview', not 'What to do with a sexting image'"),
    ("emergency_section_without_999", "roles.yaml", "section: guide#overview",
     "emergency section 'guide#overview' does not mention 999"),
    ("task_article_renamed", "roles.yaml", "slug: a-small-guide",
     "task 'Read the guide': article 'a-small-guide' does not exist"),
    ("task_without_article_or_page", "roles.yaml", "- label: The law",
     "a task needs the article that answers it ('slug') or a page of the site ('href')"),
    ("role_source_not_in_sources", "roles.yaml", "source: nspcc-sexting-2021",
     "source document 'nspcc-sexting-2021' is not in sources.yaml"),
]


def make_content(base: Path, case: str | None = None) -> Path:
    """The valid fixture copied to base/content with one case's files laid over it."""
    content = base / "content"
    shutil.copytree(VALID, content)
    if case:
        shutil.copytree(FIXTURES / case, content, dirs_exist_ok=True)
    return content


def expected_line(path: Path, where: str | int) -> int:
    """The line of the fixture file that holds the text `where` (the first such line after the id line)."""
    if isinstance(where, int):
        return where
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    found = [n for n, line in enumerate(lines, 1) if where in line]
    assert found, f"{where!r} is not in {path}"
    # In a YAML list file the case's item is the last one, appended to the valid base.
    return found[-1]


def check(content: Path) -> tuple[int, str]:
    """Run `kb check --content <content>` in process; exit code and everything it printed."""
    result = CliRunner().invoke(main, ["check", "--content", str(content)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, so problems print paths like content/articles/x.md."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_fixture_folder_is_a_case() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()} - {"valid"}
    assert folders == {case for case, *_ in CASES}


def test_valid_fixture_passes(in_tmp: Path) -> None:
    code, output = check(make_content(in_tmp))
    assert code == 0, output
    assert "0 error(s)" in output


@pytest.mark.parametrize(("case", "path", "where", "message"), CASES, ids=[c[0] for c in CASES])
def test_kb_check_reports_file_and_line(
    in_tmp: Path, case: str, path: str, where: str | int, message: str
) -> None:
    content = make_content(in_tmp, case)
    fixture = FIXTURES / case / path
    line = expected_line(fixture if fixture.exists() else VALID / path, where)
    code, output = check(content)
    assert code == 1, output
    expected = f"content/{path}:{line}: "
    reported = [row for row in output.splitlines() if message in row]
    assert reported, f"no problem saying {message!r}:\n{output}"
    assert any(row.startswith(expected) for row in reported), f"expected {expected}{message}, got:\n{output}"


def test_warnings_alone_exit_0(in_tmp: Path) -> None:
    """The valid fixture has references without a verified URL: warned about, not failed."""
    code, output = check(make_content(in_tmp))
    assert code == 0
    line = expected_line(VALID / "references.yaml", 'url: ""')
    assert f"content/references.yaml:{line}: reference 'childnet-2016' has no verified URL yet (warning)" in output


@pytest.mark.parametrize("name", ["glossary.yaml", "roles.yaml"])
def test_missing_data_file_is_reported(in_tmp: Path, name: str) -> None:
    content = make_content(in_tmp)
    (content / name).unlink()
    code, output = check(content)
    assert code == 1
    assert f"content/{name}:1: missing data file" in output


def test_real_content_passes_kb_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, output = check(ROOT / "content")
    assert code == 0, output
    assert " 0 error(s)" in output


def run_kb_check(content: Path | str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed `kb` console script, as a user runs it."""
    return subprocess.run([str(KB), "check", "--content", str(content)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_empty_or_missing_folder_is_reported_without_traceback(tmp_path: Path, folder: str) -> None:
    content = tmp_path / "content"
    if folder == "empty":
        content.mkdir()
    proc = run_kb_check(content, tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "content/sources.yaml:1: missing data file" in proc.stderr


def test_undecodable_files_are_reported_without_traceback(tmp_path: Path) -> None:
    content = make_content(tmp_path)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
    (content / "articles" / "photo.md").write_bytes(jpeg)
    (content / "references.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    proc = run_kb_check(content, tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "content/articles/photo.md:1: not valid UTF-8 text" in proc.stderr
    assert "content/references.yaml:1: not valid UTF-8 text" in proc.stderr


def test_folder_where_a_file_belongs_is_reported_without_traceback(tmp_path: Path) -> None:
    content = make_content(tmp_path)
    (content / "contacts.yaml").unlink()
    (content / "contacts.yaml").mkdir()
    (content / "articles" / "folder.md").mkdir()
    proc = run_kb_check(content, tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "content/contacts.yaml:1:" in proc.stderr


@settings(deadline=None, max_examples=60)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_article_bytes_give_problems_not_exceptions(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        content = make_content(Path(tmp))
        (content / "articles" / "anything.md").write_bytes(data)
        parsed = load_content(content)
        assert all(p.line >= 1 for p in parsed.problems)


@settings(deadline=None, max_examples=60)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode),
       name=st.sampled_from(["legislation.yaml", "references.yaml", "contacts.yaml", "glossary.yaml",
                             "sources.yaml", "changes.yaml", "roles.yaml", "scope.yaml", "places.yaml"]))
def test_any_data_file_bytes_give_problems_not_exceptions(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        content = make_content(Path(tmp))
        (content / name).write_bytes(data)
        parsed = load_content(content)
        assert all(p.line >= 1 for p in parsed.problems)


def test_problems_print_relative_to_the_working_folder(in_tmp: Path) -> None:
    content = make_content(in_tmp, "unknown_topic")
    code, output = check(content.resolve())
    assert code == 1
    assert "content/articles/unknown-topic.md:" in output
    assert os.fspath(in_tmp) not in output
