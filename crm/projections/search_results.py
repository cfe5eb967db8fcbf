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

from crm.projections import chats, customers, identities, messages, notes
from crm.projections.chats import Condition
from crm.search.highlight import spans
from crm.search.query import Query


def _message(db: sqlite3.Connection, message_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {messages.COLUMNS} FROM messages WHERE id = ?",
                     (message_id,)).fetchone()
    if row is None:
        return None
    item = messages.message_from_row(row)
    item["position"] = row[16]
    return item


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


def _customer(db: sqlite3.Connection, key: str, chat: dict[str, Any] | None
              ) -> dict[str, Any]:
    row = customers.get_customer(db, key) or {}
    return {"phone": key, "name": row.get("name"),
            "profile_name": chat.get("profile_name") if chat else None,
            "attributes": row.get("attributes") or {}}


def search(db: sqlite3.Connection, query: Query, *, phone: str | None = None,
           before: int | None = None, limit: int = 20,
           conditions: Sequence[Condition] = ()) -> tuple[list[dict[str, Any]], str | None]:
    """A page of matches, newest first; ``conditions`` (the agent's scope) name the chat
    key ``c.phone``, as they do on the chat list."""
    if query.empty:
        return [], None
    where = ["search_index MATCH ?"]
    params: list[Any] = [query.match()]
    if before is not None:
        where.append("search_index.rowid < ?")
        params.append(before)
    if phone:
        where.append("c.phone = ?")
        params.append(identities.resolve(db, phone))
    where += [sql for sql, _ in conditions]
    params += [value for _, values in conditions for value in values]
    rows = db.execute(
        "SELECT c.id, c.kind, c.ref, c.phone FROM search_index "
        "JOIN search_docs c ON c.id = search_index.rowid "
        f"WHERE {' AND '.join(where)} ORDER BY search_index.rowid DESC LIMIT ?",
        (*params, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    found: dict[str, dict[str, Any] | None] = {}
    results = []
    for _id, kind, ref, chat_key in rows:
        if chat_key not in found:
            found[chat_key] = chats.get_chat(db, chat_key)
        chat = found[chat_key]
        result: dict[str, Any] = {"phone": chat_key, "kind": kind, "message": None,
                                  "customer": None}
        if kind == "customer":
            result["customer"] = _customer(db, ref, chat)
            fields = _customer_fields(result["customer"])
        else:
            item = _message(db, ref) if kind == "message" else notes.get_note(db, ref)
            if item is None:
                continue
            result["message"] = item
            fields = _message_fields(item) if kind == "message" else [("text", item["text"])]
        result["field"], result["highlights"] = _highlight(fields, query)
        name = chat["name"] if chat else None
        if name is None and result["customer"] is not None:
            name = result["customer"]["name"]
        result["name"] = name or chat_key
        results.append(result)
    return results, str(rows[-1][0]) if more else None
