"""The ``customers`` projection: the customer list as last synced, one row per phone.

The chat list shows the sheet's name first; the ``chats`` projection copies it into
``chats.customer_name`` (see ``chats.on_customer``), reading this table when a chat
appears after its customer. This projection runs before ``chats`` for that reason.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    phone       TEXT PRIMARY KEY,
    name        TEXT,
    attributes  TEXT NOT NULL DEFAULT '{}',
    source      TEXT,
    updated_at  TEXT NOT NULL,
    position    INTEGER NOT NULL
);
"""


def attributes_text(attributes: dict[str, Any] | None) -> str:
    """The stored (and compared) form of a row's other columns."""
    return json.dumps(attributes or {}, ensure_ascii=False, sort_keys=True)


def on_updated(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    tx.execute(
        "INSERT INTO customers (phone, name, attributes, source, updated_at, position) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(phone) DO UPDATE SET name = excluded.name, "
        "attributes = excluded.attributes, source = excluded.source, "
        "updated_at = excluded.updated_at, position = excluded.position",
        (data["phone"], data.get("name") or None, attributes_text(data.get("attributes")),
         data.get("source"), event.occurred_at, event.position),
    )


PROJECTION = Projection(
    name="customers", version=1,
    schema=SCHEMA,
    tables=("customers",),
    handlers={"customer.updated": on_updated},
    replay_group=1,  # chats reads it
)

# -- reading --------------------------------------------------------------------------

_COLUMNS = "phone, name, attributes, source, updated_at, position"


def _customer(row: tuple) -> dict[str, Any]:
    phone, name, attributes, source, updated_at, _position = row
    return {"phone": phone, "name": name, "attributes": json.loads(attributes),
            "source": source, "updated_at": updated_at}


def get_customer(db: sqlite3.Connection, phone: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM customers WHERE phone = ?", (phone,)).fetchone()
    return _customer(row) if row else None


def current_rows(db: sqlite3.Connection) -> dict[str, tuple[str | None, str, int]]:
    """``phone -> (name, attributes text, position)`` for comparing a new sync."""
    rows = db.execute("SELECT phone, name, attributes, position FROM customers").fetchall()
    return {phone: (name, attributes, position) for phone, name, attributes, position in rows}


def count_customers(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM customers").fetchone()[0]
