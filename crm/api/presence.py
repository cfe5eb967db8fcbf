"""``POST /api/presence`` ``{"phone", "state": "viewing"|"typing"|"left"}``: the page
says an agent has a chat open or is typing in it (``crm.stream.presence``).

The page renews "viewing" every few seconds while the chat is open; a signal lasts
``CRM_PRESENCE_TTL`` seconds. "typing" also sends Meta's typing indicator on the
chat's newest inbound message, at most once per 20 s per chat over every worker
(``WHATSAPP_SEND_TYPING``, default on). Answers 204.
"""

from __future__ import annotations

from quart import Blueprint, Response

from crm.api.body import json_object
from crm.api.errors import BadRequest, ServiceUnavailable
from crm.api.guard import current_agent
from crm.api.read_chat import newest_inbound
from crm.api.services import services
from crm.api.team_access import visible_chat
from crm.sender.service import send_typing, spawn
from crm.stream.presence import STATES, TYPING_EVERY

blueprint = Blueprint("presence", __name__)


@blueprint.post("/api/presence")
async def post_presence() -> Response:
    agent = current_agent()
    body = await json_object()
    phone, state = body.get("phone"), body.get("state")
    if not isinstance(phone, str) or not phone or len(phone) > 64:
        raise BadRequest("phone must be a chat key", code="bad_phone")
    if state not in STATES:
        raise BadRequest(f"state must be one of {', '.join(STATES)}", code="bad_state")
    crm = services()
    live = crm.stream
    if live is None:
        raise ServiceUnavailable("the live stream is not running", code="not_started")
    await visible_chat(phone)  # 404 for none, or one this agent may not see
    sending = crm.sending
    typing = crm.settings.whatsapp_send_typing and sending is not None \
        and sending.graph is not None
    due = await live.signal(agent.name, phone, str(state), crm.settings.presence_ttl,
                            TYPING_EVERY if typing else None)
    if due and sending is not None:
        wamid = await crm.db.read(newest_inbound, phone)
        if wamid is not None:
            spawn(sending, send_typing(sending, wamid))
    return Response(status=204)
