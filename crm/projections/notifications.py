"""The ``notifications`` projection: what each agent is told about.

An agent is notified when a chat is assigned to them (by someone else), when a note
mentions them, and when a customer writes in a chat assigned to them. A customer
writing in an unassigned chat concerns every agent: that is one row for ``*``, not one
per agent, and each agent's reads of it are kept apart. Reading is an event too
(``notifications.read``): ids, or everything up to a position.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.identities import chat_of, merged_at
from crm.projections.transaction import Transaction
from crm.projections.workflow import NOT_WAKING

EVERYONE = "*"

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    agent    TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    phone    TEXT NOT NULL,
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    text     TEXT,
    PRIMARY KEY (agent, position)
);
CREATE TABLE IF NOT EXISTS notification_reads (
    agent    TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (agent, position)
);
CREATE TABLE IF NOT EXISTS notification_marks (
    agent TEXT PRIMARY KEY,
    upto  INTEGER NOT NULL
);
"""

_ADD = ("INSERT OR IGNORE INTO notifications (agent, position, kind, phone, actor, at, text) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)")


def _snippet(text: str | None) -> str | None:
    return text[:140] if text else text


def on_received(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    if data.get("message_type", "unknown") in NOT_WAKING or data.get("imported"):
        return
    phone = chat_of(tx, data["phone"])
    # The workflow projection ran first: this is the assignee as of this message.
    assignee = tx.fetchval("SELECT assignee FROM chat_state WHERE phone = ?", (phone,))
    tx.execute(_ADD, (assignee or EVERYONE, event.position, "message", phone,
                      event.actor, event.occurred_at,
                      _snippet(data.get("text") or data.get("caption"))))


def on_assigned(event: RecordedEvent, tx: Transaction) -> None:
    agent = event.data.get("agent")
    if agent is None or event.actor == f"agent:{agent}":
        return
    # A round-robin pick that lost to a manual assignment changed nothing.
    phone = chat_of(tx, event.data["phone"])
    if tx.fetchval("SELECT assignee FROM chat_state WHERE phone = ?", (phone,)) != agent:
        return
    tx.execute(_ADD, (agent, event.position, "assigned", phone, event.actor,
                      event.occurred_at, None))


def on_note(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    phone = chat_of(tx, data["phone"])
    tx.executemany(_ADD, [
        (name, event.position, "mention", phone, event.actor, event.occurred_at,
         _snippet(data["text"]))
        for name in data.get("mentions", []) if name != data["agent"]])


def on_read(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    agent = data["agent"]
    tx.executemany("INSERT OR IGNORE INTO notification_reads (agent, position) VALUES (?, ?)",
                   [(agent, position) for position in data.get("ids", [])])
    if data.get("upto") is not None:
        tx.execute("INSERT INTO notification_marks (agent, upto) VALUES (?, ?) "
                   "ON CONFLICT(agent) DO UPDATE SET upto = max(upto, excluded.upto)",
                   (agent, data["upto"]))


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    for absorbed, into in merged_at(tx, event.position):
        tx.execute("UPDATE notifications SET phone = ? WHERE phone = ?", (into, absorbed))


PROJECTION = Projection(
    name="notifications", version=1,
    schema=SCHEMA,
    tables=("notifications", "notification_reads", "notification_marks"),
    replay_group=1,  # reads identities and chat_state
    handlers={
        "customer.linked": on_linked,
        "message.received": on_received,
        "chat.assigned": on_assigned,
        "note.added": on_note,
        "notifications.read": on_read,
    },
)

# -- reading --------------------------------------------------------------------------

_READ = ("(n.position <= coalesce((SELECT upto FROM notification_marks WHERE agent = :me), 0) "
         "OR EXISTS (SELECT 1 FROM notification_reads r WHERE r.agent = :me "
         "AND r.position = n.position))")


def for_agent(db: sqlite3.Connection, agent: str, limit: int = 50,
              unread_only: bool = False) -> dict[str, Any]:
    """An agent's newest notifications and how many are unread."""
    where = "n.agent IN (:me, '*')"
    rows = db.execute(
        f"SELECT n.position, n.kind, n.phone, n.actor, n.at, n.text, {_READ} "
        f"FROM notifications n WHERE {where}"
        f"{' AND NOT ' + _READ if unread_only else ''} "
        "ORDER BY n.position DESC LIMIT :limit", {"me": agent, "limit": limit}).fetchall()
    unread = db.execute(f"SELECT count(*) FROM notifications n WHERE {where} AND NOT {_READ}",
                        {"me": agent}).fetchone()[0]
    return {
        "notifications": [
            {"id": r[0], "kind": r[1], "phone": r[2], "actor": r[3], "at": r[4],
             "text": r[5], "read": bool(r[6])} for r in rows],
        "unread": unread,
    }
