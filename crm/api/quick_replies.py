"""Quick replies, shared by the team: ``GET/POST /api/quick-replies``,
``PUT/DELETE /api/quick-replies/<id>``, ``{"shortcut": "prices", "text": "Hi {{name}}"}``.

Any agent may add, change or delete one (every change is an event with their name).
Shortcuts are unique without regard to case. The text is kept as written: the composer
fills ``{{name}}``, ``{{phone}}`` and ``{{agent}}`` (``crm.team.placeholders``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from quart import Blueprint

from crm.api.body import json_object
from crm.api.errors import BadRequest, Conflict, NotFound
from crm.api.guard import current_agent
from crm.api.services import services
from crm.events.team import QUICK_REPLIES_STREAM, QuickReplyDeleted, QuickReplySaved
from crm.projections import quick_replies

blueprint = Blueprint("quick_replies", __name__)

SHORTCUT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
MAX_TEXT = 4096


class ShortcutTaken(Conflict):
    code = "shortcut_exists"


def _fields(body: dict[str, Any]) -> tuple[str, str]:
    shortcut, text = body.get("shortcut"), body.get("text")
    if isinstance(shortcut, str):
        shortcut = shortcut.strip().lstrip("/")
    if not isinstance(shortcut, str) or not SHORTCUT.match(shortcut):
        raise BadRequest("shortcut is 1 to 32 letters, digits, - or _ (typed after /)",
                         code="bad_shortcut")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("a quick reply needs text", code="empty_text")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"a quick reply is at most {MAX_TEXT} characters",
                         code="text_too_long")
    return shortcut, text


async def _save(reply_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
    agent = current_agent()
    shortcut, text = _fields(body)
    db = services().db
    taken = await db.read(quick_replies.by_shortcut, shortcut)
    if taken is not None and taken != reply_id:
        raise ShortcutTaken(f"/{shortcut} is taken")
    await db.record([QuickReplySaved(reply_id=reply_id, shortcut=shortcut, text=text).new(
        QUICK_REPLIES_STREAM, actor=agent.actor)])
    return await db.read(quick_replies.get_reply, reply_id)


@blueprint.get("/api/quick-replies")
async def list_replies() -> dict[str, Any]:
    return {"quick_replies": await services().db.read(quick_replies.list_replies)}


@blueprint.post("/api/quick-replies")
async def create_reply() -> tuple[dict[str, Any], int]:
    body = await json_object()
    return {"quick_reply": await _save(uuid.uuid4().hex[:12], body)}, 201


async def _existing(reply_id: str) -> None:
    if await services().db.read(quick_replies.get_reply, reply_id) is None:
        raise NotFound(f"no quick reply {reply_id}", code="unknown_quick_reply")


@blueprint.put("/api/quick-replies/<reply_id>")
async def update_reply(reply_id: str) -> dict[str, Any]:
    body = await json_object()
    await _existing(reply_id)
    return {"quick_reply": await _save(reply_id, body)}


@blueprint.delete("/api/quick-replies/<reply_id>")
async def delete_reply(reply_id: str) -> dict[str, Any]:
    agent = current_agent()
    await _existing(reply_id)
    await services().db.record([QuickReplyDeleted(reply_id=reply_id).new(
        QUICK_REPLIES_STREAM, actor=agent.actor)])
    return {"deleted": reply_id}
