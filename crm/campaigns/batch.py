"""One batch of a campaign's recipients as events: a ``message.queued`` each, or a
``campaign.skipped`` with the reason. Pure: the worker reads, this decides.

Each queued message carries the idempotency key of (campaign, recipient): however
often a batch is built (a double start, two workers, a restart), the log takes one
message per recipient, and the sender's dispatching rules do the rest.
"""

from __future__ import annotations

import uuid
from typing import Any

from crm.customers.variables import MissingAttribute, fill
from crm.events import NewEvent
from crm.events.campaigns import CampaignSkipped, campaign_stream, send_key
from crm.events.messages import MessageQueued, chat_stream

ACTOR = "system:campaigns"


def body_parameters(filled: dict[str, str]) -> list[dict[str, Any]]:
    """The template's ``components`` for numbered body variables, in their order."""
    if not filled:
        return []
    ordered = sorted(filled.items(), key=lambda kv: (not kv[0].isdigit(),
                                                     int(kv[0]) if kv[0].isdigit() else 0,
                                                     kv[0]))
    return [{"type": "body", "parameters": [{"type": "text", "text": text}
                                            for _key, text in ordered]}]


def is_marketing(campaign: dict[str, Any]) -> bool:
    return str(campaign.get("category") or "").upper() == "MARKETING"


def template_for(campaign: dict[str, Any], filled: dict[str, str]) -> dict[str, Any]:
    """The template as sent: the campaign's components, the body's parameters filled."""
    template = dict(campaign["template"])
    components = [c for c in template.get("components") or []
                  if not (filled and str(c.get("type", "")).lower() == "body")]
    template["components"] = [*components, *body_parameters(filled)]
    return template


def build(campaign: dict[str, Any], phones: list[str], customers: dict[str, dict[str, Any]],
          opted_out: set[str]) -> list[NewEvent]:
    cid = campaign["id"]
    events = []
    for phone in phones:
        if phone in opted_out and is_marketing(campaign):
            events.append(CampaignSkipped(campaign_id=cid, phone=phone, reason="opted_out")
                          .new(campaign_stream(cid), actor=ACTOR,
                               idempotency_key=f"campaign-skip:{cid}:{phone}"))
            continue
        customer = customers.get(phone) or {"phone": phone, "name": None, "attributes": {}}
        try:
            filled = fill(campaign.get("variables") or {}, customer)
        except MissingAttribute as missing:
            events.append(CampaignSkipped(campaign_id=cid, phone=phone,
                                          reason="missing_attribute",
                                          attribute=missing.attribute)
                          .new(campaign_stream(cid), actor=ACTOR,
                               idempotency_key=f"campaign-skip:{cid}:{phone}"))
            continue
        events.append(MessageQueued(
            message_id=uuid.uuid4().hex, phone=phone, message_type="template",
            template=template_for(campaign, filled), agent=campaign.get("agent"),
            campaign=cid, campaign_name=campaign.get("name"),
        ).new(chat_stream(phone), actor=ACTOR, idempotency_key=send_key(cid, phone)))
    return events
