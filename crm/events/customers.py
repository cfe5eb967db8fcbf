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
    where the row came from (``sheet:<id or name>``, ``csv:<file name>``, ``agent`` for
    an agent's edit in the page or the API).

    ``fields`` is None for a row of the list (the whole row, as the sheet says it). An
    agent's edit names the fields it sets (``name``, ``attributes.<column>``): the event
    carries the customer as it stands after the edit, but only those fields are the
    agent's, and a later sheet row replaces them only where the sheet changed them
    (see ``crm.projections.customers``).
    """

    type = "customer.updated"
    phone: str
    name: str | None = None
    attributes: dict[str, str] = {}
    source: str
    fields: list[str] | None = None


#: The ``source`` of an agent's edit.
AGENT_SOURCE = "agent"
#: The field name of an attribute in ``CustomerUpdated.fields``.
ATTRIBUTE_PREFIX = "attributes."
