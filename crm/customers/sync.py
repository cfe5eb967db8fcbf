"""Comparing the list with the ``customers`` projection: events only for what changed.

``plan`` is a pure function of the rows and the current projection, shared by the CLI
(synchronous ``EventStore``) and the server's interval sync (async ``Database``). Each
event's idempotency key names the customer row it replaces (its position), so two
syncs racing on the same change record it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.config import Settings
from crm.customers.phones import normalise_country_code
from crm.customers.sources import Rows, SourceError
from crm.customers.table import BadRow, MissingColumn, Table, read_table
from crm.events import EventStore, NewEvent
from crm.events.customers import CustomerUpdated, customer_stream
from crm.projections.customers import attributes_text, current_rows

#: Events per append: one transaction each, so a running server's writer is never held
#: up for long by a big first sync.
BATCH = 500


@dataclass
class Report:
    source: str
    rows: int = 0
    unchanged: int = 0
    appended: int = 0
    bad: list[BadRow] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.source}: {self.rows} rows, {self.appended} new or changed, "
               f"{self.unchanged} unchanged, {len(self.bad)} skipped"]
        out += [f"  row {bad.row}: {bad.reason}" for bad in self.bad]
        return out


def parse(rows: Rows, settings: Settings) -> Table:
    try:
        return read_table(rows.rows, phone_column=settings.customers_phone_column,
                          name_column=settings.customers_name_column,
                          default_country_code=normalise_country_code(
                              settings.default_country_code))
    except MissingColumn as exc:
        raise SourceError(f"{rows.source}: {exc} (CRM_CUSTOMERS_PHONE_COLUMN)") from None


def plan(table: Table, source: str, current: dict[str, tuple[str | None, str, int]],
         actor: str = "system") -> list[NewEvent]:
    """``customer.updated`` for each customer that is new or differs in name or
    attributes from what the sheet said last (``customers.current_rows``): an agent's
    edit since is not a difference (the projection keeps it unless the sheet changed
    that field)."""
    events = []
    for customer in table.customers:
        attributes = attributes_text(customer.attributes)
        known = current.get(customer.phone)
        if known is not None and known[0] == customer.name and known[1] == attributes:
            continue
        after = known[2] if known is not None else 0
        event = CustomerUpdated(phone=customer.phone, name=customer.name,
                                attributes=customer.attributes, source=source)
        events.append(event.new(customer_stream(customer.phone), actor=actor,
                                idempotency_key=f"customer:{customer.phone}:{after}"))
    return events


def report_for(rows: Rows, table: Table, events: list[NewEvent]) -> Report:
    return Report(source=rows.source, rows=len(table.customers) + len(table.bad),
                  unchanged=len(table.customers) - len(events), appended=len(events),
                  bad=list(table.bad))


def sync_store(store: EventStore, rows: Rows, settings: Settings,
               actor: str = "system") -> Report:
    """Plan against ``store.conn`` and append through the synchronous ``EventStore``."""
    table = parse(rows, settings)
    events = plan(table, rows.source, current_rows(store.conn), actor)
    for start in range(0, len(events), BATCH):
        store.record(events[start:start + BATCH])
    return report_for(rows, table, events)
