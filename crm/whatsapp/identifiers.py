"""Who a webhook item is about: the customer's phone, business-scoped ids, username.

Pure functions of Meta's JSON. Whenever one item names the customer by more than one
identifier (``from`` + ``from_user_id``; a ``contacts[]`` entry with ``wa_id`` +
``user_id``; a status's ``recipient_id`` + ``recipient_user_id``; a parent id beside a
user id; a ``system`` notice of a changed number or id), the link becomes a
``customer.linked`` event. Its idempotency key is a digest of what it links, so the
same link, repeated by every later message, is recorded once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from crm.events import NewEvent
from crm.events.hashing import canonical_json
from crm.events.identity import CustomerLinked
from crm.events.messages import chat_stream

ACTOR = "meta"

#: ``system.type`` values that move a customer to a new phone or business-scoped id.
CHANGES = frozenset({"user_changed_number", "user_changed_user_id"})


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def profile_username(contact: dict[str, Any] | None) -> str | None:
    profile = (contact or {}).get("profile")
    return text(profile.get("username")) if isinstance(profile, dict) else None


def sole_contact(contacts: Any) -> dict[str, Any] | None:
    """The one ``contacts[]`` entry, when there is exactly one."""
    if not isinstance(contacts, list):
        return None
    dicts = [c for c in contacts if isinstance(c, dict)]
    return dicts[0] if len(dicts) == 1 and len(contacts) == 1 else None


def contact_key(contact: dict[str, Any] | None) -> str | None:
    """A chat key from a contact alone: its ``user_id``, else its ``wa_id``."""
    if contact is None:
        return None
    return text(contact.get("user_id")) or text(contact.get("wa_id"))


def link_event(*, stream_key: str, occurred_at: datetime, source: str,
               wa_id: str | None = None, user_id: str | None = None,
               parent_user_id: str | None = None, username: str | None = None,
               previous: str | None = None) -> NewEvent | None:
    """A ``customer.linked`` if the identifiers name one person more than one way."""
    found = [v for v in (wa_id, user_id, parent_user_id) if v]
    if previous is None and len(set(found)) < 2:
        return None
    if previous is not None and not [v for v in found if v != previous]:
        return None
    said = [previous, wa_id, user_id, parent_user_id, username]
    digest = hashlib.sha256(canonical_json(said).encode("utf-8")).hexdigest()[:32]
    return CustomerLinked(
        wa_id=wa_id, user_id=user_id, parent_user_id=parent_user_id, username=username,
        previous=previous, source=source,
    ).new(chat_stream(stream_key), actor=ACTOR, occurred_at=occurred_at,
          idempotency_key=f"wa:link:{digest}")


def contact_link(contact: Any, stream_key: str | None,
                 occurred_at: datetime) -> NewEvent | None:
    """A ``contacts[]`` entry naming its customer by phone and business-scoped id."""
    if not isinstance(contact, dict):
        return None
    wa_id, user_id = text(contact.get("wa_id")), text(contact.get("user_id"))
    key = stream_key or wa_id or user_id
    if key is None:
        return None
    return link_event(stream_key=key, occurred_at=occurred_at, source="contact",
                      wa_id=wa_id, user_id=user_id,
                      parent_user_id=text(contact.get("parent_user_id")),
                      username=profile_username(contact))


def message_link(message: dict[str, Any], contact: dict[str, Any] | None, key: str,
                 occurred_at: datetime) -> NewEvent | None:
    """What one inbound message says about its sender's identifiers."""
    contact = contact or {}
    return link_event(
        stream_key=key, occurred_at=occurred_at, source="message",
        wa_id=text(message.get("from")) or text(contact.get("wa_id")),
        user_id=text(message.get("from_user_id")) or text(contact.get("user_id")),
        parent_user_id=(text(message.get("from_parent_user_id"))
                        or text(contact.get("parent_user_id"))),
        username=profile_username(contact))


def change_link(message: dict[str, Any], key: str,
                occurred_at: datetime) -> NewEvent | None:
    """A ``system`` notice that the customer changed number or business-scoped id: the
    new identifiers join the conversation of the one who sent it."""
    system = message.get("system")
    if message.get("type") != "system" or not isinstance(system, dict):
        return None
    kind = text(system.get("type"))
    if kind not in CHANGES:
        return None
    return link_event(stream_key=key, occurred_at=occurred_at, source=kind,
                      wa_id=text(system.get("wa_id")), user_id=text(system.get("user_id")),
                      parent_user_id=text(system.get("parent_user_id")), previous=key)


def status_link(status: dict[str, Any], key: str, occurred_at: datetime) -> NewEvent | None:
    """A status naming its recipient by phone and business-scoped id."""
    return link_event(
        stream_key=key, occurred_at=occurred_at, source="status",
        wa_id=text(status.get("recipient_id")), user_id=text(status.get("recipient_user_id")),
        # Meta's documents say one name, its dashboard's test payloads the other.
        parent_user_id=(text(status.get("recipient_parent_user_id"))
                        or text(status.get("parent_recipient_user_id"))))
