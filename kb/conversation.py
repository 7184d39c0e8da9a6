"""What a conversation carries from one question to the next: an opaque token holding the topic (section), the
nation and the law's subjects, and how a follow-up question reads ("and in Scotland?")."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from kb.model import LAW_GROUPS, NATIONS, RISKS

# A question that leans on the one before ("and in Scotland?", "what if he's 17?", "but what if she sent it herself").
FOLLOW_UP = re.compile(r"^\s*(?:and|but|same|is it the same|what if|even if|(?:what|wat|wot|how) (?:about|abt|bout)"
                       r"|if (?:he|she|they|it)(?:.s| is| was| were|'re| are)?)\b", re.I)
# A follow-up that changes a condition of the case ("what if he's 17?", "but what if she sent it herself?", "if she's
# 17 does that change it"): it asks the same thing again, of another case.
CONDITION = re.compile(r"^\s*(?:(?:and|but)\s+)?(?:(?:what|wat|wot|even)\s+)?(?:(?:about|abt|bout)\s+)?if\b", re.I)
# A question that points back at what was said before ("she begged me not to tell", "can I keep it secret?"): its
# subject is the conversation's, though it names none.
REFERS_BACK = re.compile(r"\b(?:it|this|that|these|those|she|he|her|him|his|hers|they|them|their)\b", re.I)


@dataclass(frozen=True)
class Context:
    """What a conversation carries to its next question: the topic (section), the nation, the law's subjects and the
    risks it signalled (a child at risk of suicide keeps the crisis lines on the turns after)."""

    section: str | None = None
    nation: str | None = None
    law_groups: tuple[str, ...] = ()
    risks: frozenset[str] = frozenset()


def encode_context(section_id: str | None, nation: str | None, law_groups: tuple[str, ...] = (),
                   risks: frozenset[str] = frozenset()) -> str:
    """An opaque token carrying the topic, nation, law subjects and risks to the next question."""
    data = {"s": section_id or "", "n": nation or "", "l": list(law_groups), **({"r": sorted(risks)} if risks else {})}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_context(token: str | None) -> Context:
    """The context in a token; an empty Context for anything malformed."""
    if not token or len(token) > 400:
        return Context()
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Context()
    if not isinstance(data, dict):
        return Context()
    section, nation, groups, risks = data.get("s"), data.get("n"), data.get("l"), data.get("r")
    groups = groups if isinstance(groups, list) else []
    risks = risks if isinstance(risks, list) else []
    return Context(
        section=section if isinstance(section, str) and section else None,
        nation=nation if isinstance(nation, str) and nation in NATIONS else None,
        law_groups=tuple(g for g in groups if isinstance(g, str) and g in LAW_GROUPS),
        risks=frozenset(r for r in risks if isinstance(r, str) and r in RISKS),
    )
