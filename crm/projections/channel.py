"""The ``channel_health`` projection: can the WhatsApp channel send right now?

One row, from the latest ``channel.health`` event. Every worker process reads the
same row, so ``/healthz`` answers the same whichever worker serves it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection

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


def on_health(event: RecordedEvent, db: sqlite3.Connection) -> None:
    data = event.data
    code = data.get("code")
    db.execute(
        "INSERT OR REPLACE INTO channel_health (channel, ok, code, title, details, since, "
        "position) VALUES ('whatsapp', ?, ?, ?, ?, ?, ?)",
        (1 if data.get("ok") else 0, code if isinstance(code, int) else None,
         data.get("title"), data.get("details"), event.occurred_at, event.position),
    )


PROJECTION = Projection(
    name="channel", schema=SCHEMA, tables=("channel_health",),
    handlers={"channel.health": on_health},
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
