"""What a rule's conditions and actions need to know about a chat, read at once.

One read on a reader connection: the chat's state and labels, its customer, its
waiting period and window, and how many automatic messages it had today.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from crm.projections import (
    automation_periods,
    customers,
    identities,
    labels,
    quick_replies,
    workflow,
)
from crm.projections.chats import WINDOW


@dataclass
class ChatFacts:
    phone: str
    status: str = "open"
    assignee: str | None = None
    labels: list[str] = field(default_factory=list)
    customer: dict[str, Any] = field(default_factory=dict)
    period: dict[str, Any] = field(default_factory=dict)
    #: Automatic messages (any rule) queued to this chat since the day began.
    sent_today: int = 0

    @property
    def window_closes(self) -> float | None:
        last = self.period.get("last_in_ts")
        return None if last is None else last + WINDOW.total_seconds()


def automatic_since(db: sqlite3.Connection, phone: str, since_ms: int) -> int:
    """Automatic messages queued to a chat at or after ``since_ms`` (their event time)."""
    return db.execute(
        "SELECT count(*) FROM messages WHERE phone = ? AND direction = 'out' AND ts >= ? "
        "AND json_extract(extra, '$.automation') IS NOT NULL", (phone, since_ms)).fetchone()[0]


def read_facts(db: sqlite3.Connection, phone: str, day_start_ms: int) -> ChatFacts:
    phone = identities.resolve(db, phone)
    state = workflow.state(db, phone)
    customer = customers.get_customer(db, phone) or {}
    name = db.execute("SELECT coalesce(customer_name, profile_name) FROM chats "
                      "WHERE phone = ?", (phone,)).fetchone()
    return ChatFacts(
        phone=phone, status=state["status"], assignee=state["assignee"],
        labels=labels.chat_labels(db, [phone])[phone],
        customer={"phone": phone, "name": (name[0] if name else None) or customer.get("name"),
                  "attributes": customer.get("attributes") or {}},
        period=automation_periods.chat(db, phone) or {},
        sent_today=automatic_since(db, phone, day_start_ms))


def is_automatic_wamid(db: sqlite3.Connection, wamid: str | None) -> bool:
    """Whether the message a customer replied to (by its wamid) was an automatic one."""
    if not wamid:
        return False
    row = db.execute("SELECT extra FROM messages WHERE wamid = ?", (wamid,)).fetchone()
    return bool(row) and "automation" in json.loads(row[0] or "{}")


def quick_reply_text(db: sqlite3.Connection, shortcut: str) -> str | None:
    reply_id = quick_replies.by_shortcut(db, shortcut)
    found = quick_replies.get_reply(db, reply_id) if reply_id else None
    return found["text"] if found else None
