"""Opt-out keywords: a customer who writes ``STOP`` (a whole message of one of
``CRM_OPT_OUT_KEYWORDS``, any case) opts out of marketing; ``START`` opts in again.

The webhook records the ``customer.opted_out``/``opted_in`` beside the message, in the
same batch: the keyword list may change later, and the log keeps what it was then
(replay does not depend on today's setting).
"""

from __future__ import annotations

from collections.abc import Sequence

from crm.events import NewEvent
from crm.events.campaigns import CustomerOptedIn, CustomerOptedOut
from crm.events.customers import customer_stream

OPT_IN = "START"


def parse_keywords(setting: str) -> frozenset[str]:
    return frozenset(k.strip().casefold() for k in setting.split(",") if k.strip())


def keyword_events(events: Sequence[NewEvent], setting: str) -> list[NewEvent]:
    """The opt-out and opt-in events the inbound messages among ``events`` call for."""
    keywords = parse_keywords(setting)
    found: list[NewEvent] = []
    for event in events:
        if event.type != "message.received" or event.data.get("imported"):
            continue
        text = " ".join(str(event.data.get("text") or "").split()).casefold()
        if not text:
            continue
        phone, wamid = event.data["phone"], event.data.get("wamid")
        if text in keywords:
            payload: CustomerOptedOut | CustomerOptedIn = CustomerOptedOut(
                phone=phone, source="keyword", keyword=text.upper())
        elif text == OPT_IN.casefold():
            payload = CustomerOptedIn(phone=phone, source="keyword", keyword=OPT_IN)
        else:
            continue
        found.append(payload.new(customer_stream(phone), actor="meta",
                                 occurred_at=event.occurred_at,
                                 idempotency_key=f"opt:{wamid}"))
    return found
