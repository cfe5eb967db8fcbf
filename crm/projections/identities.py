"""The ``identities`` projection: which conversation each customer identifier belongs to.

A customer may be named by a phone (``wa_id``), a business-scoped user id (``user_id``),
a parent business-scoped id and a username, and Meta sends only some of them at a time.
Every identifier seen maps to one chat key here; the ``messages`` and ``chats``
handlers (same replay group, run after this one) put an event where its identifier
points. A new customer's chat key is what the event named it by (the phone if there
was one); it never changes afterwards.

When a ``customer.linked`` (or a message naming several identifiers) joins identifiers
of two existing chats, the younger chat is merged into the older one: its identifiers
move here, and ``chat_merges`` records ``absorbed -> into`` at the event's position so
every projection keeping per-chat rows folds them at that same event
(``merged_at``). Deterministic: replay merges at the same events.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from crm.events import RecordedEvent
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS identities (
    identifier TEXT NOT NULL,
    kind       TEXT NOT NULL,
    chat       TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (identifier, kind)
);
CREATE INDEX IF NOT EXISTS identities_by_chat ON identities(chat, kind, position);
CREATE TABLE IF NOT EXISTS chat_merges (
    absorbed  TEXT PRIMARY KEY,
    into_chat TEXT NOT NULL,
    position  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_merges_by_position ON chat_merges(position);
"""

#: The kinds that route an event to a chat; a username only describes one.
ROUTING = ("wa_id", "user_id", "parent_user_id")
KINDS = (*ROUTING, "username")

_PHONE = re.compile(r"^\d{1,20}$")
_PARENT = re.compile(r"^[A-Za-z]{2}\.ENT\.")

_CHAT_OF = ("SELECT chat FROM identities WHERE identifier = ? "
            "AND kind IN ('wa_id', 'user_id', 'parent_user_id') LIMIT 1")


def kind_of(identifier: str) -> str:
    """What a chat key or identifier named alone is: digits are a phone."""
    if _PHONE.match(identifier):
        return "wa_id"
    return "parent_user_id" if _PARENT.match(identifier) else "user_id"


#: ``tx.memo`` keys. Every per-chat handler asks for its event's chat key and for the
#: merges at its position (five lookups and two queries per message otherwise); only
#: this module writes these tables, so it keeps what it read or wrote in the
#: transaction's memo: identifier -> chat key, and the merges ``link`` made at the
#: position it last handled.
_CHATS = "identities.chats"
_MERGED = "identities.merged"


def _known(tx: Transaction) -> dict[str, str]:
    known = tx.memo.get(_CHATS)
    if known is None:
        known = tx.memo[_CHATS] = {}
    return known


def chat_of(tx: Transaction, identifier: str) -> str:
    """The chat key an identifier belongs to (itself, if it is not known yet)."""
    known = _known(tx)
    chat = known.get(identifier)
    if chat is None:
        chat = tx.fetchval(_CHAT_OF, (identifier,))
        if chat is None:
            return identifier  # not remembered: link() may file it under another key
        known[identifier] = chat
    return chat


def merged_at(tx: Transaction, position: int) -> list[tuple[str, str]]:
    """``(absorbed, into)`` for the chats merged by the event at ``position``, oldest
    first: a projection with per-chat rows (chats, messages, and later labels,
    assignees, notes) folds them when it handles that event."""
    made = tx.memo.get(_MERGED)
    if made is not None and made[0] == position:
        return list(made[1])
    return [(a, b) for a, b in tx.fetchall(
        "SELECT absorbed, into_chat FROM chat_merges WHERE position = ? ORDER BY rowid",
        (position,))]


def link(tx: Transaction, position: int, named: list[tuple[str, str]],
         prefer: str | None = None) -> str | None:
    """Put the ``(identifier, kind)`` pairs into one chat; returns its key."""
    routing = [(i, k) for i, k in named if k in ROUTING]
    if not routing:
        return None
    found: dict[str, int] = {}
    missing: list[tuple[str, str]] = []
    known = _known(tx)
    for identifier, kind in routing:
        chat = known.get(identifier) or tx.fetchval(_CHAT_OF, (identifier,))
        if chat is None:
            missing.append((identifier, kind))
        else:
            found.setdefault(chat, 0)
    merges: list[tuple[str, str]] = []
    if not found:
        key = prefer or routing[0][0]
    elif len(found) == 1:
        [key] = found
    else:
        for chat in found:  # how old each is: only when there are two to choose from
            found[chat] = tx.fetchval(
                "SELECT min(position) FROM identities WHERE chat = ?", (chat,))
        # The older chat stays; ties cannot happen (one event creates one chat).
        key = min(found, key=lambda chat: (found[chat], chat))
        known.clear()  # the absorbed chats' identifiers move: forget them first
        for absorbed in sorted((c for c in found if c != key), key=lambda c: found[c]):
            _merge(tx, absorbed, key, position)
            merges.append((absorbed, key))
    if missing:
        tx.executemany(
            "INSERT OR IGNORE INTO identities (identifier, kind, chat, position) "
            "VALUES (?, ?, ?, ?)", [(i, k, key, position) for i, k in missing])
    for identifier, _ in routing:
        known[identifier] = key
    tx.memo[_MERGED] = (position, merges)
    for identifier, kind in named:
        if kind == "username":
            _username(tx, identifier, key, position)
    return key


