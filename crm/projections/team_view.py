"""The chat list as a team reads it: each chat with its state, owner and labels, the
filters behind the sidebar's tabs, their counts, and who may see which chat.

Read-only functions over the ``chats``, ``workflow`` and ``labels`` tables; the API
decides which agent asks and with which settings.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from crm.projections import chats, labels, workflow
from crm.projections.chats import Condition

#: Sorts after every waiting chat: chats with nothing waiting, newest activity first.
NOT_WAITING = 1e18

_STATUS = "coalesce((SELECT s.status FROM chat_state s WHERE s.phone = c.phone), 'open')"
_ASSIGNEE = "(SELECT s.assignee FROM chat_state s WHERE s.phone = c.phone)"
_WAITING = "(SELECT s.waiting_ts FROM chat_state s WHERE s.phone = c.phone)"


@dataclass(frozen=True)
class Scope:
    """Who is asking: ``restricted`` agents see only chats assigned to them or to nobody
    (``CRM_VISIBILITY=assigned`` for an agent who is not an admin)."""

    agent: str
    restricted: bool = False

    def conditions(self) -> list[Condition]:
        if not self.restricted:
            return []
        return [(f"coalesce({_ASSIGNEE}, ?) = ?", (self.agent, self.agent))]

    def may_see(self, assignee: str | None) -> bool:
        return not self.restricted or assignee is None or assignee == self.agent


@dataclass(frozen=True)
class ChatFilter:
    statuses: tuple[str, ...] = ()
    #: ``me``, ``none`` or an agent's name.
    assignee: str | None = None
    label: str | None = None
    unread: bool = False
    waiting: bool = False

    def conditions(self, scope: Scope) -> list[Condition]:
        found: list[Condition] = []
        if self.statuses:
            found.append((f"{_STATUS} IN ({','.join('?' * len(self.statuses))})",
                          self.statuses))
        if self.assignee == "none":
            found.append((f"{_ASSIGNEE} IS NULL", ()))
        elif self.assignee is not None:
            name = scope.agent if self.assignee == "me" else self.assignee
            found.append((f"{_ASSIGNEE} = ?", (name,)))
        if self.label is not None:
            found.append(("EXISTS (SELECT 1 FROM chat_labels cl JOIN labels l "
                          "ON l.id = cl.label_id WHERE cl.phone = c.phone AND l.name_key = ?)",
                          (labels.name_key(self.label),)))
        if self.unread:
            found.append(("c.unread > 0", ()))
        if self.waiting:
            found.append((f"{_WAITING} IS NOT NULL", ()))
        return found


def decorate(db: sqlite3.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each chat with ``status``, ``snoozed_until``, ``assignee``, ``waiting_since`` and
    ``labels`` (shapes only gain fields)."""
    phones = [row["phone"] for row in rows]
    states = workflow.states(db, phones)
    names = labels.chat_labels(db, phones)
    for row in rows:
        row.update(states[row["phone"]])
        row["labels"] = names[row["phone"]]
    return rows


def full_chat(db: sqlite3.Connection, phone: str) -> dict[str, Any] | None:
    chat = chats.get_chat(db, phone)
    return decorate(db, [chat])[0] if chat is not None else None


def visible_chat(db: sqlite3.Connection, phone: str, scope: Scope) -> dict[str, Any] | None:
    """The chat, or None when there is none or the scope may not see it."""
    chat = full_chat(db, phone)
    if chat is None or not scope.may_see(chat["assignee"]):
        return None
    return chat


def list_team_chats(db: sqlite3.Connection, limit: int, before: str | None, q: str | None,
                    chat_filter: ChatFilter, scope: Scope
                    ) -> tuple[list[dict[str, Any]], str | None]:
    """The chat list, newest activity first, with the filters and the scope applied."""
    conditions = chat_filter.conditions(scope) + scope.conditions()
    rows, cursor = chats.list_chats(db, limit, before, q, conditions=conditions)
    return decorate(db, rows), cursor


def list_by_waiting(db: sqlite3.Connection, limit: int, before: str | None,
                    chat_filter: ChatFilter, scope: Scope
                    ) -> tuple[list[dict[str, Any]], str | None]:
    """Longest waiting first, then the chats nothing waits in, newest activity first.
    The cursor is ``w<waiting key>:<activity position>`` of the last row."""
    conditions = chat_filter.conditions(scope) + scope.conditions()
    where = [sql for sql, _ in conditions]
    params: list[Any] = [v for _, values in conditions for v in values]
    key = f"coalesce({_WAITING}, {NOT_WAITING})"
    if before:
        waited, position = before[1:].split(":", 1)
        where.append(f"({key} > ? OR ({key} = ? AND c.last_pos < ?))")
        params += [float(waited), float(waited), int(position)]
    sql = (f"SELECT c.phone, {key}, c.last_pos FROM chats c"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY 2, c.last_pos DESC LIMIT ?")
    found = db.execute(sql, (*params, limit + 1)).fetchall()
    more = len(found) > limit
    found = found[:limit]
    rows = [chat for chat in (chats.get_chat(db, phone) for phone, _, _ in found)
            if chat is not None]
    cursor = f"w{found[-1][1]!r}:{found[-1][2]}" if more else None
    return decorate(db, rows), cursor


def counts(db: sqlite3.Connection, scope: Scope) -> dict[str, int]:
    """The sidebar's counts for one agent: open chats, unless the name says otherwise."""
    conditions = scope.conditions()
    where = " WHERE " + " AND ".join(sql for sql, _ in conditions) if conditions else ""
    params = [v for _, values in conditions for v in values]
    row = db.execute(
        "SELECT "
        f"coalesce(sum(st = 'open' AND who = ?), 0), "
        "coalesce(sum(st = 'open' AND who IS NULL), 0), coalesce(sum(st = 'open'), 0), "
        "coalesce(sum(st = 'open' AND unread > 0), 0), coalesce(sum(st = 'pending'), 0), "
        "coalesce(sum(st = 'snoozed'), 0), coalesce(sum(st = 'resolved'), 0) "
        f"FROM (SELECT {_STATUS} AS st, {_ASSIGNEE} AS who, c.unread AS unread "
        f"FROM chats c{where})", (scope.agent, *params)).fetchone()
    return dict(zip(("mine", "unassigned", "all", "unread", "pending", "snoozed",
                     "resolved"), row, strict=True))
