"""The vocabulary of who a customer is: a phone number, business-scoped ids, a username.

Since 2026 Meta names a customer by up to three identifiers, and sends the phone only
while the business exchanged a message with it in the last 30 days. Whenever one
webhook item names the same person by more than one of them, crm records the link, so a
later message carrying only one of them reaches the same conversation.
"""

from __future__ import annotations

from crm.events.model import Event


class CustomerLinked(Event):
    """These identifiers belong to one customer (idempotent: the same link is one event).

    ``previous`` is an identifier the customer was known by before (the sender of a
    ``user_changed_number`` / ``user_changed_user_id`` notice): the new ones join its
    conversation. ``source`` says what carried the link: ``message``, ``contact``,
    ``status``, ``echo``, ``history`` or the system notice's type.
    """

    type = "customer.linked"
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    previous: str | None = None
    source: str
