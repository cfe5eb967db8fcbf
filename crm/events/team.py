"""The vocabulary of teamwork: who owns a conversation, its state, notes, labels, quick
replies and notifications.

Chat events are on the chat's stream (``chat:<phone>``), so one read of a stream is a
conversation's whole history, notes and hand-overs included. Labels and quick replies
have streams of their own; an agent's notification reads are on ``agent:<name>``.
"""

from __future__ import annotations

from typing import Any, Literal

from crm.events.model import Event

LABELS_STREAM = "labels"
QUICK_REPLIES_STREAM = "quick_replies"

Status = Literal["open", "pending", "snoozed", "resolved"]
STATUSES: tuple[str, ...] = ("open", "pending", "snoozed", "resolved")


class ChatStatusChanged(Event):
    """An agent (or the system, when a snooze ends) set a conversation's state.

    ``until`` is set for ``snoozed`` only. A wake-up names the snooze it ends
    (``woke``: the position of the ``snoozed`` event), so a wake-up that lost a race
    with a newer snooze or a manual change leaves the chat as it is.
    """

    type = "chat.status_changed"
    phone: str
    status: Status
    until: str | None = None
    woke: int | None = None
    #: Set when a rule did it: ``{rule_id, name, version}`` (``crm.automation``).
    automation: dict[str, Any] | None = None


class ChatAssigned(Event):
    """The conversation's owner: an agent's name, or ``None`` for nobody.

    ``by`` says how: ``manual`` (someone chose), ``round_robin`` (the assigner) or
    ``reply`` (the first reply in an unassigned chat under the assignee policy).
    """

    type = "chat.assigned"
    phone: str
    agent: str | None = None
    by: Literal["manual", "round_robin", "reply"] = "manual"
    #: Set when a rule did it: ``{rule_id, name, version}`` (``crm.automation``).
    automation: dict[str, Any] | None = None


class NoteAdded(Event):
    """A private note beside the conversation: never sent to WhatsApp.

    ``mentions`` are the agents the note names with ``@name``, resolved when it was
    written (an agent created later is not mentioned after the fact).
    """

    type = "note.added"
    note_id: str
    phone: str
    text: str
    agent: str
    mentions: list[str] = []
    #: Set when a rule did it: ``{rule_id, name, version}`` (``crm.automation``).
    automation: dict[str, Any] | None = None


class LabelCreated(Event):
    type = "label.created"
    label_id: str
    name: str
    color: str | None = None


class LabelUpdated(Event):
    """A rename or a new colour: chats keep the label (they hold its id)."""

    type = "label.updated"
    label_id: str
    name: str | None = None
    color: str | None = None


class ChatLabelsChanged(Event):
    """Labels added to and removed from a conversation, by label id."""

    type = "chat.labels_changed"
    phone: str
    add: list[str] = []
    remove: list[str] = []
    #: Set when a rule did it: ``{rule_id, name, version}`` (``crm.automation``).
    automation: dict[str, Any] | None = None


class QuickReplySaved(Event):
    """A quick reply, new or changed: ``{{name}}``, ``{{phone}}`` and ``{{agent}}`` are
    kept as written and filled in by the composer."""

    type = "quick_reply.saved"
    reply_id: str
    shortcut: str
    text: str


class QuickReplyDeleted(Event):
    type = "quick_reply.deleted"
    reply_id: str


class NotificationsRead(Event):
    """An agent read notifications: those listed, and every one at or before ``upto``."""

    type = "notifications.read"
    agent: str
    ids: list[int] = []
    upto: int | None = None


class ReplyClaimed(Event):
    """The guard of a reply made after the agent saw position ``seen``: its idempotency
    key names the chat and the conversation's newest change, so of two agents replying
    to the same change only the first records the claim (the other is told the
    conversation changed). No projection reads it; it is the audit of the race."""

    type = "reply.claimed"
    phone: str
    seen: int
    agent: str
