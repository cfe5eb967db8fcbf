"""The ``workflow`` projection: each conversation's state and owner.

A table of its own beside ``chats`` (same key), so the team's state never has to be
folded into the hot chat row and ``chats`` keeps its version. Its rules, all functions
of the log:

* a chat starts ``open`` and unassigned;
* an inbound message (not a reaction, an edit, a revoke or a system notice) reopens a
  ``resolved`` or ``snoozed`` chat, keeping its assignee, and starts ``waiting_since``
  unless something already waits; an outbound message or resolving ends the wait;
* a snooze ends by an event (``chat.status_changed`` with ``woke``, from the snooze
  worker), never by a clock here;
* ``needs_assignment`` marks a chat the round-robin assigner should place: new from an
  inbound message, or reopened from ``resolved`` with nobody assigned;
* every event is filed under its chat's key, whichever of the customer's identifiers it
  names (``identities``), and when two chats turn out to be one person their states are
  combined: the surviving chat keeps its status unless the other one waits, its assignee
  unless it has none, and the older wait;
* messages imported from the Business app's history neither reopen nor wait.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent, epoch_seconds
from crm.projections.base import Projection
from crm.projections.chats import NOT_UNREAD
from crm.projections.identities import chat_of, merged_at
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_state (
    phone            TEXT PRIMARY KEY,
    status           TEXT NOT NULL DEFAULT 'open',
    snoozed_until    TEXT,
    snoozed_ts       REAL,
    snooze_pos       INTEGER,
    assignee         TEXT,
    waiting_since    TEXT,
    waiting_ts       REAL,
    needs_assignment INTEGER NOT NULL DEFAULT 0,
    opened_pos       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chat_state_by_owner ON chat_state(assignee, status);
CREATE INDEX IF NOT EXISTS chat_state_by_snooze ON chat_state(status, snoozed_ts);
CREATE INDEX IF NOT EXISTS chat_state_to_assign ON chat_state(needs_assignment, opened_pos);
CREATE TABLE IF NOT EXISTS assignment_rotation (
    one        INTEGER PRIMARY KEY CHECK (one = 1),
    last_agent TEXT
);
"""

#: Inbound messages that neither reopen a chat nor make it wait.
NOT_WAKING = NOT_UNREAD


def _ensure(tx: Transaction, phone: str) -> bool:
    """The chat's row; True when this event created it."""
    # RETURNING answers a row only when the insert happened: one statement, not two.
    return bool(tx.fetchall("INSERT OR IGNORE INTO chat_state (phone) VALUES (?) RETURNING 1",
                            (phone,)))


