"""What a reply must pass beyond its content: the reply policy and the stale-reply guard.

``CRM_REPLY_POLICY=assignee``: only the assignee (or an admin) may send in an assigned
chat (403 ``not_assignee``), and the first reply in an unassigned chat assigns it to
whoever sent it (``chat.assigned`` with ``by: reply``, in the same batch as the
message).

The guard: a send may carry ``"seen": <position>``, the newest message the agent had
on screen. If since then the customer wrote, or another agent sent a message or wrote a
note, the send is refused with 409 ``conversation_changed`` and those messages, unless
``"force": true``. Two agents replying to the same change race on one idempotency key
(``reply.claimed`` naming the chat and the change): the log lets one of them win.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from crm.api.errors import BadRequest, Conflict, Forbidden
from crm.api.services import services
from crm.api.team_access import scope_of, unknown_chat
from crm.auth.identity import Agent
from crm.events import NewEvent
from crm.events.messages import chat_stream
from crm.events.team import ChatAssigned, ReplyClaimed
from crm.projections import notes, team_view

#: How long a losing claim waits for the winner's message, to show it in the 409.
WINNER_WAIT = 2.0


class ConversationChanged(Conflict):
    code = "conversation_changed"


class NotAssignee(Forbidden):
    code = "not_assignee"


@dataclass(frozen=True)
class Guard:
    seen: int | None = None
    force: bool = False


def guard_of(source: Any) -> Guard:
    """``seen`` and ``force`` from a JSON body or a form."""
    seen, force = source.get("seen"), source.get("force")
    if isinstance(seen, str) and seen.strip().isdigit():
        seen = int(seen)
    if seen is not None and (isinstance(seen, bool) or not isinstance(seen, int) or seen < 0):
        raise BadRequest("seen must be the position of the newest message on screen",
                         code="bad_seen")
    if isinstance(force, str):
        force = force.lower() in ("1", "true", "yes", "on")
    return Guard(seen=seen, force=bool(force))


def _others(changes: list[dict[str, Any]], agent: Agent) -> list[dict[str, Any]]:
    return [m for m in changes
            if m["direction"] == "in" or m.get("agent") != agent.name]


async def check_access(agent: Agent, phone: str) -> list[NewEvent]:
    """Refuse the reply (404 for a chat the agent may not see, 403 under the assignee
    policy) or answer the events to record beside it (the assignment by reply)."""
    crm = services()
    chat = await crm.db.read(team_view.full_chat, phone)
    if chat is None:
        return []  # a template to a new number: nobody owns that conversation yet
    if not scope_of(agent).may_see(chat["assignee"]):
        raise unknown_chat(phone)
    if crm.settings.reply_policy != "assignee":
        return []
    if chat["assignee"] is None:
        return [ChatAssigned(phone=phone, agent=agent.name, by="reply").new(
            chat_stream(phone), actor=agent.actor)]
    if chat["assignee"] != agent.name and not agent.admin:
        raise NotAssignee(f"this chat is assigned to {chat['assignee']}: only they "
                          "(or an admin) may reply")
    return []


async def claim_turn(agent: Agent, phone: str, guard: Guard) -> None:
    """The stale-reply guard (nothing to do without ``seen``, or with ``force``)."""
    if guard.seen is not None and not guard.force:
        await _claim(agent, phone, guard.seen)


async def _claim(agent: Agent, phone: str, seen: int) -> None:
    db = services().db
    changes = await db.read(notes.changes_since, phone, seen)
    if _others(changes, agent):
        raise _changed(changes)
    turn = max([seen, *(m["position"] for m in changes)])
    claim = ReplyClaimed(phone=phone, seen=turn, agent=agent.name).new(
        chat_stream(phone), actor=agent.actor, idempotency_key=f"reply.claimed:{phone}:{turn}")
    result = await db.record([claim])
    if result.new[0]:
        return
    winner = await db.get(result[0])
    if winner is None or winner.actor == agent.actor:
        return  # our own claim (a retried request): nobody else answered
    deadline = time.monotonic() + WINNER_WAIT
    while True:  # the winner's message follows its claim: show it if it comes
        changes = await db.read(notes.changes_since, phone, seen)
        if _others(changes, agent) or time.monotonic() > deadline:
            raise _changed(changes)
        await asyncio.sleep(0.02)


def _changed(changes: list[dict[str, Any]]) -> ConversationChanged:
    return ConversationChanged(
        "the conversation changed since you saw it: read the new messages, then send "
        "again (or send anyway with force)", messages=changes)
