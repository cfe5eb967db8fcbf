"""The vocabulary of conversations: what customers send, what agents send, and its fate.

Every payload keeps what Meta sent (``raw``) beside the fields we understand, so a
field we do not parse today is still in the log tomorrow.
"""

from __future__ import annotations

from typing import Any

from crm.events.model import Event


def chat_stream(phone: str) -> str:
    """The stream of one conversation: ``chat:<wa_id or business-scoped user id>``."""
    return f"chat:{phone}"


class MessageContent(Event):
    """What a WhatsApp message carries, whichever side wrote it (no ``type``: not an
    event of its own, the base of ``message.received`` and ``message.echoed``).

    ``message_type`` is Meta's type (``text``, ``image``, ... ``reaction``, ``edit``,
    ``revoke``), or ``unknown`` for a type this version does not understand (``raw``
    keeps it). Type-specific objects (``location``, ``contacts``, ``interactive``,
    ``reaction``, ``edit``, ``revoke``, ``order``, ``system``, ...) are kept under their
    own names.
    """

    phone: str
    wamid: str
    message_type: str
    text: str | None = None
    caption: str | None = None
    media: dict[str, Any] | None = None
    #: Meta's type when ``message_type`` is ``unknown``.
    unknown_type: str | None = None
    #: The customer's identifiers beside the chat key (business-scoped ids).
    user_id: str | None = None
    parent_user_id: str | None = None
    #: A past message of the WhatsApp Business app (a ``history`` webhook): in the
    #: thread at its time, but never unread, never a notification, never the window.
    imported: bool | None = None
    #: Which of the business's numbers received or sent it.
    phone_number_id: str | None = None
    reaction: dict[str, Any] | None = None
    edit: dict[str, Any] | None = None
    revoke: dict[str, Any] | None = None
    location: Any = None
    contacts: Any = None
    interactive: Any = None
    button: Any = None
    order: Any = None
    system: Any = None
    unsupported: Any = None
    raw: dict[str, Any] | None = None


class MessageReceived(MessageContent):
    """A customer's message as Meta delivered it."""

    type = "message.received"
    profile_name: str | None = None
    reply_to_wamid: str | None = None
    username: str | None = None
    context: dict[str, Any] | None = None
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None
    referral: Any = None
    errors: Any = None
    identity: Any = None


class MessageEchoed(MessageContent):
    """A message the business sent from the WhatsApp Business app on the same number
    (coexistence: ``smb_message_echoes``, or a ``history`` webhook's outbound message).

    ``phone`` is the customer's chat key (``to``, else ``to_user_id``); Meta's statuses
    for it arrive like those of our own sends and find it by ``wamid``.
    """

    type = "message.echoed"
    #: Meta's status of an imported message (``history_context.status``).
    history_status: str | None = None


class MessageStatus(Event):
    """Meta's delivery status of one of our outbound messages."""

    type = "message.status"
    phone: str
    wamid: str
    status: str
    error: dict[str, Any] | None = None
    biz_opaque_callback_data: Any = None
    user_id: str | None = None
    phone_number_id: str | None = None
    raw: dict[str, Any] | None = None


class MessageQueued(Event):
    """An agent pressed send: recorded before anything goes to Meta."""

    type = "message.queued"
    message_id: str
    phone: str
    message_type: str
    text: str | None = None
    caption: str | None = None
    media: dict[str, Any] | None = None
    template: dict[str, Any] | None = None
    reply_to: str | None = None
    agent: str | None = None
    #: Set when a rule did it: ``{rule_id, name, version}`` (``crm.automation``).
    automation: dict[str, Any] | None = None
    #: The campaign that sent it (``crm.campaigns``): the sender serves these last.
    campaign: str | None = None
    campaign_name: str | None = None


class MessageSent(Event):
    """Meta accepted an outbound message and gave it a ``wamid``."""

    type = "message.sent"
    message_id: str
    phone: str
    wamid: str
    #: Attempts it took, and how many of them may have reached Meta unanswered.
    attempts: int | None = None
    ambiguous_attempts: int | None = None


class MessageFailed(Event):
    """An outbound message will not reach the customer: Meta's code, title and details."""

    type = "message.failed"
    message_id: str
    phone: str
    error: dict[str, Any]


class MessageFateUnknown(Event):
    """The send was in flight when the process died: an agent decides whether to retry."""

    type = "message.unknown"
    message_id: str
    phone: str
    reason: str
    #: Attempts made before giving up on an answer that never came.
    attempts: int | None = None


class ChatRead(Event):
    """An agent read a chat: unread goes to zero for everyone."""

    type = "chat.read"
    phone: str
    agent: str | None = None


class WebhookUnparsed(Event):
    """A signed webhook body we could not understand, kept byte for byte (base64)."""

    type = "webhook.unparsed"
    body_b64: str
    reason: str


class WebhookChange(Event):
    """A webhook field other than messages (template status, account update, ...)."""

    type = "webhook.change"
    field: str
    value: Any = None
    #: The WhatsApp Business Account the entry is about (Meta's ``entry[].id``).
    entry_id: Any = None


class WebhookError(Event):
    """An error Meta reported at the level of the account or app (``value.errors``)."""

    type = "webhook.error"
    error: dict[str, Any]
    field: str | None = None
    phone_number_id: Any = None
    raw: Any = None
