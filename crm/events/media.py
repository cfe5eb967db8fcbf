"""The vocabulary of media kept by crm: a customer's file fetched from Meta and stored
before its links expire, or given up on with a reason.

Both events are on the chat's stream and share the idempotency key
``media:<Meta's media id>``: whatever happens, a media id has one outcome in the log.
"""

from __future__ import annotations

from typing import Any

from crm.events.model import Event


def media_key(media_id: str) -> str:
    """The idempotency key of a media id's one outcome (stored or failed)."""
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
