"""A conversation's state and owner, and the counts behind the sidebar's tabs.

``POST /api/chats/<phone>/status`` ``{"status", "until"}`` (``until``: an ISO time with
a zone, in the future, for ``snoozed`` only), ``POST /api/chats/<phone>/assign``
``{"agent": name | null}``: both answer the chat. ``GET /api/chats/counts``: the
asking agent's ``mine``, ``unassigned``, ``all``, ``unread`` (open chats) and
``pending``, ``snoozed``, ``resolved``. ``GET /api/team/online``: open streams per
agent, as round-robin assignment sees them. ``GET /api/team/agents``: enabled agents'
names, for pickers and mentions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Blueprint

from crm.api.body import json_object
from crm.api.errors import BadRequest
from crm.api.guard import current_agent
from crm.api.services import services
from crm.api.team_access import scope, visible_chat
from crm.events import format_time, utcnow
from crm.events.messages import chat_stream
from crm.events.team import STATUSES, ChatAssigned, ChatStatusChanged
from crm.projections import agents, team_view
from crm.team import presence

blueprint = Blueprint("team", __name__)


def until_of(raw: Any) -> str:
    """A snooze's end: an ISO 8601 time with its zone, later than now."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("a snooze needs until: an ISO time such as 2026-01-31T09:00:00Z",
                         code="missing_until")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("until must be an ISO time such as 2026-01-31T09:00:00Z",
                         code="bad_until") from None
    if moment.tzinfo is None:
        raise BadRequest("until must say its time zone (Z or +02:00)", code="bad_until")
    if moment <= utcnow():
        raise BadRequest("until must be in the future", code="until_in_past")
    return format_time(moment)


@blueprint.post("/api/chats/<phone>/status")
async def set_status(phone: str) -> dict[str, Any]:
    agent = current_agent()
    body = await json_object()
    status = body.get("status")
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="bad_status")
    until = None
    if status == "snoozed":
        until = until_of(body.get("until"))
    elif body.get("until") is not None:
        raise BadRequest("until is only for status snoozed", code="bad_until")
    chat = await visible_chat(phone)
    if chat["status"] != status or status == "snoozed":
        crm = services()
        await crm.db.record([ChatStatusChanged(phone=phone, status=status, until=until).new(
            chat_stream(phone), actor=agent.actor)])
        chat = await visible_chat(phone)
    return {"chat": chat}


@blueprint.post("/api/chats/<phone>/assign")
async def assign(phone: str) -> dict[str, Any]:
    agent = current_agent()
    body = await json_object()
    if "agent" not in body:
        raise BadRequest('send {"agent": "<name>"} or {"agent": null}', code="bad_agent")
    name = body["agent"]
    if name is not None and not isinstance(name, str):
        raise BadRequest("agent must be an agent's name or null", code="bad_agent")
    crm = services()
    if name is not None:
        found = await crm.db.read(agents.get_agent, name)
        if found is None:
            raise BadRequest(f"there is no agent {name!r}", code="unknown_agent")
        if found["disabled"]:
            raise BadRequest(f"{name} is disabled and cannot own chats",
                             code="agent_disabled")
    chat = await visible_chat(phone)
    if chat["assignee"] != name:
        await crm.db.record([ChatAssigned(phone=phone, agent=name).new(
            chat_stream(phone), actor=agent.actor)])
        updated: dict[str, Any] | None = await crm.db.read(team_view.full_chat, phone)
        chat = updated or chat
    return {"chat": chat}


@blueprint.get("/api/chats/counts")
async def counts() -> dict[str, Any]:
    return await services().db.read(team_view.counts, scope())


@blueprint.get("/api/team/online")
async def online() -> dict[str, Any]:
    return {"online": await services().db.read(presence.online)}


@blueprint.get("/api/team/agents")
async def team_agents() -> dict[str, Any]:
    """Every enabled agent's name, for any agent: the assignee picker and @-mentions
    (``GET /api/agents``, with tokens and flags, stays for admins)."""
    found = await services().db.read(agents.list_agents)
    return {"agents": [{"name": a["name"]} for a in found if not a["disabled"]]}
