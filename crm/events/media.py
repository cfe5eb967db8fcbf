"""The vocabulary of media kept by crm: a customer's file fetched from Meta and stored
before its links expire, or given up on with a reason.

Both events are on the chat's stream and share the idempotency key
``media:message:<message id>``: whatever happens, a received message's file has one
outcome in the log. Meta reuses a media id (a forwarded sticker, a file sent again),
so two messages may name one media id: each gets its own outcome, the second reusing
the file the first stored.

Logs written before keyed the outcome by media id (``media:<Meta's media id>``); such
an event still marks the message it names (``message_id``), and only that one.
"""

from __future__ import annotations

from typing import Any

from crm.events.model import Event


def outcome_key(message_id: str) -> str:
    """The idempotency key of the one outcome (stored or failed) of a message's file."""
    return f"media:message:{message_id}"


def media_key(media_id: str) -> str:
    """The key older versions gave an outcome: one per media id (read, never written)."""
    return f"media:{media_id}"


class MediaStored(Event):
    """The file of message ``message_id`` (the ``message.received`` event's id) is kept.

    ``sha256`` is the hex digest of the bytes (also the id in ``/media/<sha256>``);
    ``store`` says where: ``{"backend": "local", "ref": <sha256>}`` or
    ``{"backend": "drive", "ref": <Drive file id>, "link"?: <web link if public>}``.
    """

    type = "media.stored"
    message_id: str
    phone: str
    media_id: str
    sha256: str
    mime_type: str
    size: int
    filename: str | None = None
    store: dict[str, Any]


class MediaFailed(Event):
    """The file of message ``message_id`` could not be kept; ``reason`` says why, for the
    agent reading the thread."""

    type = "media.failed"
    message_id: str
    phone: str
    media_id: str
    reason: str
    attempts: int = 1
