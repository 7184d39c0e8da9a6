"""The conversation on /ask. The thread lives in the address alone: the earlier questions as repeated `t`, the
newest as `q`, the nation as `nation` and a guided answer's facts as the decision aid's own parameters. Nothing
is kept: no cookie, nothing stored on the server, and the request log holds the path only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from flask import abort, render_template, request, url_for

from kb.answering import Answer
from kb.guide import ASKED, NATION, SHARED, Conversation, Guide, guide
from kb.model import NATION_NAMES, NATIONS, Contact, LawItem, NationRoute
from kb.searching import normalise
from kb.tools import BadState
from web import engine, tools
from web.params import check, context, param, question, with_query

MAX_EARLIER = 5  # earlier questions carried with the newest, so a thread shows at most six
MAX_EARLIER_BYTES = 3000  # of the address: the whole request line must stay well inside 8 KB
MAX_FOLLOWUPS = 3


@dataclass(frozen=True)
class Thread:
    """A conversation as its address holds it."""

    earlier: tuple[str, ...]
    newest: str
    nation: str
    token: str = ""  # a follow-up context from an older link (/ask?q=...&context=...), for the first question
    facts: tuple[tuple[str, str], ...] = ()
    dropped: bool = False

    @property
    def questions(self) -> tuple[str, ...]:
        """Every question shown, oldest first."""
        return (*self.earlier, self.newest) if self.newest else self.earlier

    @property
    def carried(self) -> tuple[str, ...]:
        """The questions the next one carries with it (the oldest left out when the address would grow long)."""
        return cap(self.questions)[0]

    @property
    def next_turn(self) -> int:
        """The number the next question's turn will have."""
        return len(self.carried) + 1

    def url(self, *, newest: str | None = None, nation: str | None = None,
            facts: Sequence[tuple[str, str]] | None = None, fragment: str = "") -> str:
        """This thread's address, with a new question asked, another nation or other facts."""
        earlier, q = (self.carried, newest) if newest is not None else (self.earlier, self.newest)
        pairs = [("t", t) for t in earlier] + ([("q", q)] if q else [])
        if self.token:
            pairs.append(("context", self.token))
        chosen = self.nation if nation is None else nation
        pairs += [(NATION, chosen)] if chosen else []
        pairs += list(self.facts if facts is None else facts)
        return url_for("pages.ask") + "?" + urlencode(pairs) + (f"#{fragment}" if fragment else "")


