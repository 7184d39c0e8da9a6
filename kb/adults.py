"""Whether a question says that the one at risk is an adult (content/urgency.yaml, `adults_at_risk`): the guidance
is about children, so an adult's emergency gets the line "call 999" and is declined, not answered as a child's.
Pure: no index, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from kb.model import any_of


@dataclass(frozen=True)
class AdultsAtRisk:
    """Three lists of lower-case patterns: an adult's age or adulthood given for the one at risk or the writer
    (`adult`); a relative or young person given an adult's age (`aged`, taken out before `young` is read); and any
    sign that a child may be the one at risk (`young`: an age under 18, a year group, a child, a son or a friend
    whose age is not given)."""

    adult: tuple[re.Pattern[str], ...] = ()
    aged: tuple[re.Pattern[str], ...] = ()
    young: tuple[re.Pattern[str], ...] = ()

    @cached_property
    def _adult(self) -> re.Pattern[str]:
        return any_of(self.adult)

    @cached_property
    def _aged(self) -> re.Pattern[str]:
        return any_of(self.aged)

    @cached_property
    def _young(self) -> re.Pattern[str]:
        return any_of(self.young)

    def matches(self, text: str) -> bool:
        """True when the text gives an adult's age for the one at risk and nothing in it may be a child."""
        lowered = text.lower()
        if not self.adult or self._adult.search(lowered) is None:
            return False
        # "My 19 yo daughter" names a daughter who is an adult; "my daughter" alone may be a child.
        rest = self._aged.sub(" ", lowered) if self.aged else lowered
        return self._young.search(rest) is None
