"""The ``chats`` projection: one row per conversation, newest activity first.

Keyed by the identifier the conversation started with: the customer's WhatsApp id
(``wa_id``) or, for a username-only customer, the business-scoped ``user_id``. Events
naming the customer by another of their identifiers land here through the
``identities`` projection, which also says when two chats turn out to be one customer
(``merge``). The 24-hour window is computed from Meta's timestamps of the customer's
messages, never from when we happened to receive them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crm.events import RecordedEvent, epoch_seconds, format_time
from crm.projections import identities, messages
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

WINDOW = timedelta(hours=24)

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    phone             TEXT PRIMARY KEY,
    profile_name      TEXT,
    customer_name     TEXT,
    last_message_id   TEXT,
    last_pos          INTEGER NOT NULL,
    unread            INTEGER NOT NULL DEFAULT 0,
    last_inbound_at   TEXT,
    last_inbound_ts   INTEGER
);
CREATE INDEX IF NOT EXISTS chats_by_activity ON chats(last_pos);
"""

#: Inbound messages that do not count as unread: annotations and system notices.
NOT_UNREAD = frozenset({"reaction", "edit", "revoke", "system", "request_welcome"})
#: Inbound messages that do not open the 24-hour window.
NOT_OPENING = frozenset({"system"})


#: A new chat starts with its customer's name from the ``customers`` projection (which
#: runs first); ``on_customer`` keeps it current when the customer row changes later.
_CUSTOMER_NAME = "(SELECT name FROM customers WHERE phone = ?)"


def _touch(tx: Transaction, phone: str, position: int) -> None:
    tx.execute(
        "INSERT INTO chats (phone, last_pos, customer_name) VALUES (?, ?, "
        f"{_CUSTOMER_NAME}) "
        "ON CONFLICT(phone) DO UPDATE SET last_pos = max(last_pos, excluded.last_pos)",
        (phone, position, phone),
    )


# One statement per inbound message: replay applies a million of these.
_RECEIVED = """
INSERT INTO chats (phone, profile_name, last_message_id, last_pos, unread, last_inbound_at,
                   last_inbound_ts, customer_name)
VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT name FROM customers WHERE phone = ?))
ON CONFLICT(phone) DO UPDATE SET
    profile_name = coalesce(excluded.profile_name, profile_name),
    last_message_id = coalesce(excluded.last_message_id, last_message_id),
    last_pos = max(last_pos, excluded.last_pos),
    unread = unread + excluded.unread,
    last_inbound_at = CASE WHEN excluded.last_inbound_ts > coalesce(last_inbound_ts, -1)
        THEN excluded.last_inbound_at ELSE last_inbound_at END,
    last_inbound_ts = CASE WHEN excluded.last_inbound_ts > coalesce(last_inbound_ts, -1)
        THEN excluded.last_inbound_ts ELSE last_inbound_ts END
"""


def profile_name(data: dict[str, Any]) -> str | None:
    """The WhatsApp profile name, unless it says nothing: empty, or only the customer's
    number (the sandbox, ``crm simulate`` and users who set no name send that), which
    must never replace a name we know."""
    name = (data.get("profile_name") or "").strip()
    digits = "".join(c for c in name if c.isdigit())
    if not name or (digits == data["phone"] and not any(c.isalpha() for c in name)):
        return None
    return name


def on_received(event: RecordedEvent, tx: Transaction) -> None:
    merge(event, tx)
    data = event.data
    kind = data.get("message_type", "unknown")
    chat = identities.chat_of(tx, data["phone"])
    imported = bool(data.get("imported"))
    inbound_at = inbound_ts = None
    if kind not in NOT_OPENING and not imported:
        inbound_at = event.occurred_at
        inbound_ts = int(epoch_seconds(inbound_at))
    tx.execute(_RECEIVED, (
        chat,
        profile_name(data),
        None if kind in messages.ANNOTATIONS else event.id,
        event.position,
        0 if kind in NOT_UNREAD or imported else 1,
        inbound_at, inbound_ts, chat,
    ))


