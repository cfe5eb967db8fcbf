"""One inbound message or one status object from a ``messages`` change, as an event.

Pure functions of Meta's JSON. Anything we cannot make sense of raises ``Unreadable``
with a reason; the caller keeps the whole body instead (``webhook.unparsed``), so a
surprise costs a placeholder, never a lost message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crm.events import NewEvent
from crm.events.messages import MessageReceived, MessageStatus, chat_stream
from crm.whatsapp.identifiers import (
    change_link,
    contact_key,
    message_link,
    sole_contact,
    status_link,
)

ACTOR = "meta"

#: Types whose payload is a media object (downloaded later through its ``id``).
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
MEDIA_FIELDS = ("id", "mime_type", "sha256", "filename", "url", "voice", "animated")

#: Types whose payload object rides along unchanged under its own name.
CARRIED_TYPES = frozenset({"location", "contacts", "interactive", "button", "order",
                           "system", "unsupported"})

#: Types we understand that have no payload of their own.
BARE_TYPES = frozenset({"request_welcome"})

#: Every type that keeps its name; any other becomes ``unknown``.
KNOWN_TYPES = (MEDIA_TYPES | CARRIED_TYPES | BARE_TYPES
               | {"text", "reaction", "edit", "revoke"})


class Unreadable(Exception):
    """This part of the webhook cannot become an event; the message says why."""


def epoch(value: Any) -> datetime | None:
    """Meta's ``timestamp``: epoch seconds as a string, sometimes an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def find_contact(contacts: list[Any], message: dict[str, Any],
                 single_sender: bool) -> dict[str, Any] | None:
    """The ``contacts[]`` entry naming this sender, matched by ``wa_id`` or ``user_id``.

    ``contacts[].wa_id`` can differ from ``from`` (number normalisation), so when the
    change holds one contact and all its messages come from one sender, that is it.
    """
    sender, user_id = _str(message.get("from")), _str(message.get("from_user_id"))
    dicts = [c for c in contacts if isinstance(c, dict)]
    for contact in dicts:
        if (sender and contact.get("wa_id") == sender) or (
                user_id and contact.get("user_id") == user_id):
            return contact
    if single_sender and len(dicts) == 1:
        return dicts[0]
    return None


def chat_key(message: dict[str, Any]) -> str | None:
    """``from``, else ``from_user_id`` (a username customer may have no phone at all)."""
    return _str(message.get("from")) or _str(message.get("from_user_id"))


def fill_content(kind: str, message: dict[str, Any], data: dict[str, Any]) -> None:
    """Put the type-specific fields of ``message`` into ``data``."""
    body = message.get(kind)
    if kind == "text":
        data["text"] = _str((_dict(body) or {}).get("body"))
    elif kind in MEDIA_TYPES:
        obj = _dict(body)
        if obj is not None:
            data["media"] = {k: obj[k] for k in MEDIA_FIELDS if k in obj}
            data["caption"] = _str(obj.get("caption"))
    elif kind == "reaction":
        obj = _dict(body) or {}
        emoji = obj.get("emoji")
        # A missing or empty emoji is a removal: both shapes are documented.
        data["reaction"] = {"message_id": _str(obj.get("message_id")),
                            "emoji": emoji if isinstance(emoji, str) else ""}
    elif kind == "edit":
        obj = _dict(body) or {}
        data["edit"] = {"original_message_id": _str(obj.get("original_message_id")),
                        "message": _dict(obj.get("message"))}
    elif kind == "revoke":
        obj = _dict(body) or {}
        data["revoke"] = {"original_message_id": _str(obj.get("original_message_id"))}
    elif kind in CARRIED_TYPES:
        if body is not None:
            data[kind] = body
        data["text"] = _summary(kind, _dict(body) or {})


def _summary(kind: str, body: dict[str, Any]) -> str | None:
    """The words an agent would read in the thread and the chat list, if any."""
    if kind == "interactive":
        sub = _str(body.get("type"))
        reply = _dict(body.get(sub)) if sub else None
        if reply is not None:
            return _str(reply.get("title")) or _str(reply.get("body"))
        return None
    if kind == "button":
        return _str(body.get("text")) or _str(body.get("payload"))
    if kind in ("system", "order"):
        return _str(body.get("body")) or _str(body.get("text"))
    return None


