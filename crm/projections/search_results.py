"""Reading the ``search`` projection: a page of matches, newest first, each in the
shape the thread shows it, with where the query matched.

A result names its chat (``phone``, ``name``), its ``kind`` and what it is:
``message`` is the thread item (a message, or a note in the thread's note shape);
``customer`` the customer (for a match on their name, number or attributes).
``field`` says which string ``highlights`` index into, in code points.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from crm.projections import customers, identities, messages, notes
from crm.projections.chats import Condition
from crm.search.highlight import spans
from crm.search.query import Query


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _messages(db: sqlite3.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The thread items (with ``position``) of these message ids."""
    rows = db.execute(f"SELECT {messages.COLUMNS} FROM messages WHERE id IN "
                      f"({_marks(len(ids))})", ids).fetchall() if ids else []
    found = {}
    for row in rows:
        item = messages.message_from_row(row)
        item["position"] = row[16]
        found[item["id"]] = item
    return found


def _chats(db: sqlite3.Connection, keys: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """``key -> (name as the chat list shows it, profile name)`` of the chats that
    exist (the name falls back to the username, then the key, as there)."""
    rows = db.execute("SELECT phone, customer_name, profile_name FROM chats WHERE phone IN "
                      f"({_marks(len(keys))})", keys).fetchall() if keys else []
    known = identities.identifiers(db, [row[0] for row in rows])
    return {key: (customer or profile or known[key].get("username") or key, profile)
            for key, customer, profile in rows}


def _message_fields(message: dict[str, Any]) -> list[tuple[str, str | None]]:
    edited = message.get("edited") or {}
    media = message.get("media") or {}
    return [("text", message.get("text")), ("caption", message.get("caption")),
            ("edited", edited.get("text") if isinstance(edited, dict) else None),
            ("file_name", media.get("filename") if isinstance(media, dict) else None)]


def _customer_fields(customer: dict[str, Any]) -> list[tuple[str, str | None]]:
    fields: list[tuple[str, str | None]] = [
        ("customer.name", customer.get("name")),
        ("customer.profile_name", customer.get("profile_name")),
        ("customer.phone", customer.get("phone"))]
    for key, value in sorted((customer.get("attributes") or {}).items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        fields.append((f"customer.attributes.{key}", text))
    return fields


def _highlight(fields: list[tuple[str, str | None]], query: Query
               ) -> tuple[str | None, list[list[int]]]:
    """The first field the query is found in, and where."""
    for name, text in fields:
        found = spans(text, query)
        if found:
            return name, found
    return None, []


def _customer(db: sqlite3.Connection, key: str, profile: str | None) -> dict[str, Any]:
    row = customers.get_customer(db, key) or {}
    return {"phone": key, "name": row.get("name"), "profile_name": profile,
            "attributes": row.get("attributes") or {}}


def search(db: sqlite3.Connection, query: Query, *, phone: str | None = None,
           before: int | None = None, limit: int = 20,
           conditions: Sequence[Condition] = ()) -> tuple[list[dict[str, Any]], str | None]:
    """A page of matches, newest first; ``conditions`` (the agent's scope) name the chat
    key ``c.phone``, as they do on the chat list."""
    if query.empty:
        return [], None
    where = ["search_index MATCH ?"]
    params: list[Any] = [query.match(identities.resolve(db, phone) if phone else None)]
    if before is not None:
        where.append("search_index.rowid < ?")
        params.append(before)
    where += [sql for sql, _ in conditions]
    params += [value for _, values in conditions for value in values]
    rows = db.execute(
        "SELECT c.id, c.kind, c.ref, c.phone FROM search_index "
        "JOIN search_docs c ON c.id = search_index.rowid "
        f"WHERE {' AND '.join(where)} ORDER BY search_index.rowid DESC LIMIT ?",
        (*params, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    names = _chats(db, list(dict.fromkeys(row[3] for row in rows)))
    found = _messages(db, [row[2] for row in rows if row[1] == "message"])
    results = []
    for _id, kind, ref, chat_key in rows:
        name, profile = names.get(chat_key, (None, None))
        result: dict[str, Any] = {"phone": chat_key, "kind": kind, "message": None,
                                  "customer": None}
        if kind == "customer":
            result["customer"] = _customer(db, ref, profile)
            fields = _customer_fields(result["customer"])
            name = name or result["customer"]["name"]
        else:
            item = found.get(ref) if kind == "message" else notes.get_note(db, ref)
            if item is None:
                continue
            result["message"] = item
            fields = _message_fields(item) if kind == "message" else [("text", item["text"])]
        result["field"], result["highlights"] = _highlight(fields, query)
        result["name"] = name or chat_key
        results.append(result)
    return results, str(rows[-1][0]) if more else None
