"""The vocabulary of the customer list: who a phone number belongs to.

The business keeps its customers in a Google Sheet (or a CSV file); each row that is
new or changed becomes one ``customer.updated`` with the whole row, so the latest
event of a stream is the customer as the sheet last said.
"""

from __future__ import annotations

from crm.events.model import Event


def customer_stream(phone: str) -> str:
    """The stream of one customer: ``customer:<digits-only international number>``."""
    return f"customer:{phone}"


class CustomerUpdated(Event):
    """A row of the customer list, new or changed.

    ``phone`` is WhatsApp's form (digits only, country code first), the same text as a
    chat's key; ``attributes`` are the row's other columns by header; ``source`` says
    where the row came from (``sheet:<id or name>``, ``csv:<file name>``).
    """

    type = "customer.updated"
    phone: str
    name: str | None = None
    attributes: dict[str, str] = {}
    source: str
