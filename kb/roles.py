"""The parts of the content the code relies on (content/roles.yaml), as values: named once there, checked by
`kb check`, read from `Content.roles`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SectionRole:
    """An article section the code gives a role (roles.yaml), and the source section it must restate."""

    section: str = ""  # slug#anchor
    restates: str = ""  # a source heading
    line: int = 0


@dataclass(frozen=True)
class Task:
    """An entry point on the home page: what someone needs to do, and where the guidance says how."""

    label: str
    slug: str  # the article that answers it ("" when the task opens another page of the site)
    question: str
    href: str = ""  # another page of the site to open instead of the article (a tool, the law)
    hint: str = ""
    line: int = 0


@dataclass(frozen=True)
class Roles:
    """The parts of the content the code relies on, each named once in roles.yaml and checked by `kb check`."""

    source: str = ""  # the id of the document the site restates (sources.yaml)
    emergency: SectionRole = SectionRole()  # the 999 step: first for a child in danger now
    image_handling: SectionRole = SectionRole()  # never look at, copy or share an image
    law: tuple[str, ...] = ()  # source sections whose answers always carry the law that applies
    references: str = ""  # the source section that lists the source's references
    tasks: tuple[Task, ...] = ()  # the home page's entry points, in order
    field_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str) -> int:
        """The line of a top-level field of roles.yaml (1 when unknown)."""
        return dict(self.field_lines).get(key, 1)
