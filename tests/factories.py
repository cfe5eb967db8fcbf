"""Small builders of events for tests: the vocabulary, not our code under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from crm.events import NewEvent
from crm.events.messages import (
    ChatRead,
    MessageFailed,
    MessageQueued,
    MessageReceived,
    MessageSent,
    MessageStatus,
    chat_stream,
)

_ids = count(1)
BASE_TIME = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def received(phone: str = "85291234567", text: str = "hello", *, wamid: str | None = None,
             kind: str = "text", at: datetime | None = None, name: str | None = None,
             **extra) -> NewEvent:
    wamid = wamid or f"wamid.in{next(_ids)}"
    return MessageReceived(
        phone=phone, wamid=wamid, message_type=kind, text=text if kind == "text" else None,
        profile_name=name, **extra,
    ).new(chat_stream(phone), actor="meta", occurred_at=at or BASE_TIME,
          idempotency_key=f"wa:{wamid}")


def status(wamid: str, value: str, phone: str = "85291234567", **extra) -> NewEvent:
    return MessageStatus(phone=phone, wamid=wamid, status=value, **extra).new(
        chat_stream(phone), actor="meta", idempotency_key=f"wa:{wamid}:{value}")


def queued(message_id: str, phone: str = "85291234567", text: str = "reply",
           agent: str = "ana") -> NewEvent:
    return MessageQueued(message_id=message_id, phone=phone, message_type="text", text=text,
                         agent=agent).new(chat_stream(phone), actor=f"agent:{agent}",
                                          occurred_at=BASE_TIME + timedelta(minutes=1))


def sent(message_id: str, wamid: str, phone: str = "85291234567") -> NewEvent:
    return MessageSent(message_id=message_id, phone=phone, wamid=wamid).new(chat_stream(phone))


def failed(message_id: str, phone: str = "85291234567", code: int = 131047) -> NewEvent:
    return MessageFailed(message_id=message_id, phone=phone,
                         error={"code": code, "title": "Re-engagement message"}).new(
        chat_stream(phone))


def read(phone: str = "85291234567", agent: str = "ana") -> NewEvent:
    return ChatRead(phone=phone, agent=agent).new(chat_stream(phone), actor=f"agent:{agent}")
