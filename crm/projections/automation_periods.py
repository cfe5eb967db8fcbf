"""The ``automation_periods`` projection: each chat's waiting period and window, as the
automation worker needs them (``crm.automation.worker``).

A *waiting period* begins with a customer's message (not a reaction, an edit, a revoke
or a system notice) when nothing waits, and ends when an agent replies (from crm, or
from the WhatsApp Business app) or the chat is resolved. Automatic messages end
nothing: an away message does not answer the customer. ``period_pos`` is the position
of the message that began the current period (NULL: nothing waits); it names the
period in the worker's idempotency keys, so "once per rule per waiting period" holds
across restarts and processes.

``last_in_*`` is the customer's latest message that opens the 24-hour window (Meta's
time); ``last_kind`` says who spoke last in the conversation: ``in`` (the customer),
``agent``, or ``question`` (an agent's message asking something): ``window.closing``
reminds only after the first and the last. ``first_in_pos`` is the customer's first
message ever (``chat.created``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crm.events import RecordedEvent, epoch_seconds
from crm.projections.base import Projection
from crm.projections.chats import NOT_OPENING, NOT_UNREAD
from crm.projections.identities import chat_of, merged_at
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS automation_chats (
    phone         TEXT PRIMARY KEY,
    first_in_pos  INTEGER,
    period_pos    INTEGER,
    period_ts     REAL,
    last_in_pos   INTEGER,
    last_in_ts    REAL,
    last_kind     TEXT
);
CREATE INDEX IF NOT EXISTS automation_chats_waiting ON automation_chats(period_ts);
CREATE INDEX IF NOT EXISTS automation_chats_window ON automation_chats(last_in_ts);
"""

#: Inbound messages that neither begin a waiting period nor trigger a rule.
NOT_WAKING = NOT_UNREAD
QUESTION_MARKS = ("?", "？", "؟", ";")


def is_question(text: str | None) -> bool:
    """An agent's message that asks something (its last sentence ends in a question
    mark, in any of the scripts WhatsApp users write; ``;`` is the Greek one)."""
    return bool(text) and text.rstrip().endswith(QUESTION_MARKS)  # type: ignore[union-attr]


# One statement per customer message (replay folds a million of them).
_RECEIVED = """
INSERT INTO automation_chats (phone, first_in_pos, period_pos, period_ts, last_in_pos,
                              last_in_ts, last_kind)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(phone) DO UPDATE SET
    first_in_pos = coalesce(first_in_pos, excluded.first_in_pos),
    period_ts = CASE WHEN period_pos IS NULL THEN excluded.period_ts ELSE period_ts END,
    period_pos = coalesce(period_pos, excluded.period_pos),
    last_kind = coalesce(excluded.last_kind, last_kind),
    last_in_pos = CASE WHEN excluded.last_in_ts IS NOT NULL
        AND (last_in_ts IS NULL OR last_in_ts <= excluded.last_in_ts)
        THEN excluded.last_in_pos ELSE last_in_pos END,
    last_in_ts = CASE WHEN excluded.last_in_ts IS NOT NULL
        AND (last_in_ts IS NULL OR last_in_ts <= excluded.last_in_ts)
        THEN excluded.last_in_ts ELSE last_in_ts END
"""

_ANSWERED = """
INSERT INTO automation_chats (phone, last_kind) VALUES (?, ?)
ON CONFLICT(phone) DO UPDATE SET period_pos = NULL, period_ts = NULL,
    last_kind = excluded.last_kind
"""


def on_received(event: RecordedEvent, tx: Transaction) -> None:
    on_linked(event, tx)
    data = event.data
    kind = data.get("message_type", "unknown")
    opens, wakes = kind not in NOT_OPENING, kind not in NOT_WAKING
    if data.get("imported") or not (opens or wakes):
        return
    ts, position = epoch_seconds(event.occurred_at), event.position
    tx.execute(_RECEIVED, (
        chat_of(tx, data["phone"]),
        position if wakes else None, position if wakes else None, ts if wakes else None,
        position if opens else None, ts if opens else None, "in" if wakes else None))


def _answered(tx: Transaction, phone: str, text: str | None) -> None:
    tx.execute(_ANSWERED, (phone, "question" if is_question(text) else "agent"))


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    """An agent's reply ends the wait; an automatic one (no agent) does not."""
    data = event.data
    if not data.get("agent") or data.get("automation"):
        return
    _answered(tx, chat_of(tx, data["phone"]), data.get("text") or data.get("caption"))


