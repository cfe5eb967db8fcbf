"""The contact list: everyone the business knows, read from the projections.

A contact is a chat (everyone who ever wrote, or was written to, including customers
known only by their business-scoped id and username) with its customer-list row, or a
customer-list row no chat belongs to yet. Chats come first, newest activity first,
then the customers without a chat by number; the cursor says which part and where
(``c<activity position>`` or ``p<phone>``).

Read-only functions over ``chats``, ``customers``, ``identities``, ``messages``, the
team's tables and ``customer_preferences``; the API decides who asks.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crm.projections import chats, identities, team_view
from crm.projections.chats import Condition
from crm.projections.team_view import ChatFilter, Scope

#: A cursor this module gives out.
CURSOR = re.compile(r"c[0-9]{1,18}|p[A-Za-z0-9.]{0,200}")


def opted_out_sql(key: str) -> str:
    """SQL true when the customer of chat key ``key`` (an SQL expression) is opted out
    of marketing: a STOP keyword, Meta's ``user_preferences`` or 131050, or an admin
    (the ``optouts`` projection; ``crm.projections.optouts.opted_out`` for one phone).

    The one place the contact list learns the opt-out state."""
    return ("EXISTS (SELECT 1 FROM opt_outs o WHERE o.opted_out = 1 AND (o.phone = " + key +
            " OR o.phone IN (SELECT identifier FROM identities WHERE chat = " + key + ")))")


#: The customer-list row of a chat ``c``: keyed by the chat key or one of its phones.
_CUSTOMER_OF_CHAT = (
    "(cu.phone = c.phone OR cu.phone IN (SELECT identifier FROM identities "
    "WHERE chat = c.phone AND kind = 'wa_id'))")

#: A customer row that no chat belongs to (no identifier of a chat is its key).
_WITHOUT_CHAT = ("NOT EXISTS (SELECT 1 FROM identities i WHERE i.identifier = cu.phone "
                 "AND i.kind IN ('wa_id', 'user_id', 'parent_user_id'))")


@dataclass(frozen=True)
class ContactFilter:
    q: str | None = None
    label: str | None = None
    #: True: only customers who stopped marketing; False: only those who did not.
    opted_out: bool | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _q_patterns(q: str) -> tuple[str, str]:
    number = chats.number_query(q)
    return _like(q[1:] if q.startswith("@") and len(q) > 1 else q), (
        f"%{number}%" if number else _like(q))


def _chat_conditions(wanted: ContactFilter, scope: Scope) -> list[Condition]:
    found: list[Condition] = ChatFilter(label=wanted.label).conditions(scope)
    found += scope.conditions()
    if wanted.q:
        text, numeric = _q_patterns(wanted.q)
        found.append((
            "(c.phone LIKE ? ESCAPE '\\' OR c.profile_name LIKE ? ESCAPE '\\' "
            "OR c.customer_name LIKE ? ESCAPE '\\' OR c.phone IN (SELECT chat FROM "
            "identities WHERE identifier LIKE ? ESCAPE '\\' OR identifier LIKE ? ESCAPE '\\') "
            f"OR EXISTS (SELECT 1 FROM customers cu WHERE {_CUSTOMER_OF_CHAT} AND "
            "(cu.name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM json_each(cu.attributes) "
            "WHERE value LIKE ? ESCAPE '\\'))))",
            (numeric, text, text, text, numeric, text, text)))
    if wanted.opted_out is not None:
        found.append((("" if wanted.opted_out else "NOT ") + opted_out_sql("c.phone"), ()))
    return found


def _customer_conditions(wanted: ContactFilter) -> tuple[list[str], list[Any]]:
    where, params = [_WITHOUT_CHAT], []
    if wanted.label:
        where.append("0")  # labels are on chats: a customer without one has none
    if wanted.q:
        text, numeric = _q_patterns(wanted.q)
        where.append("(cu.phone LIKE ? ESCAPE '\\' OR cu.name LIKE ? ESCAPE '\\' OR EXISTS "
                     "(SELECT 1 FROM json_each(cu.attributes) WHERE value LIKE ? ESCAPE '\\'))")
        params += [numeric, text, text]
    if wanted.opted_out is not None:
        where.append(("" if wanted.opted_out else "NOT ") + opted_out_sql("cu.phone"))
    return where, params


def list_contacts(db: sqlite3.Connection, limit: int, before: str | None,
                  wanted: ContactFilter, scope: Scope) -> tuple[list[dict[str, Any]], str | None]:
    """One page of contacts and the cursor of the next (None: the last page)."""
    found: list[dict[str, Any]] = []
    after_phone = ""
    if before is None or before.startswith("c"):
        rows, cursor = chats.list_chats(db, limit, before[1:] if before else None, None,
                                        conditions=_chat_conditions(wanted, scope))
        found = [_from_chat(db, chat) for chat in team_view.decorate(db, rows)]
        if cursor is not None:
            return found, f"c{cursor}"
    else:
        after_phone = before[1:]
    where, params = _customer_conditions(wanted)
    room = limit - len(found)
    phones = [phone for (phone,) in db.execute(
        f"SELECT cu.phone FROM customers cu WHERE {' AND '.join(where)} AND cu.phone > ? "
        "ORDER BY cu.phone LIMIT ?", (*params, after_phone, room + 1))]
    more = len(phones) > room
    phones = phones[:room]
    found += [_from_customer(db, phone) for phone in phones]
    if not more:
        return found, None
    return found, f"p{phones[-1]}" if phones else f"p{after_phone}"


def all_contacts(db: sqlite3.Connection, scope: Scope, wanted: ContactFilter | None = None,
                 page: int = 500) -> Iterator[dict[str, Any]]:
    """Every contact, page by page (the export)."""
    cursor: str | None = None
    while True:
        rows, cursor = list_contacts(db, page, cursor, wanted or ContactFilter(), scope)
        yield from rows
        if cursor is None:
            return


def attribute_names(db: sqlite3.Connection) -> list[str]:
    """Every attribute column any customer has, sorted (the export's columns)."""
    return [name for (name,) in db.execute(
        "SELECT DISTINCT j.key FROM customers, json_each(customers.attributes) j "
        "ORDER BY j.key")]


# -- one contact ----------------------------------------------------------------------

_CUSTOMER = ("SELECT phone, name, attributes, source, updated_at, edited, edited_by, "
             "edited_at FROM customers")


def _customer_row(db: sqlite3.Connection, chat: str) -> tuple | None:
    return db.execute(
        f"{_CUSTOMER} cu WHERE cu.phone = ? OR cu.phone IN (SELECT identifier FROM identities "
        "WHERE chat = ? AND kind = 'wa_id') ORDER BY cu.position DESC LIMIT 1",
        (chat, chat)).fetchone()


def _contact_times(db: sqlite3.Connection, key: str) -> tuple[str | None, str | None]:
    first = db.execute("SELECT timestamp FROM messages WHERE phone = ? ORDER BY ts, position "
                       "LIMIT 1", (key,)).fetchone()
    last = db.execute("SELECT timestamp FROM messages WHERE phone = ? ORDER BY ts DESC, "
                      "position DESC LIMIT 1", (key,)).fetchone()
    return (first[0] if first else None), (last[0] if last else None)


def _opted_out(db: sqlite3.Connection, key: str) -> bool:
    return bool(db.execute(f"SELECT {opted_out_sql('?1')}", (key,)).fetchone()[0])


def _base(db: sqlite3.Connection, key: str, customer: tuple | None) -> dict[str, Any]:
    phone, name, attributes, source, updated_at, edited, edited_by, edited_at = (
        customer or (None, None, "{}", None, None, "[]", None, None))
    first, last = _contact_times(db, key)
    return {"key": key, "customer_phone": phone, "customer_name": name,
            "attributes": json.loads(attributes), "source": source, "updated_at": updated_at,
            "edited": json.loads(edited), "edited_by": edited_by, "edited_at": edited_at,
            "opted_out": _opted_out(db, key), "first_contact": first, "last_contact": last}


def _from_chat(db: sqlite3.Connection, chat: dict[str, Any]) -> dict[str, Any]:
    key = chat["phone"]
    contact = _base(db, key, _customer_row(db, key))
    known = chat["identifiers"]
    contact.update(
        phone=known.get("wa_id") or (key if identities.kind_of(key) == "wa_id" else None),
        user_id=known.get("user_id"), username=known.get("username"),
        name=chat["name"], profile_name=chat.get("profile_name"),
        customer_name=chat.get("customer_name") or contact["customer_name"],
        labels=chat.get("labels", []), chat=True, status=chat.get("status"),
        assignee=chat.get("assignee"), unread=chat.get("unread", 0),
        window_expires_at=chat.get("window_expires_at"))
    return contact


def _from_customer(db: sqlite3.Connection, phone: str) -> dict[str, Any]:
    contact = _base(db, phone, db.execute(f"{_CUSTOMER} WHERE phone = ?", (phone,)).fetchone())
    contact.update(phone=phone if identities.kind_of(phone) == "wa_id" else None,
                   user_id=None if identities.kind_of(phone) == "wa_id" else phone,
                   username=None, name=contact["customer_name"] or phone, profile_name=None,
                   labels=[], chat=False, status=None, assignee=None, unread=0,
                   window_expires_at=None)
    return contact


def get_contact(db: sqlite3.Connection, key: str, scope: Scope) -> dict[str, Any] | None:
    """The contact of any of its identifiers, or None (none, or hidden from ``scope``)."""
    chat = team_view.visible_chat(db, key, scope)
    if chat is not None:
        return _from_chat(db, chat)
    if team_view.full_chat(db, key) is not None:
        return None  # a chat this agent may not see
    if db.execute("SELECT 1 FROM customers WHERE phone = ?", (key,)).fetchone() is None:
        return None
    return _from_customer(db, key)


def customer_key(db: sqlite3.Connection, key: str) -> tuple[str, str | None]:
    """Which customer row an edit of contact ``key`` writes, and the chat it belongs to
    (None: no chat). A chat's existing row wins (its key or one of its phones), else
    its newest phone, else its own key (a username-only customer)."""
    chat = team_view.full_chat(db, key)
    if chat is None:
        return key, None
    row = _customer_row(db, chat["phone"])
    if row is not None:
        return row[0], chat["phone"]
    return chat["identifiers"].get("wa_id") or chat["phone"], chat["phone"]
