"""The ``messages`` projection: one row per message in a thread, with its fate.

Status only moves forward (``sent < delivered < read < played``; ``failed`` is final),
whatever order Meta's webhooks arrive in. Anything naming a message we have not seen
yet (a status that beats the send's answer, a reaction to an unknown message) waits in
``pending_by_wamid`` and is applied the moment that message appears. Statuses of
messages sent from other apps on the same number never find theirs, so a waiting row
expires ``CRM_PENDING_STATUS_DAYS`` after its event, in event time (never the clock):
each status or message folded drops the rows older than its own time minus that many
days, so replay reaches the same rows.

A status's ``pricing`` (what Meta bills for the message: ``category``, ``billable``,
``type``, ``pricing_model``) is kept on the message; Meta sends it on one status only.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.events import RecordedEvent, epoch_seconds
from crm.projections import identities
from crm.projections.base import Handler, Projection
from crm.projections.transaction import Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id         TEXT PRIMARY KEY,
    wamid      TEXT UNIQUE,
    phone      TEXT NOT NULL,
    direction  TEXT NOT NULL,
    type       TEXT NOT NULL,
    text       TEXT,
    caption    TEXT,
    media      TEXT,
    timestamp  TEXT NOT NULL,
    ts         INTEGER NOT NULL,
    status     TEXT NOT NULL,
    error      TEXT,
    reply_to   TEXT,
    reactions  TEXT NOT NULL DEFAULT '[]',
    agent      TEXT,
    extra      TEXT NOT NULL DEFAULT '{}',
    position   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages(phone, ts, position);
CREATE TABLE IF NOT EXISTS pending_by_wamid (
    wamid    TEXT NOT NULL,
    position INTEGER NOT NULL,
    ts       INTEGER NOT NULL,
    PRIMARY KEY (wamid, position)
);
CREATE INDEX IF NOT EXISTS pending_by_time ON pending_by_wamid(ts);
"""

#: The parts of a status's ``pricing`` the thread shows.
PRICING_FIELDS = ("category", "billable", "type", "pricing_model")
DAY_MS = 86_400_000

#: Forward order of delivery statuses; ``failed`` is handled apart as final.
STATUS_RANK = {"received": 0, "queued": 0, "unknown": 0, "sent": 1, "delivered": 2,
               "read": 3, "played": 4}

#: Inbound types that annotate another message instead of standing in the thread.
ANNOTATIONS = frozenset({"reaction", "edit", "revoke"})

_INBOUND_CORE = frozenset({"phone", "wamid", "message_type", "text", "caption", "media",
                           "profile_name", "reply_to_wamid", "raw"})

#: Who sent a ``message.echoed``: the business, from the WhatsApp Business app.
BUSINESS_APP = "WhatsApp Business app"


def _ms(moment: str) -> int:
    return int(epoch_seconds(moment) * 1000)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _id_for_wamid(tx: Transaction, wamid: str | None) -> str | None:
    if not wamid:
        return None
    return tx.fetchval("SELECT id FROM messages WHERE wamid = ?", (wamid,))


def _wait_for(tx: Transaction, wamid: str, event: RecordedEvent) -> None:
    _expire(tx, event)
    tx.execute(
        "INSERT OR IGNORE INTO pending_by_wamid (wamid, position, ts) VALUES (?, ?, ?)",
        (wamid, event.position, _ms(event.occurred_at)),
    )


def _expire(tx: Transaction, event: RecordedEvent) -> None:
    """Drop waiting rows older than this event's time minus the pending days."""
    horizon = _ms(event.occurred_at) - tx.options.pending_status_days * DAY_MS
    tx.execute("DELETE FROM pending_by_wamid WHERE ts < ?", (horizon,))


