"""What a question signals beyond its topic: immediate risk, a nation named. Pure text rules."""

from __future__ import annotations

import re

from kb.model import NATIONS

_TIME_NOW = (r"(?:as we speak|right now|just now|this minute|this second|this (?:morning|afternoon|evening)|tonight|"
             r"today|in \d+ ?(?:min|mins|minutes|hours?|hrs?)|at the moment|currently)")
URGENT_PATTERNS = tuple(re.compile(p, re.I) for p in (
    # a child at risk of suicide or self-harm
    r"\bsuicid", r"\bself[- ]?harm", r"\bkill(?:ing|ed)? (?:him|her|them|my|your)sel",
    r"\bend(?:ing)? (?:his|her|their|my) life", r"\boverdos",
    r"\b(?:cut|cutting|hurt|hurting|harm|harming) (?:him|her|them|my)sel(?:f|ves)",
    r"\bwants? to die\b", r"\bend (?:it all|everything)\b", r"\btak(?:e|es|ing|en) (?:his|her|their|my) own life\b",
    r"\b(?:cut|cutting|slit|slitting) (?:his|her|their|my) (?:arms?|wrists?|legs?|skin)\b",
    r"\b(?:took|taken|take|taking|swallowed) "
    r"(?:a (?:load|lot|handful|bunch) of |lots of |some |loads of |an overdose of )?(?:pills|tablets|paracetamol)\b",
    r"\b(?:jump|jumping) (?:off|from|in front)", r"\bthreat\w* to (?:jump|kill|hurt|harm|end)\b",
    # a child missing, or gone to meet someone
    r"\b(?:is|are|has gone|have gone|gone|went|been|reported|now|still) missing\b"
    r"(?! (?:lessons?|school|class|classes|work|homework|sessions?|days?|out|the point))",
    r"\bmissing (?:child|person|from (?:home|care|school))\b", r"\b(?:ran|run|running) away\b", r"\bdisappeared\b",
    r"\b(?:didn'?t|did not|hasn'?t|has not|haven'?t|have not|not) (?:come|came|gone|got|been) (?:back|home)\b",
    r"\b(?:can'?t|cannot|can not|unable to) (?:reach|find|contact|locate|get hold of) (?:her|him|them)\b",
    r"\bdon'?t know where (?:she|he|they) (?:is|are)\b",
    r"\bto meet (?:up (?:with )?)?(?:(?:a|an|this|that|the|some|another) )?(?:(?:older|adult|online|new) )?['\"]?"
    r"(?:man|men|adult|stranger|guy|bloke|woman|person|boy|girl|someone|somebody|him|her|them|friend|lad|contact)\b",
    r"\bmeet(?:ing)? (?:up )?(?:with )?(?:a|an|this|that|the|some) "
    r"(?:man|men|adult|older|stranger|guy|bloke|woman|person)",
    r"\bin (?:immediate )?danger\b",
    # blackmail or threats happening now
    _TIME_NOW + r".*\b(?:threat|unless|post|share|send|leak|expose|blackmail|meet)",
    r"\b(?:threat|unless|post|share|leak|expose|blackmail|meet)\w*\b.*" + _TIME_NOW,
))
# A question about writing procedures, training or a past incident is planning, not an emergency, unless it
# also says something is happening now.
PLANNING = re.compile(
    r"\b(?:polic(?:y|ies)|procedures?|training|lessons?|curriculum|pshe|rse|guidance|governors?|always)\b"
    r"|\bhypothetical|\bwhat if\b|\bin general\b|\blast (?:term|year|month|week)\b|\b(?:weeks|months|years) ago\b",
    re.I,
)
NOW = re.compile(r"\b(?:now|just|today|tonight|currently|this (?:morning|afternoon|evening)|at the moment)\b", re.I)
NATION_WORDS = {
    "england": re.compile(r"\b(?:england|english)\b", re.I),
    "wales": re.compile(r"\b(?:wales|welsh)\b", re.I),
    "scotland": re.compile(r"\b(?:scotland|scottish)\b", re.I),
    "northern-ireland": re.compile(r"\b(?:northern ireland|n\.? ?ireland|ni|psni)\b", re.I),
}
assert set(NATION_WORDS) == set(NATIONS)


def is_urgent(text: str) -> bool:
    """True when the text signals immediate risk of harm to a child."""
    if not any(p.search(text) for p in URGENT_PATTERNS):
        return False
    return not (PLANNING.search(text) and not NOW.search(text))


# Words that ask how the law of one place compares with another's ("the same as in England?"). With only one
# place in the question (the other is the user's own), "difference" is too common ("the difference between a
# policy and procedures") to count.
COMPARING = re.compile(
    r"\b(?:same|different|differ\w*|difference|compare\w*|comparison|versus|vs|unlike|as opposed to)\b", re.I)
COMPARING_ONE = re.compile(
    r"\b(?:same|different|differs?|compared? (?:to|with)|comparison|versus|vs|unlike|as opposed to)\b", re.I)


def nations_named(text: str) -> tuple[str, ...]:
    """Every nation the text names, in the order they first appear."""
    found = sorted((m.start(), n) for n, rx in NATION_WORDS.items() if (m := rx.search(text)))
    return tuple(n for _, n in found)


def nation_in(text: str) -> str | None:
    """The nation the text names, if exactly one."""
    named = nations_named(text)
    return named[0] if len(named) == 1 else None
