"""The ``channel_health`` projection: can the WhatsApp channel send right now?

One row: the latest ``channel.health`` event of the sender, or an account-level error
Meta reported in a webhook. Every worker process reads the same row, so ``/healthz``
answers the same whichever worker serves it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction
from crm.whatsapp.codes import is_account_level

SCHEMA = """
CREATE TABLE IF NOT EXISTS channel_health (
    channel  TEXT PRIMARY KEY,
    ok       INTEGER NOT NULL,
    code     INTEGER,
    title    TEXT,
    details  TEXT,
    since    TEXT NOT NULL,
    position INTEGER NOT NULL
);
"""


def _set(tx: Transaction, event: RecordedEvent, ok: bool, code: object,
         title: object, details: object) -> None:
    tx.execute(
        "INSERT OR REPLACE INTO channel_health (channel, ok, code, title, details, since, "
        "position) VALUES ('whatsapp', ?, ?, ?, ?, ?, ?)",
        (1 if ok else 0, code if isinstance(code, int) else None,
         title if isinstance(title, str) else None,
         details if isinstance(details, str) else None, event.occurred_at, event.position),
    )


def on_health(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    _set(tx, event, bool(data.get("ok")), data.get("code"), data.get("title"),
         data.get("details"))


def on_meta_error(event: RecordedEvent, tx: Transaction) -> None:
    """An account-level error Meta reported in a webhook (``value.errors`` or a failed
    status) raises the flag as a refused request does; the next successful send
    lowers it."""
    error = event.data.get("error")
    if event.type == "message.status" and event.data.get("status") != "failed":
        return
    if isinstance(error, dict) and is_account_level(error.get("code")):
        _set(tx, event, False, error.get("code"), error.get("title") or error.get("message"),
             error.get("details"))


PROJECTION = Projection(
    name="channel", version=1, schema=SCHEMA, tables=("channel_health",),
    handlers={"channel.health": on_health, "webhook.error": on_meta_error,
              "message.status": on_meta_error},
)


def health(db: sqlite3.Connection) -> dict[str, Any]:
    """``{"ok", "code", "title", "details", "since"}``; ok with no code until a problem."""
    row = db.execute(
        "SELECT ok, code, title, details, since FROM channel_health WHERE channel = 'whatsapp'"
    ).fetchone()
    if row is None:
        return {"ok": True, "code": None, "title": None, "details": None, "since": None}
    ok, code, title, details, since = row
    return {"ok": bool(ok), "code": code, "title": title, "details": details, "since": since}