def message_events(message: Any, value: dict[str, Any], single_sender: bool,
                   received_at: datetime, *, imported: bool = False) -> list[NewEvent]:
    """A ``message.received`` for one element of ``value.messages``, after the
    ``customer.linked`` its identifiers call for (so the link is known first)."""
    if not isinstance(message, dict):
        raise Unreadable("a message that is not an object")
    wamid = _str(message.get("id"))
    if wamid is None:
        raise Unreadable("a message without an id")
    contacts = value.get("contacts")
    contact = find_contact(contacts if isinstance(contacts, list) else [], message,
                           single_sender)
    phone = chat_key(message)
    if phone is None:
        # A username customer's message may name its sender only in contacts[].
        contact = sole_contact(contacts)
        phone = contact_key(contact)
    if phone is None:
        raise Unreadable(f"message {wamid} has neither from nor from_user_id")
    declared = message.get("type")
    kind = declared if isinstance(declared, str) and declared in KNOWN_TYPES else "unknown"
    data: dict[str, Any] = {"phone": phone, "wamid": wamid, "message_type": kind}
    if kind == "unknown" and isinstance(declared, str):
        data["unknown_type"] = declared
    fill_content(kind, message, data)

    profile = _dict((contact or {}).get("profile")) or {}
    data["profile_name"] = _str(profile.get("name"))
    data["username"] = _str(profile.get("username"))
    data["user_id"] = _str(message.get("from_user_id")) or _str((contact or {}).get("user_id"))
    data["parent_user_id"] = (_str(message.get("from_parent_user_id"))
                              or _str((contact or {}).get("parent_user_id")))
    data["phone_number_id"] = _str((_dict(value.get("metadata")) or {}).get("phone_number_id"))
    if imported:
        data["imported"] = True

    context = _dict(message.get("context"))
    if context is not None:
        data["context"] = context
        data["reply_to_wamid"] = _str(context.get("id"))
        if context.get("forwarded") is True:
            data["forwarded"] = True
        if context.get("frequently_forwarded") is True:
            data["frequently_forwarded"] = True
    for extra in ("referral", "errors", "identity"):
        if message.get(extra) is not None:
            data[extra] = message[extra]
    data["raw"] = message

    occurred = epoch(message.get("timestamp")) or received_at
    try:
        event = MessageReceived(**data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise Unreadable(f"message {wamid}: {exc.__class__.__name__}") from None
    links = [message_link(message, contact, phone, occurred),
             change_link(message, phone, occurred)]
    return [*(link for link in links if link is not None),
            event.new(chat_stream(phone), actor=ACTOR, occurred_at=occurred,
                      idempotency_key=f"wa:{wamid}")]


def status_error(errors: Any) -> dict[str, Any] | None:
    """The first of ``errors[]`` as ``{code, title, message, details}`` (raw keeps all)."""
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    details = (_dict(first.get("error_data")) or {}).get("details", first.get("details"))
    error = {"code": first.get("code"), "title": first.get("title"),
             "message": first.get("message"), "details": details}
    if first.get("href") is not None:
        error["href"] = first["href"]
    return error


def status_events(status: Any, value: dict[str, Any],
                  received_at: datetime) -> list[NewEvent]:
    """A ``message.status`` for one element of ``value.statuses``, after the
    ``customer.linked`` its recipient's identifiers call for."""
    if not isinstance(status, dict):
        raise Unreadable("a status that is not an object")
    wamid = _str(status.get("id"))
    state = _str(status.get("status"))
    if wamid is None or state is None:
        raise Unreadable("a status without an id or a status")
    state = state.lower()
    phone = _str(status.get("recipient_id")) or _str(status.get("recipient_user_id"))
    if phone is None:
        raise Unreadable(f"status {wamid} has neither recipient_id nor recipient_user_id")
    data: dict[str, Any] = {"phone": phone, "wamid": wamid, "status": state,
                            "error": status_error(status.get("errors"))}
    if status.get("biz_opaque_callback_data") is not None:
        data["biz_opaque_callback_data"] = status["biz_opaque_callback_data"]
    data["user_id"] = _str(status.get("recipient_user_id"))
    data["phone_number_id"] = _str((_dict(value.get("metadata")) or {}).get("phone_number_id"))
    data["raw"] = status
    occurred = epoch(status.get("timestamp")) or received_at
    try:
        event = MessageStatus(**data)
    except ValueError as exc:
        raise Unreadable(f"status {wamid}: {exc.__class__.__name__}") from None
    link = status_link(status, phone, occurred)
    return [*([link] if link is not None else []),
            event.new(chat_stream(phone), actor=ACTOR, occurred_at=occurred,
                      idempotency_key=f"wa:{wamid}:{state}")]