def on_received(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    phone = chat_of(tx, data["phone"])
    created = _ensure(tx, phone)
    if data.get("message_type", "unknown") in NOT_WAKING or data.get("imported"):
        return
    at, ts = event.occurred_at, epoch_seconds(event.occurred_at)
    if created:
        tx.execute("UPDATE chat_state SET needs_assignment = 1, opened_pos = ?, "
                   "waiting_since = ?, waiting_ts = ? WHERE phone = ?",
                   (event.position, at, ts, phone))
        return
    tx.execute(
        "UPDATE chat_state SET "
        "needs_assignment = CASE WHEN status = 'resolved' AND assignee IS NULL THEN 1 "
        "    ELSE needs_assignment END, "
        "opened_pos = CASE WHEN status = 'resolved' AND assignee IS NULL THEN ? "
        "    ELSE opened_pos END, "
        "status = CASE WHEN status IN ('resolved', 'snoozed') THEN 'open' ELSE status END, "
        "snoozed_until = CASE WHEN status = 'snoozed' THEN NULL ELSE snoozed_until END, "
        "snoozed_ts = CASE WHEN status = 'snoozed' THEN NULL ELSE snoozed_ts END, "
        "snooze_pos = CASE WHEN status = 'snoozed' THEN NULL ELSE snooze_pos END, "
        "waiting_since = CASE WHEN waiting_ts IS NULL OR ? < waiting_ts THEN ? "
        "    ELSE waiting_since END, "
        "waiting_ts = CASE WHEN waiting_ts IS NULL OR ? < waiting_ts THEN ? "
        "    ELSE waiting_ts END "
        "WHERE phone = ?",
        (event.position, ts, at, ts, ts, phone))


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    """An agent's reply (or a template to a new number, or a reply from the Business
    app) answers whatever waited."""
    if event.data.get("imported"):
        return
    phone = chat_of(tx, event.data["phone"])
    _ensure(tx, phone)
    tx.execute("UPDATE chat_state SET waiting_since = NULL, waiting_ts = NULL "
               "WHERE phone = ?", (phone,))


def on_status(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    phone, status = chat_of(tx, data["phone"]), data["status"]
    _ensure(tx, phone)
    woke = data.get("woke")
    if woke is not None:
        tx.execute("UPDATE chat_state SET status = 'open', snoozed_until = NULL, "
                   "snoozed_ts = NULL, snooze_pos = NULL "
                   "WHERE phone = ? AND status = 'snoozed' AND snooze_pos = ?", (phone, woke))
        return
    if status == "snoozed":
        until = data["until"]
        tx.execute("UPDATE chat_state SET status = 'snoozed', snoozed_until = ?, "
                   "snoozed_ts = ?, snooze_pos = ? WHERE phone = ?",
                   (until, epoch_seconds(until), event.position, phone))
        return
    tx.execute("UPDATE chat_state SET status = ?, snoozed_until = NULL, snoozed_ts = NULL, "
               "snooze_pos = NULL WHERE phone = ?", (status, phone))
    if status == "resolved":
        tx.execute("UPDATE chat_state SET waiting_since = NULL, waiting_ts = NULL, "
                   "needs_assignment = 0 WHERE phone = ?", (phone,))


def on_assigned(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    phone, agent = chat_of(tx, data["phone"]), data.get("agent")
    _ensure(tx, phone)
    # The assigner read the chat unassigned; someone may have taken it since.
    if data.get("by") == "round_robin" and tx.fetchval(
            "SELECT assignee FROM chat_state WHERE phone = ?", (phone,)) is not None:
        return
    tx.execute("UPDATE chat_state SET assignee = ?, needs_assignment = 0 WHERE phone = ?",
               (agent, phone))
    if data.get("by") == "round_robin" and agent is not None:
        tx.execute("INSERT INTO assignment_rotation (one, last_agent) VALUES (1, ?) "
                   "ON CONFLICT(one) DO UPDATE SET last_agent = excluded.last_agent", (agent,))


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    """Two chats became one: combine the absorbed chat's state into the survivor's."""
    for absorbed, into in merged_at(tx, event.position):
        old = tx.fetchone(_MERGE_STATE, (absorbed,))
        if old is None:
            continue
        if tx.fetchone(_MERGE_STATE, (into,)) is None:
            tx.execute("UPDATE chat_state SET phone = ? WHERE phone = ?", (into, absorbed))
            continue
        _, assignee, waiting_since, waiting_ts = old
        tx.execute(
            "UPDATE chat_state SET "
            "status = CASE WHEN ? IS NOT NULL AND status IN ('resolved', 'snoozed') "
            "    THEN 'open' ELSE status END, "
            "snoozed_until = CASE WHEN ? IS NOT NULL AND status = 'snoozed' THEN NULL "
            "    ELSE snoozed_until END, "
            "assignee = coalesce(assignee, ?), "
            "waiting_since = CASE WHEN ? IS NOT NULL AND (waiting_ts IS NULL OR ? < waiting_ts) "
            "    THEN ? ELSE waiting_since END, "
            "waiting_ts = CASE WHEN ? IS NOT NULL AND (waiting_ts IS NULL OR ? < waiting_ts) "
            "    THEN ? ELSE waiting_ts END "
            "WHERE phone = ?",
            (waiting_ts, waiting_ts, assignee, waiting_ts, waiting_ts, waiting_since,
             waiting_ts, waiting_ts, waiting_ts, into))
        tx.execute("DELETE FROM chat_state WHERE phone = ?", (absorbed,))


_MERGE_STATE = "SELECT status, assignee, waiting_since, waiting_ts FROM chat_state WHERE phone = ?"


PROJECTION = Projection(
    name="workflow", version=1,
    schema=SCHEMA,
    tables=("chat_state", "assignment_rotation"),
    replay_group=1,  # reads identities
    handlers={
        "customer.linked": on_linked,
        "message.received": on_received,
        "message.echoed": on_queued,
        "message.queued": on_queued,
        "chat.status_changed": on_status,
        "chat.assigned": on_assigned,
    },
)

# -- reading --------------------------------------------------------------------------

_STATE = "SELECT phone, status, snoozed_until, assignee, waiting_since, snooze_pos FROM chat_state"


def _state(row: tuple | None) -> dict[str, Any]:
    if row is None:
        return {"status": "open", "snoozed_until": None, "assignee": None,
                "waiting_since": None}
    return {"status": row[1], "snoozed_until": row[2], "assignee": row[3],
            "waiting_since": row[4]}


def states(db: sqlite3.Connection, phones: list[str]) -> dict[str, dict[str, Any]]:
    """The state of each chat named (a chat without a row reads as new: open)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(phones), 500):
        part = phones[start:start + 500]
        rows = db.execute(f"{_STATE} WHERE phone IN ({','.join('?' * len(part))})",
                          part).fetchall()
        found.update((row[0], _state(row)) for row in rows)
    return {phone: found.get(phone, _state(None)) for phone in phones}


def state(db: sqlite3.Connection, phone: str) -> dict[str, Any]:
    return states(db, [phone])[phone]


def due_snoozes(db: sqlite3.Connection, now: float, limit: int = 500
                ) -> list[tuple[str, int]]:
    """``(phone, snooze position)`` of snoozes whose time has come."""
    return db.execute(
        "SELECT phone, snooze_pos FROM chat_state WHERE status = 'snoozed' AND snoozed_ts <= ? "
        "ORDER BY snoozed_ts LIMIT ?", (now, limit)).fetchall()


def next_snooze(db: sqlite3.Connection) -> float | None:
    return db.execute("SELECT min(snoozed_ts) FROM chat_state WHERE status = 'snoozed'"
                      ).fetchone()[0]


def awaiting_assignment(db: sqlite3.Connection, after: int, limit: int = 200
                        ) -> list[tuple[str, int]]:
    """``(phone, opened position)`` of chats the assigner should place, oldest first."""
    return db.execute(
        "SELECT phone, opened_pos FROM chat_state WHERE needs_assignment = 1 "
        "AND assignee IS NULL AND status != 'resolved' AND opened_pos > ? "
        "ORDER BY opened_pos LIMIT ?", (after, limit)).fetchall()


def open_load(db: sqlite3.Connection) -> dict[str, int]:
    """Open chats per assignee (the round-robin capacity counts these)."""
    return dict(db.execute(
        "SELECT assignee, count(*) FROM chat_state WHERE status = 'open' "
        "AND assignee IS NOT NULL GROUP BY assignee").fetchall())


def last_rotated(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT last_agent FROM assignment_rotation WHERE one = 1").fetchone()
    return row[0] if row else None
