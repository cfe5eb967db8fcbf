"""What a stream frame carries besides its event: the rows it changed.

An event that changes a chat or a message goes out with the chat row as
``GET /api/chats/<key>`` answers it and the message as ``GET /api/messages`` lists it
(notes included), read once per event for every open stream, right after the event is
committed. The page applies them instead of asking the read API again; with ten tabs
and hundreds of statuses a second that is the difference between no requests and
thousands a second. Rows are read when the frame is made, so they may already include
later events of the same chat: a page applying frames in order never goes backwards.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections import messages, notes, team_view

#: Events whose frames carry the chat row (and the message row, where there is one).
CHAT_EVENTS = frozenset({
    "message.received", "message.echoed", "message.status", "message.queued",
    "message.sent", "message.failed", "message.unknown", "message.retry",
    "media.stored", "media.failed", "chat.read", "customer.updated", "customer.linked",
    "chat.status_changed", "chat.assigned", "chat.labels_changed", "note.added",
})

_BY_MESSAGE_ID = frozenset({"message.queued", "message.sent", "message.failed",
                            "message.unknown", "message.retry", "media.stored",
                            "media.failed"})
_CHAT_STREAM = "chat:"


def rows_for(db: sqlite3.Connection, event: RecordedEvent) -> dict[str, Any]:
    """``{"chat": ..., "message": ...}`` for the event (either may be absent)."""
    if event.type not in CHAT_EVENTS:
        return {}
    phone = _phone(event)
    if phone is None:
        return {}
    found: dict[str, Any] = {}
    chat = team_view.full_chat(db, phone)
    if chat is not None:
        found["chat"] = chat
    message_id = _message_id(db, event)
    if message_id is not None:
        item = notes.item(db, message_id)
        if item is not None:
            found["message"] = item
    return found


def _phone(event: RecordedEvent) -> str | None:
    phone = event.data.get("phone")
    if isinstance(phone, str) and phone:
        return phone
    if event.stream.startswith(_CHAT_STREAM):
        return event.stream[len(_CHAT_STREAM):]
    return None


def _message_id(db: sqlite3.Connection, event: RecordedEvent) -> str | None:
    data = event.data
    if event.type in _BY_MESSAGE_ID:
        value = data.get("message_id")
        return value if isinstance(value, str) else None
    if event.type == "note.added":
        value = data.get("note_id")
        return value if isinstance(value, str) else None
    if event.type == "message.status":
        return _by_wamid(db, data.get("wamid"))
    if event.type in ("message.received", "message.echoed"):
        kind = data.get("message_type")
        if kind not in messages.ANNOTATIONS:
            return event.id
        body = data.get(kind) if isinstance(kind, str) else None
        if not isinstance(body, dict):
            return None
        return _by_wamid(db, body.get("message_id") if kind == "reaction"
                         else body.get("original_message_id"))
    return None


def _by_wamid(db: sqlite3.Connection, wamid: Any) -> str | None:
    if not isinstance(wamid, str) or not wamid:
        return None
    row = db.execute("SELECT id FROM messages WHERE wamid = ?", (wamid,)).fetchone()
    return row[0] if row else None
