"""``POST /api/chats/<phone>/notes`` ``{"text"}``: a private note beside the thread.

Never sent to WhatsApp (no worker reads ``note.added``), shown in ``GET /api/messages``
as ``direction``/``type`` ``note``. ``@name`` of an enabled agent is a mention, and a
mention notifies that agent.
"""

from __future__ import annotations

import uuid
from typing import Any

from quart import Blueprint

from crm.api.body import json_object
from crm.api.errors import BadRequest
from crm.api.guard import current_agent
from crm.api.services import services
from crm.api.team_access import visible_chat
from crm.events.messages import chat_stream
from crm.events.team import NoteAdded
from crm.projections import agents, notes
from crm.team.mentions import mentions

blueprint = Blueprint("notes", __name__)

MAX_NOTE = 4096


@blueprint.post("/api/chats/<phone>/notes")
async def add_note(phone: str) -> tuple[dict[str, Any], int]:
    agent = current_agent()
    body = await json_object()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("a note needs text", code="empty_text")
    if len(text) > MAX_NOTE:
        raise BadRequest(f"a note is at most {MAX_NOTE} characters", code="text_too_long")
    await visible_chat(phone)
    db = services().db
    names = [a["name"] for a in await db.read(agents.list_agents) if not a["disabled"]]
    note_id = uuid.uuid4().hex
    event = NoteAdded(note_id=note_id, phone=phone, text=text, agent=agent.name,
                      mentions=mentions(text, names)).new(chat_stream(phone),
                                                          actor=agent.actor)
    await db.record([event])
    found = await db.read(notes.get_note, note_id)
    return {"note": found}, 201
