"""The vocabulary of sending: attempts, retries, the channel's health and templates.

``message.queued``/``sent``/``failed``/``unknown`` live in ``messages``; these are the
sender's own records. ``message.dispatching`` is written *before* each request to
Meta, so after a crash a request that was in flight (dispatching, no outcome) can be
told from one that never left (queued, no dispatching): the first has an unknown
fate and is not sent again on its own, the second is simply sent.
"""

from __future__ import annotations

from typing import Any

from crm.events.messages import MessageQueued
from crm.events.model import Event

#: The stream of account-level facts (health, templates): one per business number.
CHANNEL_STREAM = "channel:whatsapp"


class MessageDispatching(Event):
    """Attempt ``attempt`` of request ``request`` (the position of the queued or retry
    event) is about to reach Meta."""

    type = "message.dispatching"
    message_id: str
    phone: str
    request: int
    attempt: int


class MessageRetrying(Event):
    """An attempt failed with a transient error; the sender tries again after ``delay``
    seconds. It closes its attempt: a restart sends the message again."""

    type = "message.retrying"
    message_id: str
    phone: str
    request: int
    attempt: int
    delay: float
    error: dict[str, Any]


class MessageRetry(MessageQueued):
    """An agent asked to send a failed (or unknown-fate) message again.

    It carries the whole content again, so the sender never needs the original."""

    type = "message.retry"


class ChannelHealth(Event):
    """Whether the WhatsApp channel can send: flagged by account-level errors (expired
    token, locked account, ...) and cleared by the next success."""

    type = "channel.health"
    ok: bool
    code: int | None = None
    title: str | None = None
    details: str | None = None


class TemplatesFetched(Event):
    """The account's message templates as the Graph API listed them."""

    type = "templates.fetched"
    templates: list[dict[str, Any]]


#: Events that ask the sender to send (each is one *request*).
REQUESTS = (MessageQueued.type, MessageRetry.type)
#: Events that end a request or an attempt.
OUTCOMES = ("message.sent", "message.failed", "message.unknown")
