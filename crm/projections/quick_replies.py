"""The ``quick_replies`` projection: the team's canned answers, by shortcut."""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS quick_replies (
    id         TEXT PRIMARY KEY,
    shortcut   TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
"""


def on_saved(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    tx.execute(
        "INSERT INTO quick_replies (id, shortcut, text, created_at, created_by, updated_at, "
        "updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "shortcut = excluded.shortcut, text = excluded.text, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        (data["reply_id"], data["shortcut"], data["text"], event.occurred_at, event.actor,
         event.occurred_at, event.actor))


def on_deleted(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("DELETE FROM quick_replies WHERE id = ?", (event.data["reply_id"],))


PROJECTION = Projection(
    name="quick_replies", version=1,
    schema=SCHEMA,
    tables=("quick_replies",),
    handlers={"quick_reply.saved": on_saved, "quick_reply.deleted": on_deleted},
)

_COLUMNS = "id, shortcut, text, created_at, created_by, updated_at, updated_by"


def _reply(row: tuple) -> dict[str, Any]:
    return dict(zip(("id", "shortcut", "text", "created_at", "created_by", "updated_at",
                     "updated_by"), row, strict=True))


def list_replies(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM quick_replies ORDER BY lower(shortcut), id"
                      ).fetchall()
    return [_reply(r) for r in rows]


def get_reply(db: sqlite3.Connection, reply_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM quick_replies WHERE id = ?", (reply_id,)
                     ).fetchone()
    return _reply(row) if row else None


def by_shortcut(db: sqlite3.Connection, shortcut: str) -> str | None:
    row = db.execute("SELECT id FROM quick_replies WHERE lower(shortcut) = lower(?)",
                     (shortcut,)).fetchone()
    return row[0] if row else None