def cap(questions: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The newest questions that fit in the address, and whether older ones were left out."""
    kept: list[str] = []
    size = 0
    for q in reversed(questions):
        size += len(urlencode({"t": q})) + 1
        if len(kept) == MAX_EARLIER or size > MAX_EARLIER_BYTES:
            break
        kept.append(q)
    return tuple(reversed(kept)), len(kept) < len(questions)


def read_thread(nation: str) -> tuple[Thread, str]:
    """The thread in the request's address (each question cleaned and cut), and a note for the newest."""
    earlier = [text for t in request.args.getlist("t") if (text := normalise(t)[0])]
    kept, dropped = cap(earlier)
    newest, message = question()
    if not newest and kept:
        # The form sent back without a new question: the thread stays as it was.
        newest, kept, message = kept[-1], kept[:-1], "Type a question in the box to ask it."
    return Thread(kept, newest, nation, context(), dropped=dropped), message


@dataclass(frozen=True)
class Result:
    """The decision aid's result as the thread shows it, as /decide shows it: the contacts and routes for the
    nation, that nation's own arrangements, and the address of the same result in the aid."""

    contacts: dict[str, Contact]
    routes: list[tools.Route]
    nation_routes: list[tuple[NationRoute, str]]
    aid_url: str


@dataclass(frozen=True)
class Turn:
    """One question and its answer, as the thread shows it."""

    number: int
    question: str
    reply: Answer
    law_choice: tuple[tuple[str, str], ...]  # (nation name, address) when the law depends on a nation not chosen
    followups: tuple[tuple[str, str], ...]
    guide: Guide | None
    newest: bool
    result: Result | None = None


def _replies(thread: Thread) -> list[Answer]:
    """Each question answered in turn, each carrying the one before as its context: the chosen nation is where the
    first starts, and a turn that names another ("and in Scotland?") moves the ones after it there."""
    replies: list[Answer] = []
    token = thread.token or None
    for i, q in enumerate(thread.questions):
        reply = engine.reply(q, (thread.nation or None) if i == 0 else None, token)
        replies.append(reply)
        token = reply.context
    return replies


def _guide(thread: Thread, reply: Answer) -> Guide:
    """Where the guided answer stands for the facts in the address; a 400 when they are garbled."""
    content = engine.content()
    if content.tools is None or content.conversation is None:
        abort(503, "The guided questions are not available right now.")
    names = {q.id for q in content.tools.decide.questions} | {SHARED, ASKED}
    params = {name: request.args.getlist(name) for name in names if name in request.args}
    try:
        return guide(content.conversation, content.tools.decide, params, thread.nation or reply.nation)
    except BadState as exc:
        abort(400, f"{exc} Start again from the question.")


def _result(found: Guide | None) -> Result | None:
    """The aid's result once the guided questions are done."""
    content = engine.content()
    if found is None or not found.done or content.tools is None:
        return None
    nation = found.decision.nation
    contacts = tools.contacts_for(nation)
    return Result(contacts, tools.route_views(content.tools.decide.routes, found.decision, contacts),
                  tools.nation_routes(nation), with_query("tools.decide_page", found.decision.query()))


def _turn(thread: Thread, number: int, q: str, reply: Answer, found: Guide | None) -> Turn:
    asked = {t.lower() for t in thread.questions}
    fragment = f"turn-{thread.next_turn}"
    followups = tuple((text, thread.url(newest=text, fragment=fragment)) for text, _ in reply.followups
                      if text.lower() not in asked)[:MAX_FOLLOWUPS]
    choice: tuple[tuple[str, str], ...] = ()
    if reply.legislation and not reply.nation:
        choice = tuple((NATION_NAMES[n], thread.url(nation=n, fragment=f"turn-{number}-law")) for n in NATIONS)
    return Turn(number, q, reply, choice, followups, found, number == len(thread.questions), _result(found))


def _turns(thread: Thread) -> tuple[Thread, list[Turn]]:
    """The thread's turns; the facts are those of the first guided answer (dropped when there is none)."""
    replies = _replies(thread)
    at = next((i for i, r in enumerate(replies) if r.guided), None)
    found = _guide(thread, replies[at]) if at is not None else None
    thread = replace(thread, facts=found.facts if found else ())
    turns = [_turn(thread, i + 1, q, r, found if i == at else None)
             for i, (q, r) in enumerate(zip(thread.questions, replies, strict=True))]
    return thread, turns


def _starters(conversation: Conversation | None, thread: Thread, roles: dict[str, str]
              ) -> list[tuple[str, list[tuple[str, str]]]]:
    """Starter questions by role, each a link that asks it."""
    if conversation is None:
        return []
    return [(roles.get(s.role, s.role), [(q, thread.url(newest=q, fragment="turn-1")) for q in s.questions])
            for s in conversation.starters]


def laws_of(turn: Turn) -> list[LawItem]:
    """The law a turn shows: only for a nation (without one, the turn offers a choice of nation instead)."""
    return list(turn.reply.legislation) if turn.reply.nation else []


def page(roles: dict[str, str], tasks: list[dict[str, Any]]) -> str:
    """The conversation: every question in the address answered in turn, and a form for the next (roles name
    the starters' groups; tasks are offered when the guidance does not cover a question)."""
    nation = param(NATION)
    check(nation)
    thread, message = read_thread(nation)
    content = engine.content()
    if not thread.newest:
        return render_template("ask.html", thread=thread, turns=[], message=message,
                               starters=_starters(content.conversation, thread, roles))
    thread, turns = _turns(thread)
    return render_template(
        "ask.html", thread=thread, turns=turns, message=message, starters=[], tasks=tasks, laws_of=laws_of,
        restart=url_for("pages.ask", nation=thread.nation or None),
        first_steps=content.conversation.first_steps if content.conversation else None,
        aid=content.tools.decide if content.tools else None)