def on_echoed(event: RecordedEvent, tx: Transaction) -> None:
    """The business wrote from the WhatsApp Business app: news, never unread."""
    merge(event, tx)
    chat = identities.chat_of(tx, event.data["phone"])
    _touch(tx, chat, event.position)
    if event.data.get("message_type") not in messages.ANNOTATIONS:
        tx.execute("UPDATE chats SET last_message_id = ? WHERE phone = ?", (event.id, chat))


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    phone = identities.chat_of(tx, event.data["phone"])
    _touch(tx, phone, event.position)
    tx.execute("UPDATE chats SET last_message_id = ? WHERE phone = ?",
               (event.data["message_id"], phone))


def on_read(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("UPDATE chats SET unread = 0 WHERE phone = ?",
               (identities.chat_of(tx, event.data["phone"]),))


def on_customer(event: RecordedEvent, tx: Transaction) -> None:
    """The customer list named (or renamed) this number: the chat shows it first,
    whatever identifier the chat is keyed by (a username customer linked to it). The
    name is the ``customers`` row's (folded just before): a sheet row does not replace
    a name an agent corrected unless the sheet changed it."""
    tx.execute(f"UPDATE chats SET customer_name = {_CUSTOMER_NAME} WHERE phone = ?",
               (event.data["phone"], identities.chat_of(tx, event.data["phone"])))


def on_linked(event: RecordedEvent, tx: Transaction) -> None:
    """New identifiers of a customer: perhaps two chats are one, perhaps the customer
    list knows the phone of a chat keyed by its business-scoped id."""
    merge(event, tx)
    data = event.data
    known = data.get("previous") or data.get("wa_id") or data.get("user_id")
    if known:
        _name_from_customers(tx, identities.chat_of(tx, known))


def _name_from_customers(tx: Transaction, chat: str) -> None:
    """The customer list's name for any phone of this chat, if the chat has none."""
    tx.execute(
        "UPDATE chats SET customer_name = (SELECT name FROM customers WHERE phone IN "
        "(SELECT identifier FROM identities WHERE chat = ? AND kind = 'wa_id') "
        "AND name IS NOT NULL ORDER BY position DESC LIMIT 1) "
        "WHERE phone = ? AND customer_name IS NULL", (chat, chat))


_ROW = ("SELECT profile_name, customer_name, last_message_id, last_pos, unread, "
        "last_inbound_at, last_inbound_ts FROM chats WHERE phone = ?")


def merge(event: RecordedEvent, tx: Transaction) -> None:
    """Fold the chats the identities projection merged at this event into the older:
    unread added up, the newer activity, names kept (the older chat's first)."""
    for absorbed, into in identities.merged_at(tx, event.position):
        old = tx.fetchone(_ROW, (absorbed,))
        if old is None:
            continue
        if tx.fetchone(_ROW, (into,)) is None:
            tx.execute("UPDATE chats SET phone = ? WHERE phone = ?", (into, absorbed))
        else:
            profile, customer, last_id, last_pos, unread, inbound_at, inbound_ts = old
            tx.execute(
                "UPDATE chats SET "
                "profile_name = CASE WHEN ? > last_pos THEN coalesce(?, profile_name) "
                "  ELSE coalesce(profile_name, ?) END, "
                "customer_name = coalesce(customer_name, ?), "
                "last_message_id = CASE WHEN ? > last_pos THEN coalesce(?, last_message_id) "
                "  ELSE coalesce(last_message_id, ?) END, "
                "last_pos = max(last_pos, ?), unread = unread + ?, "
                "last_inbound_at = CASE WHEN coalesce(?, -1) > coalesce(last_inbound_ts, -1) "
                "  THEN ? ELSE last_inbound_at END, "
                "last_inbound_ts = max(coalesce(last_inbound_ts, -1), coalesce(?, -1)) "
                "WHERE phone = ?",
                (last_pos, profile, profile, customer, last_pos, last_id, last_id, last_pos,
                 unread, inbound_ts, inbound_at, inbound_ts, into))
            tx.execute("UPDATE chats SET last_inbound_ts = NULL WHERE phone = ? "
                       "AND last_inbound_ts = -1", (into,))
            tx.execute("DELETE FROM chats WHERE phone = ?", (absorbed,))
        _name_from_customers(tx, into)


PROJECTION = Projection(
    name="chats", version=3,
    schema=SCHEMA,
    tables=("chats",),
    handlers={
        "customer.linked": on_linked,
        "message.received": on_received,
        "message.echoed": on_echoed,
        "message.queued": on_queued,
        "chat.read": on_read,
        "customer.updated": on_customer,
    },
    replay_group=1,  # reads identities, customers and messages' rows
)

# -- reading --------------------------------------------------------------------------

_SELECT = (
    "SELECT c.phone, coalesce(c.customer_name, c.profile_name, c.phone), c.unread, "
    "c.last_inbound_at, c.last_inbound_ts, c.last_pos, c.profile_name, c.customer_name, "
    f"{', '.join('m.' + col.strip() for col in messages.COLUMNS.split(','))} "
    "FROM chats c LEFT JOIN messages m ON m.id = c.last_message_id"
)


def _chat_from_row(row: tuple, known: dict[str, str | None]) -> dict[str, Any]:
    phone, name, unread, last_inbound_at, inbound_ts, _pos, profile, customer = row[:8]
    last = messages.message_from_row(row[8:]) if row[8] is not None else None
    if not name or name == phone:
        name = customer or profile or known.get("username") or phone
    return {
        "phone": phone,
        "name": name,
        "last_message": last,
        "unread": unread,
        "last_inbound_at": last_inbound_at,
        "window_expires_at": window_closes(inbound_ts),
        "profile_name": profile,
        "customer_name": customer,
        "identifiers": {kind: known.get(kind) for kind in identities.KINDS},
    }


def _chats_from_rows(db: sqlite3.Connection, rows: list[tuple]) -> list[dict[str, Any]]:
    known = identities.identifiers(db, [r[0] for r in rows])
    return [_chat_from_row(r, known[r[0]]) for r in rows]


def window_closes(inbound_ts: int | None) -> str | None:
    """When the 24-hour customer service window closes (Meta's clock, not ours)."""
    if inbound_ts is None:
        return None
    return format_time(datetime.fromtimestamp(inbound_ts, UTC) + WINDOW)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: A search that is only a number as people type one: +852 9876-5432, (0)98 76, 00852...
_NUMBER_LIKE = frozenset("0123456789+-(). /")


def number_query(q: str) -> str | None:
    """The digits a chat key would contain, when ``q`` looks like a typed number."""
    if not set(q) <= _NUMBER_LIKE:
        return None
    digits = "".join(c for c in q if c.isdigit())
    if q.lstrip().startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= 3 else None


#: A condition on a chat row ``c`` and its parameters (filters other modules add).
Condition = tuple[str, Sequence[Any]]


def list_chats(
    db: sqlite3.Connection, limit: int = 50, before: str | None = None, q: str | None = None,
    *, conditions: Sequence[Condition] = (),
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest activity first. ``before`` is the opaque cursor of the previous page;
    ``conditions`` (the team's filters) must all hold."""
    where: list[str] = [sql for sql, _ in conditions]
    params: list[Any] = [value for _, values in conditions for value in values]
    if before:
        where.append("c.last_pos < ?")
        params.append(int(before))
    if q:
        pattern = _like(q)
        number = number_query(q)
        # A username is typed with its @ or without.
        named = _like(q[1:]) if q.startswith("@") and len(q) > 1 else pattern
        where.append(
            "(c.phone LIKE ? ESCAPE '\\' OR c.phone LIKE ? "
            "OR c.profile_name LIKE ? ESCAPE '\\' OR c.customer_name LIKE ? ESCAPE '\\' "
            "OR c.phone IN (SELECT chat FROM identities "
            "WHERE identifier LIKE ? ESCAPE '\\' OR identifier LIKE ? ESCAPE '\\') "
            "OR c.phone IN (SELECT phone FROM messages "
            "WHERE text LIKE ? ESCAPE '\\' OR caption LIKE ? ESCAPE '\\'))"
        )
        numeric = f"%{number}%" if number else pattern
        params.extend([pattern, numeric, pattern, pattern, named, numeric, pattern, pattern])
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY c.last_pos DESC LIMIT ?"
    rows = db.execute(sql, (*params, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = str(rows[-1][5]) if more else None
    return _chats_from_rows(db, rows), cursor


def get_chat(db: sqlite3.Connection, phone: str) -> dict[str, Any] | None:
    """The chat of any of its customer's identifiers; ``phone`` in the answer is its key."""
    row = db.execute(_SELECT + " WHERE c.phone = ?",
                     (identities.resolve(db, phone),)).fetchone()
    return _chats_from_rows(db, [row])[0] if row else None