def _release(tx: Transaction, wamid: str) -> None:
    """Apply, in log order, whatever was waiting for this wamid to appear."""
    rows = tx.fetchall(
        "SELECT position FROM pending_by_wamid WHERE wamid = ? ORDER BY position", (wamid,))
    if not rows:
        return
    tx.execute("DELETE FROM pending_by_wamid WHERE wamid = ?", (wamid,))
    for (position,) in rows:
        event = tx.events.get(position)
        if event is None:
            continue
        handler = HANDLERS.get(event.type)
        if handler is not None:
            handler(event, tx)


def merge_chats(event: RecordedEvent, tx: Transaction) -> None:
    """Chats the identities projection merged at this event: one thread, in time order
    (the thread is read by Meta's timestamps, so moving the rows is enough)."""
    for absorbed, into in identities.merged_at(tx, event.position):
        tx.execute("UPDATE messages SET phone = ? WHERE phone = ?", (into, absorbed))


def on_received(event: RecordedEvent, tx: Transaction) -> None:
    merge_chats(event, tx)
    _insert(event, tx, "in", "received", None)


def on_echoed(event: RecordedEvent, tx: Transaction) -> None:
    """What the business typed in the WhatsApp Business app: outbound, already sent."""
    merge_chats(event, tx)
    _insert(event, tx, "out", "sent", BUSINESS_APP)


def _insert(event: RecordedEvent, tx: Transaction, direction: str, status: str,
            agent: str | None) -> None:
    data = event.data
    _expire(tx, event)
    kind = data.get("message_type", "unknown")
    if kind in ANNOTATIONS:
        _annotate(event, tx, kind)
        return
    extra = {k: v for k, v in data.items() if k not in _INBOUND_CORE}
    if kind == "unknown" and data.get("raw") is not None:
        extra["raw"] = data["raw"]
    tx.execute(
        "INSERT OR IGNORE INTO messages (id, wamid, phone, direction, type, text, caption, "
        "media, timestamp, ts, status, reply_to, agent, extra, position) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event.id, data["wamid"], identities.chat_of(tx, data["phone"]), direction, kind,
         data.get("text"), data.get("caption"),
         _dumps(_inbound_media(data.get("media"))), event.occurred_at, _ms(event.occurred_at),
         status, _id_for_wamid(tx, data.get("reply_to_wamid")), agent,
         _dumps(extra) if extra else "{}", event.position),
    )
    _release(tx, data["wamid"])


def _inbound_media(media: Any) -> Any:
    """A webhook's media object for the thread: Meta's own download ``url`` (which
    needs our token and expires in minutes) is kept as ``meta_url``; ``url`` is only
    ever ours (``/media/<id>``), set by ``media.stored``."""
    if not isinstance(media, dict) or "url" not in media:
        return media
    media = dict(media)
    media["meta_url"] = media.pop("url")
    return media


def _annotate(event: RecordedEvent, tx: Transaction, kind: str) -> None:
    data = event.data
    body = data.get(kind) or {}
    target = body.get("message_id") if kind == "reaction" else body.get("original_message_id")
    if not target:
        return
    row = tx.fetchone("SELECT id, reactions, extra FROM messages WHERE wamid = ?", (target,))
    if row is None:
        _wait_for(tx, target, event)
        return
    message_id, reactions_text, extra_text = row
    if kind == "reaction":
        sender = data["phone"]
        reactions = [r for r in json.loads(reactions_text) if r.get("from") != sender]
        if body.get("emoji"):
            reactions.append({"emoji": body["emoji"], "from": sender})
        tx.execute("UPDATE messages SET reactions = ? WHERE id = ?",
                   (_dumps(reactions), message_id))
        return
    extra = json.loads(extra_text)
    if kind == "edit":
        previous = extra.get("edited")
        if previous and _ms(previous["at"]) > _ms(event.occurred_at):
            return  # an older edit delivered late: the newer text stays
        new = body.get("message") or {}
        new_type = new.get("type")
        content = new.get(new_type) if isinstance(new_type, str) else None
        text = None
        if isinstance(content, dict):
            text = content.get("body") or content.get("caption")
        extra["edited"] = {"text": text, "at": event.occurred_at, "message": new}
    else:
        extra["revoked"] = {"at": event.occurred_at}
    tx.execute("UPDATE messages SET extra = ? WHERE id = ?", (_dumps(extra), message_id))


