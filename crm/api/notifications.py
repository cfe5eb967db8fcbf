"""``GET /api/notifications`` (``?unread=true``, ``?limit=``): the asking agent's newest
notifications and the unread count; ``POST /api/notifications/read``
``{"ids": [...]}`` or ``{"upto": <id>}`` (or both) marks them read, as an event."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from crm.api.body import json_object
from crm.api.errors import BadRequest
from crm.api.guard import current_agent
from crm.api.reads import page_limit
from crm.api.services import services
from crm.events.agents import agent_stream
from crm.events.team import NotificationsRead
from crm.projections import notifications

blueprint = Blueprint("notifications", __name__)


@blueprint.get("/api/notifications")
async def list_notifications() -> dict[str, Any]:
    agent = current_agent()
    unread_only = (request.args.get("unread") or "").lower() in ("true", "1", "yes")
    return await services().db.read(notifications.for_agent, agent.name, page_limit(),
                                    unread_only)


def _position(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"{what} must be notification ids", code="bad_ids")
    return value


@blueprint.post("/api/notifications/read")
async def mark_read() -> dict[str, Any]:
    agent = current_agent()
    body = await json_object()
    raw_ids = body.get("ids", [])
    if not isinstance(raw_ids, list) or len(raw_ids) > 1000:
        raise BadRequest("ids must be a list of notification ids", code="bad_ids")
    ids = [_position(i, "ids") for i in raw_ids]
    upto = body.get("upto")
    if upto is not None:
        upto = _position(upto, "upto")
    if not ids and upto is None:
        raise BadRequest('send {"ids": [...]} or {"upto": <id>}', code="bad_ids")
    db = services().db
    await db.record([NotificationsRead(agent=agent.name, ids=ids, upto=upto).new(
        agent_stream(agent.name), actor=agent.actor)])
    return await db.read(notifications.for_agent, agent.name, 50, False)
