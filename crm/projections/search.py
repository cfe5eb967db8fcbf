"""The ``search`` projection: every message's words, notes and customers, in an FTS5
index.

``search_docs`` holds one row per findable thing (a message, a note, a customer) with
its text as the index holds it (``crm.search.text.prepare``: CJK runs as bigrams) and
its chat as one token (``chat``: a search within one chat is an index lookup too);
``search_index`` is an FTS5 index over those columns (external content: the text is
stored once, in ``search_docs``, which replay compares row by row). Handlers keep
the two in step: a row is deleted from the index with the values it was indexed with,
then indexed again with its new ones.

A message's row is derived from its ``messages`` row (which this projection runs
after): the text or caption, the edited text beside the original, a document's file
name; a revoked message has none. An edit or revoke that arrives before its message
waits in ``messages`` and is applied when the message appears, so reading the row then
sees it. A row's ``id`` is its creating event's position times four plus its kind: the
index's rowid, so newest first is ``ORDER BY rowid DESC`` and the cursor is an id.
"""

from __future__ import annotations

import json
from typing import Any

from crm.events import RecordedEvent
from crm.projections import chats, identities
from crm.projections.base import Projection
from crm.projections.transaction import Transaction
from crm.search.text import chat_token, prepare_all

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_docs (
    id     INTEGER PRIMARY KEY,
    kind   TEXT NOT NULL,
    ref    TEXT NOT NULL,
    phone  TEXT NOT NULL,
    body   TEXT NOT NULL,
    edits  TEXT NOT NULL,
    file   TEXT NOT NULL,
    other  TEXT NOT NULL,
    chat   TEXT NOT NULL,
    profile TEXT,
    UNIQUE (kind, ref)
);
CREATE INDEX IF NOT EXISTS search_docs_by_phone ON search_docs(phone);
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
    body, edits, file, other, chat, content='search_docs', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
