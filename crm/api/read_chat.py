"""``POST /api/chats/<phone>/read``: an agent read the chat.

Unread goes to zero for every agent (``chat.read``, with the agent as actor) and,
unless ``WHATSAPP_SEND_READ_RECEIPTS`` is off, the customer's newest message is
marked read at Meta (blue ticks) in the background: a failure there is logged and
never the agent's problem.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from quart import Blueprint

from crm.api.guard import current_agent
from crm.api.services import services
from crm.api.team_access import visible_chat
from crm.events.messages import ChatRead, chat_stream
from crm.projections import team_view
from crm.sender.service import mark_read, spawn

blueprint = Blueprint("read_chat", __name__)


def newest_inbound(conn: sqlite3.Connection, phone: str) -> str | None:
    row = conn.execute(
        "SELECT wamid FROM messages WHERE phone = ? AND direction = 'in' AND wamid IS NOT NULL "
        "ORDER BY ts DESC, position DESC LIMIT 1", (phone,)).fetchone()
    return row[0] if row else None


@blueprint.post("/api/chats/<phone>/read")
async def read_chat(phone: str) -> dict[str, Any]:
    agent = current_agent()
    crm = services()
    chat = await visible_chat(phone)  # 404 for none, or one this agent may not see
    phone = chat["phone"]  # its key, whichever of the customer's identifiers was asked
    if chat["unread"]:
        await crm.db.record([ChatRead(phone=phone, agent=agent.name).new(
            chat_stream(phone), actor=agent.actor)])
        sending = crm.sending
        if crm.settings.whatsapp_send_read_receipts and sending is not None:
            wamid = await crm.db.read(newest_inbound, phone)
            if wamid is not None:
                spawn(sending, mark_read(sending, phone, wamid))
        updated: dict[str, Any] | None = await crm.db.read(team_view.full_chat, phone)
        chat = updated or chat
    return {"chat": chat}
