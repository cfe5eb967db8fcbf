"""The vocabulary of campaigns: one template to a frozen list of recipients.

The audience is resolved once, when the campaign is created, and recorded in chunks
(``campaign.audience``): what the campaign sends to never changes under it, and a
replay rebuilds the same recipients whatever the customer list says today. Sending is
``message.queued`` (with ``campaign``) like any other send; the recipient outcomes
here are the ones that never reach the sender (``campaign.skipped``).
"""

from __future__ import annotations

from typing import Any

from crm.events.model import Event


def campaign_stream(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def send_key(campaign_id: str, phone: str) -> str:
    """The idempotency key of a recipient's one message: a second queue of the same
    recipient (a double start, two workers, a restart) records nothing."""
    return f"campaign:{campaign_id}:{phone}"


class CampaignCreated(Event):
    """A draft (or, with ``schedule_at``, a scheduled campaign)."""

    type = "campaign.created"
    campaign_id: str
    name: str
    template: dict[str, Any]
    #: The template's category when created (``MARKETING`` skips opted-out customers).
    category: str | None = None
    audience: dict[str, Any] = {}
    variables: dict[str, str] = {}
    schedule_at: str | None = None
    rate: float | None = None
    size: int = 0
    agent: str | None = None


class CampaignAudience(Event):
    """A chunk of the recipients, in sending order (``offset`` of its first)."""

    type = "campaign.audience"
    campaign_id: str
    offset: int
    phones: list[str]


class CampaignStarted(Event):
    type = "campaign.started"
    campaign_id: str
    #: ``schedule`` when the worker started it at its ``schedule_at``.
    by: str | None = None


class CampaignPaused(Event):
    type = "campaign.paused"
    campaign_id: str


class CampaignResumed(Event):
    type = "campaign.resumed"
    campaign_id: str


class CampaignCancelled(Event):
    type = "campaign.cancelled"
    campaign_id: str


class CampaignFinished(Event):
    """Every recipient was queued or skipped (their messages may still be on the way)."""

    type = "campaign.finished"
    campaign_id: str


class CampaignSkipped(Event):
    """A recipient the campaign will not send to: ``reason`` is ``opted_out`` or
    ``missing_attribute`` (with ``attribute``)."""

    type = "campaign.skipped"
    campaign_id: str
    phone: str
    reason: str
    attribute: str | None = None


class CustomerOptedOut(Event):
    """The customer wants no more marketing: ``source`` is ``keyword`` (with the
    ``keyword``) or ``admin``. (``user_preferences`` webhooks and Meta's 131050 are
    folded from their own events by the ``optouts`` projection.)"""

    type = "customer.opted_out"
    phone: str
    source: str
    keyword: str | None = None
    agent: str | None = None


class CustomerOptedIn(Event):
    """Marketing again: the customer wrote ``START`` or an admin said so."""

    type = "customer.opted_in"
    phone: str
    source: str
    keyword: str | None = None
    agent: str | None = None