def _set_status(tx: Transaction, message_id: str, current: str, status: str,
                error: Any = None) -> None:
    if current == "failed":
        return
    if status == "failed":
        tx.execute("UPDATE messages SET status = 'failed', error = ? WHERE id = ?",
                   (_dumps(error), message_id))
    elif STATUS_RANK.get(status, -1) > STATUS_RANK.get(current, 0):
        tx.execute("UPDATE messages SET status = ? WHERE id = ?", (status, message_id))


def on_status(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    row = tx.fetchone("SELECT id, status, extra FROM messages WHERE wamid = ?",
                      (data["wamid"],))
    if row is None:
        _wait_for(tx, data["wamid"], event)
        return
    _expire(tx, event)
    _set_status(tx, row[0], row[1], data["status"], data.get("error"))
    pricing = _pricing(data)
    if pricing:
        extra = json.loads(row[2]) if row[2] else {}
        if extra.get("pricing") == pricing:
            return  # Meta repeats it on every status: the row already says so
        extra["pricing"] = pricing
        tx.execute("UPDATE messages SET extra = ? WHERE id = ?", (_dumps(extra), row[0]))


def _pricing(data: dict[str, Any]) -> dict[str, Any] | None:
    """Meta's ``pricing`` of a status (from ``raw``, so logs older than this read it too),
    its documented fields only, each a string or a boolean."""
    raw = data.get("raw")
    pricing = raw.get("pricing") if isinstance(raw, dict) else None
    if not isinstance(pricing, dict):
        return None
    kept = {k: pricing[k] for k in PRICING_FIELDS
            if isinstance(pricing.get(k), str | bool) and pricing[k] != ""}
    return kept or None


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    extra: dict[str, Any] = {"template": data["template"]} if data.get("template") else {}
    if data.get("automation"):  # a rule's message: the thread says which rule sent it
        extra["automation"] = data["automation"]
    if data.get("campaign"):  # the thread shows the campaign above the customer's reply
        extra["campaign"] = {"id": data["campaign"], "name": data.get("campaign_name")}
    tx.execute(
        "INSERT OR IGNORE INTO messages (id, phone, direction, type, text, caption, media, "
        "timestamp, ts, status, reply_to, agent, extra, position) "
        "VALUES (?, ?, 'out', ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
        (data["message_id"], identities.chat_of(tx, data["phone"]), data["message_type"],
         data.get("text"),
         data.get("caption"), _dumps(data.get("media")), event.occurred_at,
         _ms(event.occurred_at), data.get("reply_to"), data.get("agent"),
         _dumps(extra) or "{}", event.position),
    )


def on_sent(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    row = tx.fetchone("SELECT status FROM messages WHERE id = ?", (data["message_id"],))
    if row is None:
        return
    # OR IGNORE: a wamid Meta already gave another message keeps naming that one.
    tx.execute("UPDATE OR IGNORE messages SET wamid = ? WHERE id = ?",
               (data["wamid"], data["message_id"]))
    _set_status(tx, data["message_id"], row[0], "sent")
    _release(tx, data["wamid"])


def on_failed(event: RecordedEvent, tx: Transaction) -> None:
    data = event.data
    row = tx.fetchone("SELECT status FROM messages WHERE id = ?", (data["message_id"],))
    if row is not None:
        _set_status(tx, data["message_id"], row[0], "failed", data.get("error"))


def on_unknown(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute(
        "UPDATE messages SET status = 'unknown', error = ? WHERE id = ? AND status = 'queued'",
        (_dumps({"code": "unknown_fate", "title": "Fate unknown",
                 "message": event.data.get("reason")}), event.data["message_id"]),
    )


def on_retry(event: RecordedEvent, tx: Transaction) -> None:
    """An agent sends a failed or unknown-fate message again: it is queued once more."""
    tx.execute(
        "UPDATE messages SET status = 'queued', error = NULL "
        "WHERE id = ? AND status IN ('failed', 'unknown')",
        (event.data["message_id"],),
    )


def _update_media(tx: Transaction, message_id: str, changes: dict[str, Any],
                  drop: str) -> None:
    row = tx.fetchone("SELECT media FROM messages WHERE id = ?", (message_id,))
    if row is None:
        return
    media = json.loads(row[0]) if row[0] else {}
    media.pop(drop, None)
    media.update(changes)
    tx.execute("UPDATE messages SET media = ? WHERE id = ?", (_dumps(media), message_id))


def on_media_stored(event: RecordedEvent, tx: Transaction) -> None:
    """The customer's file is kept: the thread links to our copy."""
    data = event.data
    _update_media(tx, data["message_id"], {
        "url": f"/media/{data['sha256']}", "sha256": data["sha256"], "size": data["size"],
        "mime_type": data["mime_type"]}, drop="error")


def on_media_failed(event: RecordedEvent, tx: Transaction) -> None:
    """The file could not be kept: the thread says why."""
    _update_media(tx, event.data["message_id"], {"error": event.data["reason"]}, drop="url")


HANDLERS: dict[str, Handler] = {
    "customer.linked": merge_chats,
    "message.received": on_received,
    "message.echoed": on_echoed,
    "message.status": on_status,
    "message.queued": on_queued,
    "message.sent": on_sent,
    "message.failed": on_failed,
    "message.unknown": on_unknown,
    "message.retry": on_retry,
    "media.stored": on_media_stored,
    "media.failed": on_media_failed,
}

PROJECTION = Projection(
    name="messages", version=4, schema=SCHEMA, tables=("messages", "pending_by_wamid"),
    handlers=HANDLERS,
    # The heaviest, folded beside the others during replay, with what it reads:
    # identities (the chat key of each event), then customers and chats.
    replay_group=1,
)

# -- reading --------------------------------------------------------------------------

COLUMNS = ("id, wamid, phone, direction, type, text, caption, media, timestamp, status, "
           "error, reply_to, reactions, agent, extra, ts, position")


def message_from_row(row: sqlite3.Row | tuple) -> dict[str, Any]:
    """The thread's message shape; extra fields never shadow the documented ones."""
    (id_, wamid, phone, direction, kind, text, caption, media, timestamp, status, error,
     reply_to, reactions, agent, extra, _ts, _pos) = row[:17]
    message = json.loads(extra) if extra else {}
    message.update(
        id=id_, wamid=wamid, phone=phone, direction=direction, type=kind, text=text,
        caption=caption, media=json.loads(media) if media else None, timestamp=timestamp,
        status=status, error=json.loads(error) if error else None, reply_to=reply_to,
        reactions=json.loads(reactions), agent=agent,
    )
    return message


def get_message(db: sqlite3.Connection, message_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    return message_from_row(row) if row else None


def list_messages(
    db: sqlite3.Connection, phone: str, limit: int = 50, before: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a thread, oldest first within the page; ``before`` pages back in time.
    ``phone`` may be any identifier of the chat's customer."""
    phone = identities.resolve(db, phone)
    if before:
        ts, position = (int(part) for part in before.split(":", 1))
        rows = db.execute(
            f"SELECT {COLUMNS} FROM messages WHERE phone = ? AND (ts, position) < (?, ?) "
            "ORDER BY ts DESC, position DESC LIMIT ?",
            (phone, ts, position, limit + 1),
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT {COLUMNS} FROM messages WHERE phone = ? "
            "ORDER BY ts DESC, position DESC LIMIT ?",
            (phone, limit + 1),
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1][15]}:{rows[-1][16]}" if more else None
    return [message_from_row(r) for r in reversed(rows)], cursor
