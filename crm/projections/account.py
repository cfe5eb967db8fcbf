"""The ``account`` projection: what Meta tells us about customers' preferences and about
the account itself, from ``webhook.change`` events (the parser keeps every field).

* ``customer_preferences``: the latest ``user_preferences`` update per customer and
  category (``marketing_messages``: ``stop`` / ``resume`` / ``signup``), shown in the
  customer panel. Sending marketing to a customer who stopped it fails (131050).
* ``channel_updates``: the latest ``account_update``, ``business_capability_update``
  and ``phone_number_quality_update`` per kind (messaging limits, restrictions,
  violations, pricing tiers), shown to admins (``/api/channel``).

Meta's own ``timestamp`` orders updates: an older one delivered late never replaces a
newer one, so the rows are the same whatever order the webhooks came in.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from crm.events import RecordedEvent, epoch_seconds
from crm.events.model import format_time
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_preferences (
    phone     TEXT NOT NULL,
    category  TEXT NOT NULL,
    value     TEXT NOT NULL,
    detail    TEXT,
    at        TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (phone, category)
);
CREATE TABLE IF NOT EXISTS channel_updates (
    kind      TEXT PRIMARY KEY,
    field     TEXT NOT NULL,
    value     TEXT NOT NULL,
    at        TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    position  INTEGER NOT NULL
);
"""

#: The webhook fields about the account's health and limits.
CHANNEL_FIELDS = ("account_update", "business_capability_update",
                  "phone_number_quality_update")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _moment(value: Any, fallback: str) -> tuple[str, int]:
    """Meta's epoch seconds (an integer here, sometimes a string) as ISO text and ms."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = float(value.strip())
    if seconds is not None:
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
        if moment is not None:
            return format_time(moment), int(seconds * 1000)
    return fallback, int(epoch_seconds(fallback) * 1000)


def _contact_key(value: dict[str, Any]) -> str | None:
    contacts = value.get("contacts")
    dicts = [c for c in contacts if isinstance(c, dict)] if isinstance(contacts, list) else []
    if len(dicts) != 1:
        return None
    return _str(dicts[0].get("wa_id")) or _str(dicts[0].get("user_id"))


def on_change(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    field, value = data.get("field"), data.get("value")
    if not isinstance(value, dict):
        return
    if field == "user_preferences":
        _preferences(event, value, tx)
    elif field in CHANNEL_FIELDS:
        kind = f"{field}:{_str(value.get('event')) or ''}"
        at, ts = _moment(value.get("timestamp"), event.occurred_at)
        tx.execute("INSERT INTO channel_updates (kind, field, value, at, ts, position) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind) DO UPDATE SET "
                   "field = excluded.field, value = excluded.value, at = excluded.at, "
                   "ts = excluded.ts, position = excluded.position "
                   "WHERE excluded.ts >= channel_updates.ts",
                   (kind, field, json.dumps(value, ensure_ascii=False, sort_keys=True), at, ts,
                    event.position))


def _preferences(event: RecordedEvent, value: dict[str, Any], tx: Transaction) -> None:
    items = value.get("user_preferences")
    if not isinstance(items, list):
        return
    fallback = _contact_key(value)
    for item in items:
        if not isinstance(item, dict):
            continue
        phone = _str(item.get("wa_id")) or _str(item.get("user_id")) or fallback
        choice = _str(item.get("value"))
        if phone is None or choice is None:
            continue
        at, ts = _moment(item.get("timestamp"), event.occurred_at)
        tx.execute("INSERT INTO customer_preferences (phone, category, value, detail, at, ts, "
                   "position) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(phone, category) DO "
                   "UPDATE SET value = excluded.value, detail = excluded.detail, "
                   "at = excluded.at, ts = excluded.ts, position = excluded.position "
                   "WHERE excluded.ts >= customer_preferences.ts",
                   (phone, _str(item.get("category")) or "marketing_messages", choice,
                    _str(item.get("detail")), at, ts, event.position))


PROJECTION = Projection(
    name="account", version=1, schema=SCHEMA,
    tables=("customer_preferences", "channel_updates"),
    handlers={"webhook.change": on_change},
)

# -- reading --------------------------------------------------------------------------


def preferences(db: sqlite3.Connection, phone: str) -> list[dict[str, Any]]:
    """The customer's latest choice per category, e.g. ``marketing_messages: stop``."""
    rows = db.execute("SELECT category, value, detail, at FROM customer_preferences "
                      "WHERE phone = ? ORDER BY category", (phone,)).fetchall()
    return [{"category": c, "value": v, "detail": d, "at": at} for c, v, d, at in rows]


def channel_updates(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """The latest account-level update of each kind, newest first."""
    rows = db.execute("SELECT kind, field, value, at FROM channel_updates "
                      "ORDER BY ts DESC, position DESC").fetchall()
    return [{"kind": kind, "field": field, "event": kind.partition(":")[2] or None,
             "value": json.loads(value), "at": at} for kind, field, value, at in rows]
