"""The ``labels`` projection: the team's labels and which chats carry them.

Chats hold a label by its id, so a rename shows everywhere at once. Names are unique
without regard to case: the API refuses a taken name, and ``label.created`` carries an
idempotency key of the folded name, so two admins creating "VIP" and "vip" at once
record one label.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.identities import chat_of, merged_at
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    color      TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chat_labels (
    phone    TEXT NOT NULL,
    label_id TEXT NOT NULL,
    PRIMARY KEY (phone, label_id)
);
CREATE INDEX IF NOT EXISTS chat_labels_by_label ON chat_labels(label_id, phone);
"""


def name_key(name: str) -> str:
    return name.strip().casefold()


def on_created(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    tx.execute("INSERT OR IGNORE INTO labels (id, name, name_key, color, created_at, "
               "created_by) VALUES (?, ?, ?, ?, ?, ?)",
               (data["label_id"], data["name"], name_key(data["name"]), data.get("color"),
                event.occurred_at, event.actor))


def on_updated(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    if data.get("name"):
        # OR IGNORE: a rename to a name another label took meanwhile does not apply.
        tx.execute("UPDATE OR IGNORE labels SET name = ?, name_key = ? WHERE id = ?",
                   (data["name"], name_key(data["name"]), data["label_id"]))
    if data.get("color"):
        tx.execute("UPDATE labels SET color = ? WHERE id = ?",
                   (data["color"], data["label_id"]))


def on_chat_labels(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    phone = chat_of(tx, data["phone"])
    tx.executemany("DELETE FROM chat_labels WHERE phone = ? AND label_id = ?",
                   [(phone, label) for label in data.get("remove", [])])
    tx.executemany("INSERT OR IGNORE INTO chat_labels (phone, label_id) "
                   "SELECT ?, id FROM labels WHERE id = ?",
                   [(phone, label) for label in data.get("add", [])])


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    """Two chats became one: the survivor has both chats' labels."""
    for absorbed, into in merged_at(tx, event.position):
        tx.execute("INSERT OR IGNORE INTO chat_labels (phone, label_id) "
                   "SELECT ?, label_id FROM chat_labels WHERE phone = ?", (into, absorbed))
        tx.execute("DELETE FROM chat_labels WHERE phone = ?", (absorbed,))


PROJECTION = Projection(
    name="labels", version=1,
    schema=SCHEMA,
    tables=("labels", "chat_labels"),
    replay_group=1,  # reads identities
    handlers={
        "customer.linked": on_linked,
        "label.created": on_created,
        "label.updated": on_updated,
        "chat.labels_changed": on_chat_labels,
    },
)

# -- reading --------------------------------------------------------------------------


def _label(row: tuple) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "color": row[2], "created_at": row[3],
            "created_by": row[4]}


def list_labels(db: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = db.execute("SELECT id, name, color, created_at, created_by FROM labels "
                      "ORDER BY name_key").fetchall()
    return [_label(r) for r in rows]


def get_label(db: sqlite3.Connection, label_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT id, name, color, created_at, created_by FROM labels "
                     "WHERE id = ?", (label_id,)).fetchone()
    return _label(row) if row else None


def by_name(db: sqlite3.Connection, names: list[str]) -> dict[str, str]:
    """Folded name -> label id, for the names that exist."""
    keys = [name_key(n) for n in names]
    if not keys:
        return {}
    rows = db.execute(f"SELECT name_key, id FROM labels WHERE name_key IN "
                      f"({','.join('?' * len(keys))})", keys).fetchall()
    return dict(rows)


def chat_labels(db: sqlite3.Connection, phones: list[str]) -> dict[str, list[str]]:
    """Each chat's label names, in name order."""
    found: dict[str, list[str]] = {phone: [] for phone in phones}
    for start in range(0, len(phones), 500):
        part = phones[start:start + 500]
        for phone, name in db.execute(
                "SELECT cl.phone, l.name FROM chat_labels cl JOIN labels l ON l.id = cl.label_id "
                f"WHERE cl.phone IN ({','.join('?' * len(part))}) ORDER BY l.name_key",
                part).fetchall():
            found[phone].append(name)
    return found
