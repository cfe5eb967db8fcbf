"""The ``notes`` projection, and the thread as agents read it: messages and notes
interleaved in time order.

Notes are kept apart from ``messages`` (nothing about them goes to WhatsApp, has a
delivery status or counts as unread), and read back in the thread's shape
(``direction``/``type`` ``note``) with the same cursor, so a page of the thread is
one query over both.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.events import RecordedEvent, epoch_seconds
from crm.projections import identities, messages
from crm.projections.base import Projection
from crm.projections.identities import chat_of, merged_at
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id        TEXT PRIMARY KEY,
    phone     TEXT NOT NULL,
    text      TEXT NOT NULL,
    agent     TEXT NOT NULL,
    extra     TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    position  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_thread ON notes(phone, ts, position);
"""


def on_note(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    extra = json.dumps({"mentions": data.get("mentions", [])}, sort_keys=True)
    tx.execute(
        "INSERT OR IGNORE INTO notes (id, phone, text, agent, extra, timestamp, ts, position) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (data["note_id"], chat_of(tx, data["phone"]), data["text"], data["agent"], extra,
         event.occurred_at, int(epoch_seconds(event.occurred_at) * 1000), event.position))


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    """Two chats became one: the survivor's thread has both chats' notes."""
    for absorbed, into in merged_at(tx, event.position):
        tx.execute("UPDATE notes SET phone = ? WHERE phone = ?", (into, absorbed))


PROJECTION = Projection(
    name="notes", version=1, schema=SCHEMA, tables=("notes",),
    replay_group=1,  # reads identities
    handlers={"customer.linked": on_linked, "note.added": on_note},
)

# -- reading --------------------------------------------------------------------------

#: A note in the columns of ``messages.COLUMNS``.
_NOTE_COLUMNS = ("id, NULL, phone, 'note', 'note', text, NULL, NULL, timestamp, NULL, NULL, "
                 "NULL, '[]', agent, extra, ts, position")


def _item(row: tuple) -> dict[str, Any]:
    item = messages.message_from_row(row)
    item["position"] = row[16]
    return item


def thread(db: sqlite3.Connection, phone: str, limit: int = 50, before: str | None = None
           ) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the thread with notes, oldest first within the page, each item with its
    ``position`` (what the stale-reply guard's ``seen`` names). ``phone`` may be any of
    the customer's identifiers."""
    phone = identities.resolve(db, phone)
    where = "phone = ?"
    params: list[Any] = [phone]
    if before:
        ts, position = (int(part) for part in before.split(":", 1))
        where += " AND (ts, position) < (?, ?)"
        params += [ts, position]
    rows = db.execute(
        f"SELECT * FROM (SELECT {messages.COLUMNS} FROM messages WHERE {where} "
        f"ORDER BY ts DESC, position DESC LIMIT ?) "
        f"UNION ALL SELECT * FROM (SELECT {_NOTE_COLUMNS} FROM notes WHERE {where} "
        f"ORDER BY ts DESC, position DESC LIMIT ?) "
        "ORDER BY 16 DESC, 17 DESC LIMIT ?",
        (*params, limit + 1, *params, limit + 1, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1][15]}:{rows[-1][16]}" if more else None
    return [_item(r) for r in reversed(rows)], cursor


def changes_since(db: sqlite3.Connection, phone: str, seen: int
                  ) -> list[dict[str, Any]]:
    """Messages and notes of the thread recorded after position ``seen``, oldest first."""
    phone = identities.resolve(db, phone)
    rows = db.execute(
        f"SELECT {messages.COLUMNS} FROM messages WHERE phone = ? AND position > ? "
        f"UNION ALL SELECT {_NOTE_COLUMNS} FROM notes WHERE phone = ? AND position > ? "
        "ORDER BY 17 LIMIT 200", (phone, seen, phone, seen)).fetchall()
    return [_item(r) for r in rows]


def latest_position(db: sqlite3.Connection, phone: str) -> int:
    """The position of the thread's newest message or note (0 for none)."""
    phone = identities.resolve(db, phone)
    row = db.execute(
        "SELECT max(p) FROM (SELECT max(position) AS p FROM messages WHERE phone = ? "
        "UNION ALL SELECT max(position) FROM notes WHERE phone = ?)", (phone, phone)).fetchone()
    return row[0] or 0


def get_note(db: sqlite3.Connection, note_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id = ?", (note_id,)).fetchone()
    return _item(row) if row else None


def item(db: sqlite3.Connection, item_id: str) -> dict[str, Any] | None:
    """A message or a note by id, as ``thread`` lists it (the stream's frames carry it)."""
    row = db.execute(f"SELECT {messages.COLUMNS} FROM messages WHERE id = ?",
                     (item_id,)).fetchone()
    if row is None:
        row = db.execute(f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id = ?",
                         (item_id,)).fetchone()
    return _item(row) if row else None


#: For readers of other slices of the thread (``thread_around``).
NOTE_COLUMNS = _NOTE_COLUMNS
thread_item = _item