def on_echoed(event: RecordedEvent, tx: Transaction) -> None:
    on_linked(event, tx)
    data = event.data
    if data.get("imported") or data.get("message_type") in NOT_WAKING:
        return
    _answered(tx, chat_of(tx, data["phone"]), data.get("text") or data.get("caption"))


def on_status(event: RecordedEvent, tx: Transaction) -> None:
    if event.data.get("status") == "resolved":
        tx.execute("UPDATE automation_chats SET period_pos = NULL, period_ts = NULL "
                   "WHERE phone = ?", (chat_of(tx, event.data["phone"]),))


_ROW = ("SELECT first_in_pos, period_pos, period_ts, last_in_pos, last_in_ts, last_kind "
        "FROM automation_chats WHERE phone = ?")


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    """Two chats became one: the older first message and waiting period, the newer
    window."""
    for absorbed, into in merged_at(tx, event.position):
        old = tx.fetchone(_ROW, (absorbed,))
        if old is None:
            continue
        if tx.fetchone(_ROW, (into,)) is None:
            tx.execute("UPDATE automation_chats SET phone = ? WHERE phone = ?",
                       (into, absorbed))
            continue
        first, period, period_ts, last_in, last_ts, kind = old
        tx.execute(
            "UPDATE automation_chats SET "
            "first_in_pos = min(coalesce(first_in_pos, ?), coalesce(?, first_in_pos)), "
            "period_ts = CASE WHEN ? IS NOT NULL AND (period_pos IS NULL OR ? < period_pos) "
            "    THEN ? ELSE period_ts END, "
            "period_pos = CASE WHEN ? IS NOT NULL AND (period_pos IS NULL OR ? < period_pos) "
            "    THEN ? ELSE period_pos END, "
            "last_kind = CASE WHEN coalesce(?, -1) > coalesce(last_in_ts, -1) THEN ? "
            "    ELSE last_kind END, "
            "last_in_pos = CASE WHEN coalesce(?, -1) > coalesce(last_in_ts, -1) THEN ? "
            "    ELSE last_in_pos END, "
            "last_in_ts = max(coalesce(last_in_ts, -1), coalesce(?, -1)) WHERE phone = ?",
            (first, first, period, period, period_ts, period, period, period,
             last_ts, kind, last_ts, last_in, last_ts, into))
        tx.execute("UPDATE automation_chats SET last_in_ts = NULL WHERE phone = ? "
                   "AND last_in_ts = -1", (into,))
        tx.execute("DELETE FROM automation_chats WHERE phone = ?", (absorbed,))


PROJECTION = Projection(
    name="automation_periods", version=1,
    schema=SCHEMA,
    tables=("automation_chats",),
    replay_group=1,  # reads identities
    handlers={
        "customer.linked": on_linked,
        "message.received": on_received,
        "message.echoed": on_echoed,
        "message.queued": on_queued,
        "chat.status_changed": on_status,
    },
)

# -- reading --------------------------------------------------------------------------

_FIELDS = ("phone", "first_in_pos", "period_pos", "period_ts", "last_in_pos", "last_in_ts",
           "last_kind")


def _chat(row: tuple) -> dict[str, Any]:
    return dict(zip(_FIELDS, row, strict=True))


def chat(db: sqlite3.Connection, phone: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {', '.join(_FIELDS)} FROM automation_chats WHERE phone = ?",
                     (phone,)).fetchone()
    return _chat(row) if row else None


def waiting(db: sqlite3.Connection, since_before: float, after_pos: int,
            limit: int = 500) -> list[dict[str, Any]]:
    """Chats whose current waiting period began before ``since_before`` (epoch s), with
    a period that began after ``after_pos``."""
    rows = db.execute(
        f"SELECT {', '.join(_FIELDS)} FROM automation_chats WHERE period_ts <= ? "
        "AND period_pos > ? ORDER BY period_ts LIMIT ?",
        (since_before, after_pos, limit)).fetchall()
    return [_chat(r) for r in rows]


def windows_between(db: sqlite3.Connection, low: float, high: float, after_pos: int,
                    limit: int = 500) -> list[dict[str, Any]]:
    """Chats whose customer last wrote in ``[low, high]`` (epoch s), after ``after_pos``,
    and where the customer or an agent's question had the last word."""
    rows = db.execute(
        f"SELECT {', '.join(_FIELDS)} FROM automation_chats WHERE last_in_ts BETWEEN ? AND ? "
        "AND last_in_pos > ? AND last_kind IN ('in', 'question') ORDER BY last_in_ts LIMIT ?",
        (low, high, after_pos, limit)).fetchall()
    return [_chat(r) for r in rows]