"""

#: The kinds of rows, and the offset each adds to its id (one event may make several).
KINDS = {"message": 0, "note": 1, "customer": 2}

_DOC = ("SELECT id, body, edits, file, other, chat, profile FROM search_docs "
        "WHERE kind = ? AND ref = ?")
_UNINDEX = ("INSERT INTO search_index (search_index, rowid, body, edits, file, other, chat) "
            "VALUES ('delete', ?, ?, ?, ?, ?, ?)")
_INDEX = ("INSERT INTO search_index (rowid, body, edits, file, other, chat) "
          "VALUES (?, ?, ?, ?, ?, ?)")


def _put(tx: Transaction, kind: str, ref: str, phone: str, position: int,
         texts: tuple[str, str, str, str] | None, *, profile: str | None = None,
         new: bool = False) -> None:
    """Make the row of ``(kind, ref)`` hold ``texts`` (None: the row goes). ``new``:
    the event made the thing itself (a message's first event), so it has no row yet."""
    row = None if new else tx.fetchone(_DOC, (kind, ref))
    if row is not None:
        if texts is not None and tuple(row[1:5]) == texts and row[6] == profile:
            return
        tx.execute(_UNINDEX, row[:6])
        if texts is None:
            tx.execute("DELETE FROM search_docs WHERE id = ?", (row[0],))
            return
        tx.execute("UPDATE search_docs SET body = ?, edits = ?, file = ?, other = ?, "
                   "profile = ? WHERE id = ?", (*texts, profile, row[0]))
        tx.execute(_INDEX, (row[0], *texts, row[5]))
        return
    if texts is None or not any(texts):
        return
    chat = chat_token(phone)
    # OR IGNORE: a row already there (it cannot be, for a new thing) is left alone.
    made = tx.fetchval(
        "INSERT OR IGNORE INTO search_docs (id, kind, ref, phone, body, edits, file, other, "
        "chat, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (position * 4 + KINDS[kind], kind, ref, phone, *texts, chat, profile))
    if made is not None:
        tx.execute(_INDEX, (made, *texts, chat))


# -- messages -------------------------------------------------------------------------

_MESSAGE = ("SELECT id, phone, text, caption, media, extra, position FROM messages "
            "WHERE {} = ?")


def message_texts(text: str | None, caption: str | None, media: dict[str, Any] | None,
                  extra: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """What a message is found by; None once it was revoked."""
    if extra.get("revoked"):
        return None
    edited = extra.get("edited") or {}
    filename = media.get("filename") if isinstance(media, dict) else None
    return (prepare_all([text, caption]), prepare_all([edited.get("text")]),
            prepare_all([filename if isinstance(filename, str) else None]), "")


def _refresh_message(tx: Transaction, column: str, value: str | None, *,
                     new: bool = False) -> None:
    if not value:
        return
    row = tx.fetchone(_MESSAGE.format(column), (value,))
    if row is None:
        return  # an edit or revoke waiting for its message (messages keeps it)
    message_id, phone, text, caption, media, extra, position = row
    texts = message_texts(text, caption, json.loads(media) if media else None,
                          json.loads(extra) if extra else {})
    _put(tx, "message", message_id, phone, position, texts, new=new)


def _merge(event: RecordedEvent, tx: Transaction) -> None:
    """Chats merged at this event: their rows follow (as in ``messages``, ``notes``),
    indexed again under the chat they joined."""
    for absorbed, into in identities.merged_at(tx, event.position):
        chat = chat_token(into)
        for row in tx.fetchall("SELECT id, body, edits, file, other, chat FROM search_docs "
                               "WHERE phone = ?", (absorbed,)):
            tx.execute(_UNINDEX, row)
            tx.execute("UPDATE search_docs SET phone = ?, chat = ? WHERE id = ?",
                       (into, chat, row[0]))
            tx.execute(_INDEX, (*row[:5], chat))


def on_message(event: RecordedEvent, tx: Transaction) -> None:
    _merge(event, tx)
    data = event.data
    kind = data.get("message_type")
    if kind in ("edit", "revoke"):
        body = data.get(kind) or {}
        _refresh_message(tx, "wamid", body.get("original_message_id"))
    elif kind != "reaction":
        _refresh_message(tx, "id", event.id, new=True)
    _refresh_customer(tx, identities.chat_of(tx, data["phone"]), event.position,
                      profile=chats.profile_name(data))


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    _refresh_message(tx, "id", event.data["message_id"], new=True)
    _refresh_customer(tx, identities.chat_of(tx, event.data["phone"]), event.position)


# -- notes and customers --------------------------------------------------------------

def on_note(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    _put(tx, "note", data["note_id"], identities.chat_of(tx, data["phone"]), event.position,
         (prepare_all([data["text"]]), "", "", ""))


def customer_texts(key: str, name: str | None, profile: str | None,
                   attributes: dict[str, Any]) -> tuple[str, str, str, str]:
    values = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
              for _, v in sorted(attributes.items()) if v not in (None, "")]
    return (prepare_all([name, profile]), "", "", prepare_all([key, *values]))


def _refresh_customer(tx: Transaction, key: str, position: int, *,
                      profile: str | None = None, changed: bool = False) -> None:
    """The row of the customer known by ``key`` (a chat key, or a number on the
    customer list): the list's name and attributes, WhatsApp's profile name (kept
    beside the row, so a message repeating the name it has is one lookup). ``changed``:
    the customer list's row changed."""
    if not changed:
        row = tx.fetchone("SELECT profile FROM search_docs WHERE kind = 'customer' "
                          "AND ref = ?", (key,))
        if row is not None and (profile is None or row[0] == profile):
            return
    customer = tx.fetchone("SELECT name, attributes FROM customers WHERE phone = ?", (key,))
    shown = tx.fetchval("SELECT profile_name FROM chats WHERE phone = ?", (key,))
    name, attributes = customer if customer else (None, "{}")
    _put(tx, "customer", key, identities.chat_of(tx, key), position,
         customer_texts(key, name, shown, json.loads(attributes)), profile=shown)


def on_customer(event: RecordedEvent, tx: Transaction) -> None:
    _refresh_customer(tx, event.data["phone"], event.position, changed=True)


PROJECTION = Projection(
    name="search", version=1, schema=SCHEMA, tables=("search_docs", "search_index"),
    # Reads identities, messages, chats and customers: their group, and after them.
    replay_group=1,
    handlers={
        "customer.linked": _merge,
        "customer.updated": on_customer,
        "message.received": on_message,
        "message.echoed": on_message,
        "message.queued": on_queued,
        "note.added": on_note,
    },
)
