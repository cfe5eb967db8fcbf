"""The ``optouts`` projection: who does not want marketing, and why.

Four sources, folded in log order (the latest wins):

* ``customer.opted_out`` / ``customer.opted_in``: the customer wrote a keyword of
  ``CRM_OPT_OUT_KEYWORDS`` (or ``START``), recorded by the webhook beside the message
  (the setting may change later; the event keeps what it was then), or an admin.
* a ``user_preferences`` webhook (``webhook.change``): ``marketing_messages`` ``stop``
  opts out, ``resume`` opts in again.
* Meta's 131050 ("the user has stopped marketing messages") on a ``message.failed``
  or a failed ``message.status``: opted out.

Each is a fact already in the log, so the fold is deterministic and replay reaches the
same rows. Marketing campaigns skip opted-out customers (``crm.campaigns``); the
contacts list and the customer panel read ``opted_out``/``status``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

#: Meta: the user has stopped marketing messages from this business.
STOPPED_MARKETING = 131050

SCHEMA = """
CREATE TABLE IF NOT EXISTS opt_outs (
    phone      TEXT PRIMARY KEY,
    opted_out  INTEGER NOT NULL,
    source     TEXT NOT NULL,
    detail     TEXT,
    at         TEXT NOT NULL,
    position   INTEGER NOT NULL
);
"""


def _set(tx: Transaction, event: RecordedEvent, phone: str, out: bool, source: str,
         detail: str | None) -> None:
    tx.execute("INSERT INTO opt_outs (phone, opted_out, source, detail, at, position) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(phone) DO UPDATE SET "
               "opted_out = excluded.opted_out, source = excluded.source, "
               "detail = excluded.detail, at = excluded.at, position = excluded.position",
               (phone, int(out), source, detail, event.occurred_at, event.position))


def on_opted_out(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    _set(tx, event, data["phone"], True, data["source"],
         data.get("keyword") or data.get("agent"))


def on_opted_in(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    _set(tx, event, data["phone"], False, data["source"],
         data.get("keyword") or data.get("agent"))


def on_change(event: RecordedEvent, tx: Transaction) -> None:
    value = event.data.get("value")
    if event.data.get("field") != "user_preferences" or not isinstance(value, dict):
        return
    items = value.get("user_preferences")
    contacts = value.get("contacts")
    fallback = None
    if isinstance(contacts, list) and len(contacts) == 1 and isinstance(contacts[0], dict):
        fallback = contacts[0].get("wa_id") or contacts[0].get("user_id")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        phone = item.get("wa_id") or item.get("user_id") or fallback
        category = item.get("category") or "marketing_messages"
        choice = str(item.get("value") or "").lower()
        if not isinstance(phone, str) or category != "marketing_messages":
            continue
        if choice == "stop":
            _set(tx, event, phone, True, "user_preferences", item.get("detail"))
        elif choice in ("resume", "signup"):
            _set(tx, event, phone, False, "user_preferences", item.get("detail"))


def _code(error: Any) -> Any:
    return error.get("code") if isinstance(error, dict) else None


def on_failure(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    if event.type == "message.status" and data.get("status") != "failed":
        return
    if _code(data.get("error")) == STOPPED_MARKETING:
        _set(tx, event, data["phone"], True, "meta", str(STOPPED_MARKETING))


PROJECTION = Projection(
    name="optouts", version=1, schema=SCHEMA, tables=("opt_outs",),
    handlers={"customer.opted_out": on_opted_out, "customer.opted_in": on_opted_in,
              "webhook.change": on_change, "message.failed": on_failure,
              "message.status": on_failure},
)

# -- reading --------------------------------------------------------------------------


def opted_out(conn: sqlite3.Connection, phone: str) -> bool:
    """Whether the customer has opted out of marketing (the contacts list asks)."""
    row = conn.execute("SELECT opted_out FROM opt_outs WHERE phone = ?", (phone,)).fetchone()
    return bool(row and row[0])


def status(conn: sqlite3.Connection, phone: str) -> dict[str, Any]:
    """``{"opted_out", "source", "detail", "at"}`` for the customer panel."""
    row = conn.execute("SELECT opted_out, source, detail, at FROM opt_outs WHERE phone = ?",
                       (phone,)).fetchone()
    if row is None:
        return {"opted_out": False, "source": None, "detail": None, "at": None}
    return {"opted_out": bool(row[0]), "source": row[1], "detail": row[2], "at": row[3]}


def opted_out_among(conn: sqlite3.Connection, phones: list[str]) -> set[str]:
    """Which of ``phones`` opted out (a campaign's batch at a time)."""
    found: set[str] = set()
    for start in range(0, len(phones), 500):
        chunk = phones[start:start + 500]
        found.update(p for (p,) in conn.execute(
            f"SELECT phone FROM opt_outs WHERE opted_out = 1 AND phone IN "
            f"({','.join('?' * len(chunk))})", chunk))
    return found
