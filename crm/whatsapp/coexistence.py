"""The WhatsApp Business app beside the Cloud API on one number (coexistence).

``smb_message_echoes`` carries what the business typed in the app: each echo becomes a
``message.echoed``, an outbound message of the thread (Meta's statuses for it find it by
its wamid). ``history`` carries the app's past chats in chunks: the customer's messages
become ``message.received`` and the business's ``message.echoed``, both marked
``imported``, so they take their place in the thread by Meta's timestamps without
counting as unread, notifying anyone or opening the 24-hour window (which the app and
the API do not share).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.events import NewEvent
from crm.events.messages import MessageEchoed, chat_stream
from crm.whatsapp.identifiers import contact_key, link_event, sole_contact, text
from crm.whatsapp.inbound import (
    ACTOR,
    KNOWN_TYPES,
    Unreadable,
    epoch,
    fill_content,
    message_events,
)


def _list(value: Any, name: str) -> list[Any]:
    items = value.get(name) if isinstance(value, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise Unreadable(f"{name} is not a list")
    return items


def _business(value: dict[str, Any]) -> str | None:
    metadata = value.get("metadata")
    return text(metadata.get("display_phone_number")) if isinstance(metadata, dict) else None


def echo_events(echo: Any, value: dict[str, Any], received_at: datetime, *,
                customer: str | None = None, imported: bool = False) -> list[NewEvent]:
    """One message the business sent from the app, after the link its ids call for."""
    if not isinstance(echo, dict):
        raise Unreadable("a message echo that is not an object")
    wamid = text(echo.get("id"))
    if wamid is None:
        raise Unreadable("a message echo without an id")
    to = text(echo.get("to"))
    if to is not None and to == _business(value):
        to = text(echo.get("from"))  # seen in Meta's samples: the two swapped
    phone = (to or text(echo.get("to_user_id")) or customer
             or contact_key(sole_contact(value.get("contacts"))))
    if phone is None:
        raise Unreadable(f"message echo {wamid} has neither to nor to_user_id")
    declared = echo.get("type")
    kind = declared if isinstance(declared, str) and declared in KNOWN_TYPES else "unknown"
    data: dict[str, Any] = {"phone": phone, "wamid": wamid, "message_type": kind,
                            "user_id": text(echo.get("to_user_id")),
                            "parent_user_id": text(echo.get("to_parent_user_id"))}
    if kind == "unknown" and isinstance(declared, str):
        data["unknown_type"] = declared
    fill_content(kind, echo, data)
    metadata = value.get("metadata")
    if isinstance(metadata, dict):
        data["phone_number_id"] = text(metadata.get("phone_number_id"))
    if imported:
        data["imported"] = True
        history = echo.get("history_context")
        if isinstance(history, dict):
            data["history_status"] = text(history.get("status"))
    data["raw"] = echo
    occurred = epoch(echo.get("timestamp")) or received_at
    try:
        event = MessageEchoed(**data)
    except ValueError as exc:
        raise Unreadable(f"message echo {wamid}: {exc.__class__.__name__}") from None
    link = link_event(stream_key=phone, occurred_at=occurred,
                      source="history" if imported else "echo",
                      wa_id=to, user_id=data["user_id"],
                      parent_user_id=data["parent_user_id"])
    return [*([link] if link is not None else []),
            event.new(chat_stream(phone), actor=ACTOR, occurred_at=occurred,
                      idempotency_key=f"wa:{wamid}")]


def echoes(value: dict[str, Any], received_at: datetime, events: list[NewEvent],
           problems: list[str]) -> None:
    """Every echo of one ``smb_message_echoes`` change."""
    for echo in _list(value, "message_echoes"):
        try:
            events.extend(echo_events(echo, value, received_at))
        except Unreadable as exc:
            problems.append(str(exc))


def history(value: dict[str, Any], received_at: datetime, events: list[NewEvent],
            problems: list[str]) -> None:
    """Every message of every thread of one ``history`` change, in Meta's order.

    A message whose ``from`` is the business's number (or that names a ``to``) is the
    business's; any other is the customer's, whose thread is ``threads[].id``.
    """
    business = _business(value)
    for chunk in _list(value, "history"):
        for thread in _list(chunk, "threads"):
            if not isinstance(thread, dict):
                problems.append("a history thread that is not an object")
                continue
            customer = text(thread.get("id"))
            for message in _list(thread, "messages"):
                try:
                    events.extend(_history_message(message, value, customer, business,
                                                   received_at))
                except Unreadable as exc:
                    problems.append(str(exc))


def _history_message(message: Any, value: dict[str, Any], customer: str | None,
                     business: str | None, received_at: datetime) -> list[NewEvent]:
    if not isinstance(message, dict):
        raise Unreadable("a history message that is not an object")
    sender = text(message.get("from"))
    if message.get("to") is not None or (business is not None and sender == business):
        return echo_events(message, value, received_at, customer=customer, imported=True)
    if sender is None and customer is not None:
        message = {**message, "from": customer}
    return message_events(message, {"metadata": value.get("metadata")}, False, received_at,
                          imported=True)