def _merge(tx: Transaction, absorbed: str, into: str, position: int) -> None:
    tx.execute("UPDATE identities SET chat = ? WHERE chat = ?", (into, absorbed))
    tx.execute("UPDATE chat_merges SET into_chat = ? WHERE into_chat = ?", (into, absorbed))
    tx.execute("INSERT OR REPLACE INTO chat_merges (absorbed, into_chat, position) "
               "VALUES (?, ?, ?)", (absorbed, into, position))


def _username(tx: Transaction, username: str, chat: str, position: int) -> None:
    """A username names one person at a time: it moves with its latest owner."""
    current = tx.fetchone("SELECT chat FROM identities WHERE identifier = ? "
                          "AND kind = 'username'", (username,))
    if current is not None and current[0] == chat:
        return
    tx.execute("INSERT OR REPLACE INTO identities (identifier, kind, chat, position) "
               "VALUES (?, 'username', ?, ?)", (username, chat, position))


def _named(data: dict[str, Any], key: str | None) -> list[tuple[str, str]]:
    named = [(key, kind_of(key))] if key else []
    for kind in KINDS:
        value = data.get(kind)
        if isinstance(value, str) and value:
            named.append((value, kind))
    return named


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    previous = data.get("previous")
    named = _named(data, previous)
    prefer = previous or data.get("wa_id") or data.get("user_id") or data.get("parent_user_id")
    link(tx, event.position, named, prefer)


def on_message(event: RecordedEvent, tx: Transaction) -> None:
    """A customer's message (or the app's echo to them): its identifiers, one chat."""
    phone = event.data["phone"]
    link(tx, event.position, _named(event.data, phone), phone)


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    """An agent started a conversation with a number no one wrote from yet."""
    phone = event.data["phone"]
    link(tx, event.position, [(phone, kind_of(phone))], phone)


PROJECTION = Projection(
    name="identities", version=1, schema=SCHEMA, tables=("identities", "chat_merges"),
    handlers={
        "customer.linked": on_linked,
        "message.received": on_message,
        "message.echoed": on_message,
        "message.queued": on_queued,
    },
    replay_group=1,  # messages and chats read it
    # link() finds a chat's first identifier, chats reads a chat's phones, and every
    # per-chat handler asks for merges at its position: without these, a table scan each.
    fold_indexes=("identities_by_chat", "chat_merges_by_position"),
)

# -- reading --------------------------------------------------------------------------


def resolve(db: sqlite3.Connection, identifier: str) -> str:
    """The chat key for any of its customer's identifiers (itself if unknown)."""
    row = db.execute(_CHAT_OF, (identifier,)).fetchone()
    return row[0] if row else identifier


def identifiers(db: sqlite3.Connection, chats: list[str]) -> dict[str, dict[str, str | None]]:
    """Each chat's newest identifier of each kind (None when unknown)."""
    found: dict[str, dict[str, str | None]] = {c: dict.fromkeys(KINDS) for c in chats}
    for start in range(0, len(chats), 500):
        part = chats[start:start + 500]
        rows = db.execute(
            "SELECT chat, kind, identifier FROM identities WHERE chat IN "
            f"({','.join('?' * len(part))}) ORDER BY position, rowid", part).fetchall()
        for chat, kind, identifier in rows:
            found[chat][kind] = identifier
    return found


def address(db: sqlite3.Connection, chat: str) -> str:
    """Where to send to this chat's customer: their newest phone if one is known (``to``),
    else their business-scoped id (``recipient``)."""
    known = identifiers(db, [chat])[chat]
    return known["wa_id"] or known["user_id"] or known["parent_user_id"] or chat
