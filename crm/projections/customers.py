"""The ``customers`` projection: the customer list as last synced, and agents' edits.

The chat list shows the sheet's name first; the ``chats`` projection copies it into
``chats.customer_name`` (see ``chats.on_customer``), reading this table when a chat
appears after its customer. This projection runs before ``chats`` for that reason.

Two writers, one rule. A row of the sheet (or CSV) is the whole row; an agent's edit
(``fields`` set) changes only the fields it names, and remembers them in ``edited``.
A later sheet row replaces an edited field only when the sheet's own value of that
field changed since its previous row (``sheet_name``, ``sheet_attributes``): a sync
that did not touch the field keeps the agent's value, one that did wins. The sync
compares the sheet with the sheet's last row, not with the edited one, so an edit
never makes every later sync record the row again.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.events.customers import ATTRIBUTE_PREFIX
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    phone             TEXT PRIMARY KEY,
    name              TEXT,
    attributes        TEXT NOT NULL DEFAULT '{}',
    source            TEXT,
    updated_at        TEXT NOT NULL,
    position          INTEGER NOT NULL,
    sheet_name        TEXT,
    sheet_attributes  TEXT,
    edited            TEXT NOT NULL DEFAULT '[]',
    edited_by         TEXT,
    edited_at         TEXT
);
"""

NAME = "name"


def attributes_text(attributes: dict[str, Any] | None) -> str:
    """The stored (and compared) form of a row's other columns."""
    return json.dumps(attributes or {}, ensure_ascii=False, sort_keys=True)


def _clean(attributes: Any) -> dict[str, str]:
    if not isinstance(attributes, dict):
        return {}
    return {str(k): str(v) for k, v in attributes.items() if v is not None and v != ""}


_ROW = ("SELECT name, attributes, sheet_name, sheet_attributes, edited, source, edited_by, "
        "edited_at FROM customers WHERE phone = ?")


def on_updated(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    found = tx.fetchone(_ROW, (data["phone"],))
    if found is None:
        found = (None, "{}", None, None, "[]", None, None, None)
    name, attributes_json, sheet_name, sheet_json, edited_json = found[:5]
    source, edited_by, edited_at = found[5:]
    attributes = json.loads(attributes_json)
    edited = set(json.loads(edited_json))
    fields = data.get("fields")
    given = _clean(data.get("attributes"))
    if fields is None:
        name, attributes, edited = _sheet_row(data, name, attributes, edited, sheet_name,
                                             sheet_json)
        sheet_name, sheet_json = data.get("name") or None, attributes_text(given)
        source = data.get("source")
    else:
        for field in fields:
            if field == NAME:
                name = data.get("name") or None
            elif field.startswith(ATTRIBUTE_PREFIX):
                key = field[len(ATTRIBUTE_PREFIX):]
                if key in given:
                    attributes[key] = given[key]
                else:
                    attributes.pop(key, None)
            else:
                continue
            edited.add(field)
        edited_by, edited_at = event.actor, event.occurred_at
        source = source or data.get("source")
    tx.execute(
        "INSERT OR REPLACE INTO customers (phone, name, attributes, source, updated_at, "
        "position, sheet_name, sheet_attributes, edited, edited_by, edited_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (data["phone"], name, attributes_text(attributes), source, event.occurred_at,
         event.position, sheet_name, sheet_json, json.dumps(sorted(edited)), edited_by,
         edited_at),
    )


def _sheet_row(data: dict[str, Any], name: str | None, attributes: dict[str, str],
               edited: set[str], sheet_name: str | None, sheet_json: str | None
               ) -> tuple[str | None, dict[str, str], set[str]]:
    """The row after a sheet row: the sheet's values, except edited fields whose sheet
    value is what the sheet said before (the agent's edit is newer than it)."""
    before = json.loads(sheet_json) if sheet_json is not None else {}
    now = _clean(data.get("attributes"))
    new_name = data.get("name") or None
    if NAME not in edited or new_name != sheet_name:
        name = new_name
        edited.discard(NAME)
    result: dict[str, str] = {}
    for key in sorted(set(before) | set(now) | set(attributes)):
        field = ATTRIBUTE_PREFIX + key
        if field in edited and now.get(key) == before.get(key):
            if key in attributes:
                result[key] = attributes[key]
            continue
        edited.discard(field)
        if key in now:
            result[key] = now[key]
    return name, result, edited


PROJECTION = Projection(
    name="customers", version=2,
    schema=SCHEMA,
    tables=("customers",),
    handlers={"customer.updated": on_updated},
    replay_group=1,  # chats reads it
)

# -- reading --------------------------------------------------------------------------

_COLUMNS = "phone, name, attributes, source, updated_at"


def _customer(row: tuple) -> dict[str, Any]:
    """The shape of ``GET /api/customers/<phone>`` (the contact list says more)."""
    phone, name, attributes, source, updated_at = row
    return {"phone": phone, "name": name, "attributes": json.loads(attributes),
            "source": source, "updated_at": updated_at}


def get_customer(db: sqlite3.Connection, phone: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM customers WHERE phone = ?", (phone,)).fetchone()
    return _customer(row) if row else None


def current_rows(db: sqlite3.Connection) -> dict[str, tuple[str | None, str, int]]:
    """``phone -> (name, attributes text, position)`` of what the sheet (or CSV) last
    said, for comparing a new sync; customers only agents ever wrote are not in it."""
    rows = db.execute("SELECT phone, sheet_name, sheet_attributes, position FROM customers "
                      "WHERE sheet_attributes IS NOT NULL").fetchall()
    return {phone: (name, attributes, position) for phone, name, attributes, position in rows}


def count_customers(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM customers").fetchone()[0]
