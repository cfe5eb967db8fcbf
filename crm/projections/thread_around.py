"""The thread around one message: where a search result opens it.

The page holds the message with older items before it and newer after it; the older
ones go on with the thread's usual ``before`` cursor, the newer with ``after`` (its
mirror: the newest item's ``ts:position``, pages oldest first).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.projections import identities, messages, notes

_NOTE_COLUMNS = notes.NOTE_COLUMNS


def newer(db: sqlite3.Connection, phone: str, after: str, limit: int = 50
          ) -> tuple[list[dict[str, Any]], str | None]:
    """The thread's items after the cursor ``after``, oldest first, and the cursor of
    the page after this one (None at the newest)."""
    phone = identities.resolve(db, phone)
    ts, position = (int(part) for part in after.split(":", 1))
    where = "phone = ? AND (ts, position) > (?, ?)"
    params = (phone, ts, position)
    rows = db.execute(
        f"SELECT * FROM (SELECT {messages.COLUMNS} FROM messages WHERE {where} "
        f"ORDER BY ts, position LIMIT ?) "
        f"UNION ALL SELECT * FROM (SELECT {_NOTE_COLUMNS} FROM notes WHERE {where} "
        f"ORDER BY ts, position LIMIT ?) ORDER BY 16, 17 LIMIT ?",
        (*params, limit + 1, *params, limit + 1, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [notes.thread_item(row) for row in rows]
    return items, f"{rows[-1][15]}:{rows[-1][16]}" if more else None


def around(db: sqlite3.Connection, phone: str, item_id: str, limit: int = 50
           ) -> tuple[list[dict[str, Any]], str | None, str | None] | None:
    """``(items, older cursor, newer cursor)`` centred on the message or note
    ``item_id`` of this chat; None when the chat has no such item."""
    phone = identities.resolve(db, phone)
    found = db.execute(
        "SELECT ts, position FROM messages WHERE id = ? AND phone = ? "
        "UNION ALL SELECT ts, position FROM notes WHERE id = ? AND phone = ?",
        (item_id, phone, item_id, phone)).fetchone()
    if found is None:
        return None
    ts, position = found
    older, older_cursor = notes.thread(db, phone, limit // 2 + 1, f"{ts}:{position + 1}")
    later, newer_cursor = newer(db, phone, f"{ts}:{position}", max(1, limit - len(older)))
    return older + later, older_cursor, newer_cursor
