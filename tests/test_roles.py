"""Roles in content (content/roles.yaml): the source document, the emergency and image-handling sections, the
law's source sections and the home page's tasks are named once in content, checked by `kb check` (see
test_check.py for the broken cases) and read by the code, which names none of them itself."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from kb import OpenIndex, answer
from kb.index_schema import documents
from kb.model import SOURCE_DOCUMENT, Content
from kb.roles import SectionRole

ROOT = Path(__file__).resolve().parent.parent
KB_CODE = sorted((ROOT / "kb").rglob("*.py"))
URGENT = "a 14 year old says she is going to kill herself tonight because her nudes were shared"


def with_roles(ix: OpenIndex, **changes: SectionRole) -> OpenIndex:
    """The same index serving content whose roles differ."""
    roles = dataclasses.replace(ix.content.roles, **changes)
    return dataclasses.replace(ix, content=dataclasses.replace(ix.content, roles=roles))


def test_every_role_is_named_in_content(content: Content) -> None:
    roles = content.roles
    assert roles.source and content.source(roles.source) is not None
    emergency, image = content.emergency_section(), content.image_handling_section()
    assert emergency is not None and "999" in emergency[1].text
    assert emergency[1].provenance.section == roles.emergency.restates
    assert image is not None and image[1].provenance.section == roles.image_handling.restates
    assert roles.law and roles.references and roles.tasks


@pytest.mark.parametrize("path", KB_CODE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_code_names_no_role_itself(content: Content, path: Path) -> None:
    """The source's id, the role sections' anchors and source headings live in content/roles.yaml only (the id's
    copy in kb/model.py is for the web layer, which does not read it from content yet)."""
    roles = content.roles
    named = [roles.emergency.section, roles.emergency.restates, roles.image_handling.section,
             roles.image_handling.restates, roles.references, *roles.law, *(t.slug for t in roles.tasks if t.slug)]
    text = path.read_text(encoding="utf-8")
    found = [name for name in named if re.search(rf"[\"']{re.escape(name)}[\"']", text)]
    assert not found, f"{path.name} names {found}: read them from content.roles"
    if path.name != "model.py":
        assert roles.source not in text


def test_the_web_layers_source_id_is_the_one_content_names(content: Content) -> None:
    assert content.roles.source == SOURCE_DOCUMENT


def test_the_source_document_role_names_every_restated_section(content: Content) -> None:
    restated = [s.provenance for a in content.articles for s in a.sections if s.provenance.section]
    law = [item.provenance for item in content.legislation if item.provenance.section]
    assert restated and law
    assert {p.document for p in restated + law} == {content.roles.source}


def test_references_the_source_lists_point_to_the_role_section(content: Content) -> None:
    listed = [d for d in documents(content) if d.type == "reference" and d.source_section]
    assert listed and {d.source_section for d in listed} == {content.roles.references}
    assert {d.source_document for d in listed} == {content.roles.source}


def test_an_emergency_is_answered_with_the_section_roles_names(ix: OpenIndex) -> None:
    reply = answer(ix, URGENT)
    assert reply.urgent and reply.section is not None
    assert (reply.article, reply.section) == ix.content.emergency_section()
    moved = with_roles(ix, emergency=SectionRole("when-to-refer#referral-criteria", "When to make a child "
                                                 "protection referral"))
    again = answer(moved, URGENT)
    assert again.section is not None and again.section.anchor == "referral-criteria"


def test_a_question_about_viewing_an_image_gets_the_section_roles_names(ix: OpenIndex) -> None:
    question = "can I look at the photo to check what it shows?"
    reply = answer(ix, question)
    assert (reply.article, reply.section) == ix.content.image_handling_section()
    moved = with_roles(ix, image_handling=SectionRole("what-to-do-with-an-image#organisation-device",
                                                      "What to do with a sexting image"))
    again = answer(moved, question)
    assert again.section is not None and again.section.anchor == "organisation-device"

