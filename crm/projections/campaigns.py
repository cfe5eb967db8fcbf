"""The ``campaigns`` projection: each campaign's state and its recipients' fates.

One row per campaign and one per recipient (from ``campaign.audience``). A recipient
moves ``pending`` → ``queued`` (its ``message.queued``) → ``sent`` → ``delivered`` →
``read``, or ends ``failed``, ``unknown`` (in flight when a process died, or Meta
did not answer: not sent again) or ``skipped`` (``campaign.skipped``). The funnel's
counts are cumulative (a read message was also sent and delivered); ``replied`` is
any inbound message within 72 hours after the campaign message was delivered.

Statuses find their recipient by our message id (Meta echoes it in
``biz_opaque_callback_data``) or by wamid. Times are the events' own, so replay
reaches the same rows. The sending itself is ``crm.campaigns.worker``, never here.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from crm.events import RecordedEvent, epoch_seconds
from crm.projections.base import Projection
from crm.projections.transaction import Transaction

REPLY_WINDOW_MS = 72 * 3600 * 1000
#: Meta's throughput limit: the worker slows the whole campaign when it counts one.
THROUGHPUT = 130429

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    state        TEXT NOT NULL,
    template     TEXT NOT NULL,
    category     TEXT,
    audience     TEXT NOT NULL,
    variables    TEXT NOT NULL,
    schedule_at  TEXT,
    rate         REAL,
    size         INTEGER NOT NULL,
    agent        TEXT,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    throttled    INTEGER NOT NULL DEFAULT 0,
    position     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_recipients (
    campaign_id  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    phone        TEXT NOT NULL,
    status       TEXT NOT NULL,
    message_id   TEXT,
    wamid        TEXT,
    code         TEXT,
    error        TEXT,
    sent_at      TEXT,
    delivered_ms INTEGER,
    read_at      TEXT,
    replied_at   TEXT,
    PRIMARY KEY (campaign_id, phone)
);
CREATE INDEX IF NOT EXISTS campaign_recipients_next
    ON campaign_recipients(campaign_id, status, seq);
CREATE INDEX IF NOT EXISTS campaign_recipients_message ON campaign_recipients(message_id);
CREATE INDEX IF NOT EXISTS campaign_recipients_wamid ON campaign_recipients(wamid);
CREATE INDEX IF NOT EXISTS campaign_recipients_phone ON campaign_recipients(phone);
"""

RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


def _json(value: Any) -> str:
    """Stored JSON, keys sorted: the log's data reads back in its own key order."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _ms(moment: str) -> int:
    return int(epoch_seconds(moment) * 1000)


def on_created(event: RecordedEvent, tx: Transaction) -> None:
    d = event.data
    tx.execute(
        "INSERT OR IGNORE INTO campaigns (id, name, state, template, category, audience, "
        "variables, schedule_at, rate, size, agent, created_at, position) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (d["campaign_id"], d["name"], "scheduled" if d.get("schedule_at") else "draft",
         _json(d["template"]), d.get("category"), _json(d.get("audience") or {}),
         _json(d.get("variables") or {}), d.get("schedule_at"), d.get("rate"),
         d.get("size") or 0, d.get("agent"), event.occurred_at, event.position))


def on_audience(event: RecordedEvent, tx: Transaction) -> None:
    d = event.data
    tx.executemany(
        "INSERT OR IGNORE INTO campaign_recipients (campaign_id, seq, phone, status) "
        "VALUES (?, ?, ?, 'pending')",
        [(d["campaign_id"], d["offset"] + i, phone) for i, phone in enumerate(d["phones"])])


def _state(event: RecordedEvent, tx: Transaction, state: str, allowed: tuple[str, ...]) -> None:
    tx.execute(f"UPDATE campaigns SET state = ? WHERE id = ? AND state IN "
               f"({','.join('?' * len(allowed))})",
               (state, event.data["campaign_id"], *allowed))


def on_started(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("UPDATE campaigns SET state = 'running', started_at = ? "
               "WHERE id = ? AND state IN ('draft', 'scheduled')",
               (event.occurred_at, event.data["campaign_id"]))


def on_paused(event: RecordedEvent, tx: Transaction) -> None:
    _state(event, tx, "paused", ("running",))


def on_resumed(event: RecordedEvent, tx: Transaction) -> None:
    _state(event, tx, "running", ("paused",))


def on_cancelled(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("UPDATE campaigns SET state = 'cancelled', finished_at = ? "
               "WHERE id = ? AND state NOT IN ('done', 'cancelled')",
               (event.occurred_at, event.data["campaign_id"]))


def on_finished(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("UPDATE campaigns SET state = 'done', finished_at = ? "
               "WHERE id = ? AND state = 'running'",
               (event.occurred_at, event.data["campaign_id"]))


def on_skipped(event: RecordedEvent, tx: Transaction) -> None:
    d = event.data
    tx.execute("UPDATE campaign_recipients SET status = 'skipped', code = ?, error = ? "
               "WHERE campaign_id = ? AND phone = ? AND status = 'pending'",
               (d["reason"], d.get("attribute"), d["campaign_id"], d["phone"]))


def on_queued(event: RecordedEvent, tx: Transaction) -> None:
    d = event.data
    if not d.get("campaign"):
        return
    if event.type == "message.retry":  # an agent sent a failed one again
        tx.execute("UPDATE campaign_recipients SET status = 'queued', code = NULL, "
                   "error = NULL WHERE message_id = ? AND status IN ('failed', 'unknown')",
                   (d["message_id"],))
        return
    tx.execute("UPDATE campaign_recipients SET status = 'queued', message_id = ? "
               "WHERE campaign_id = ? AND phone = ? AND status = 'pending'",
               (d["message_id"], d["campaign"], d["phone"]))


def on_sent(event: RecordedEvent, tx: Transaction) -> None:
    d = event.data
    tx.execute("UPDATE campaign_recipients SET wamid = ?, sent_at = COALESCE(sent_at, ?), "
               "status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END "
               "WHERE message_id = ?", (d["wamid"], event.occurred_at, d["message_id"]))


def _fail(tx: Transaction, message_id: str, error: Any) -> None:
    code = error.get("code") if isinstance(error, dict) else None
    text = _json(error) if error is not None else None
    tx.execute("UPDATE campaign_recipients SET status = 'failed', code = ?, error = ? "
               "WHERE message_id = ? AND status NOT IN ('failed', 'skipped')",
               (None if code is None else str(code), text, message_id))
    if code == THROUGHPUT:
        _throttled(tx, message_id)


def _throttled(tx: Transaction, message_id: str) -> None:
    tx.execute("UPDATE campaigns SET throttled = throttled + 1 WHERE id = "
               "(SELECT campaign_id FROM campaign_recipients WHERE message_id = ?)",
               (message_id,))


def on_failed(event: RecordedEvent, tx: Transaction) -> None:
    _fail(tx, event.data["message_id"], event.data.get("error"))


def on_unknown(event: RecordedEvent, tx: Transaction) -> None:
    tx.execute("UPDATE campaign_recipients SET status = 'unknown', error = ? "
               "WHERE message_id = ? AND status = 'queued'",
               (event.data.get("reason"), event.data["message_id"]))


def on_retrying(event: RecordedEvent, tx: Transaction) -> None:
    error = event.data.get("error")
    if isinstance(error, dict) and error.get("code") == THROUGHPUT:
        _throttled(tx, event.data["message_id"])


def on_status(event: RecordedEvent, tx: Transaction) -> None:
    d = event.data
    opaque = d.get("biz_opaque_callback_data")
    if isinstance(opaque, str) and opaque:
        row = tx.fetchone("SELECT campaign_id, phone, status FROM campaign_recipients "
                          "WHERE message_id = ?", (opaque,))
    else:
        row = None
    if row is None:
        row = tx.fetchone("SELECT campaign_id, phone, status FROM campaign_recipients "
                          "WHERE wamid = ?", (d["wamid"],))
    if row is None:
        return
    campaign_id, phone, current = row
    where = "WHERE campaign_id = ? AND phone = ?"
    state = d.get("status")
    if state == "failed":
        tx.execute("UPDATE campaign_recipients SET status = 'failed', code = ?, error = ? "
                   f"{where} AND status != 'failed'",
                   (_code_text(d.get("error")), _json(d.get("error")), campaign_id, phone))
        return
    if state not in RANK:
        return
    at, ms = event.occurred_at, _ms(event.occurred_at)
    tx.execute(f"UPDATE campaign_recipients SET sent_at = COALESCE(sent_at, ?) {where}",
               (at, campaign_id, phone))
    if RANK[state] >= RANK["delivered"]:
        tx.execute("UPDATE campaign_recipients SET delivered_ms = COALESCE(delivered_ms, ?) "
                   f"{where}", (ms, campaign_id, phone))
    if state == "read":
        tx.execute(f"UPDATE campaign_recipients SET read_at = COALESCE(read_at, ?) {where}",
                   (at, campaign_id, phone))
    # A status of a message whose fate was unknown (in flight at a crash) proves it
    # reached Meta: it is sent after all (and stays unsent again).
    if current == "unknown" or (current in RANK and RANK[state] > RANK[current]):
        tx.execute(f"UPDATE campaign_recipients SET status = ? {where}",
                   (state, campaign_id, phone))


def _code_text(error: Any) -> str | None:
    code = error.get("code") if isinstance(error, dict) else None
    return None if code is None else str(code)


def on_received(event: RecordedEvent, tx: Transaction) -> None:
    if event.data.get("imported"):
        return
    ms = _ms(event.occurred_at)
    tx.execute("UPDATE campaign_recipients SET replied_at = ? WHERE phone = ? "
               "AND replied_at IS NULL AND delivered_ms IS NOT NULL AND delivered_ms <= ? "
               "AND delivered_ms >= ?",
               (event.occurred_at, event.data["phone"], ms + 999, ms - REPLY_WINDOW_MS))


PROJECTION = Projection(
    name="campaigns", version=1, schema=SCHEMA,
    tables=("campaigns", "campaign_recipients"),
    # Every message event finds its recipient by message id, wamid or phone.
    fold_indexes=("campaign_recipients_message", "campaign_recipients_wamid",
                  "campaign_recipients_phone"),
    handlers={
        "campaign.created": on_created, "campaign.audience": on_audience,
        "campaign.started": on_started, "campaign.paused": on_paused,
        "campaign.resumed": on_resumed, "campaign.cancelled": on_cancelled,
        "campaign.finished": on_finished, "campaign.skipped": on_skipped,
        "message.queued": on_queued, "message.retry": on_queued,
        "message.sent": on_sent, "message.failed": on_failed,
        "message.unknown": on_unknown, "message.retrying": on_retrying,
        "message.status": on_status, "message.received": on_received,
    },
)

# -- reading --------------------------------------------------------------------------

_COLUMNS = ("id, name, state, template, category, audience, variables, schedule_at, rate, "
            "size, agent, created_at, started_at, finished_at, throttled")

COUNTS_SQL = """
SELECT count(*),
       count(message_id),
       count(sent_at),
       count(delivered_ms),
       count(read_at),
       count(replied_at),
       coalesce(sum(status = 'failed'), 0),
       coalesce(sum(status = 'skipped'), 0),
       coalesce(sum(status = 'unknown'), 0),
       coalesce(sum(status = 'pending'), 0),
       coalesce(sum(status = 'queued'), 0)
FROM campaign_recipients WHERE campaign_id = ?
"""


def _campaign(row: tuple) -> dict[str, Any]:
    (cid, name, state, template, category, audience, variables, schedule_at, rate, size,
     agent, created_at, started_at, finished_at, throttled) = row
    return {"id": cid, "name": name, "state": state, "template": json.loads(template),
            "category": category, "audience_spec": json.loads(audience),
            "variables": json.loads(variables), "schedule_at": schedule_at, "rate": rate,
            "size": size, "agent": agent, "created_at": created_at, "started_at": started_at,
            "finished_at": finished_at, "throttled": throttled}


def counts(conn: sqlite3.Connection, campaign_id: str) -> dict[str, int]:
    (audience, queued, sent, delivered, read, replied, failed, skipped, unknown, pending,
     waiting) = conn.execute(COUNTS_SQL, (campaign_id,)).fetchone()
    return {"audience": audience, "queued": queued, "sent": sent, "delivered": delivered,
            "read": read, "replied": replied, "failed": failed, "skipped": skipped,
            "unknown": unknown, "pending": pending, "in_flight": waiting}


def _grouped(conn: sqlite3.Connection, campaign_id: str, status: str) -> dict[str, int]:
    return {str(code): n for code, n in conn.execute(
        "SELECT coalesce(code, 'none'), count(*) FROM campaign_recipients "
        "WHERE campaign_id = ? AND status = ? GROUP BY 1 ORDER BY 1",
        (campaign_id, status))}


def get_campaign(conn: sqlite3.Connection, campaign_id: str,
                 detail: bool = True) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE id = ?",
                       (campaign_id,)).fetchone()
    if row is None:
        return None
    found = _campaign(row)
    found["counts"] = counts(conn, campaign_id)
    found["failures"] = _grouped(conn, campaign_id, "failed")
    found["skipped_reasons"] = _grouped(conn, campaign_id, "skipped")
    return found


def list_campaigns(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    ids = [i for (i,) in conn.execute("SELECT id FROM campaigns ORDER BY position DESC")]
    return [c for c in (get_campaign(conn, i) for i in ids) if c is not None]


def active(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Campaigns the worker looks after: running, or scheduled (what it needs of them)."""
    rows = conn.execute("SELECT id, name, state, template, category, variables, schedule_at, "
                        "rate, agent, throttled FROM campaigns WHERE state IN "
                        "('running', 'scheduled') ORDER BY position").fetchall()
    return [{"id": cid, "name": name, "state": state, "template": json.loads(template),
             "category": category, "variables": json.loads(variables),
             "schedule_at": schedule_at, "rate": rate, "agent": agent, "throttled": throttled}
            for cid, name, state, template, category, variables, schedule_at, rate, agent,
            throttled in rows]


def next_pending(conn: sqlite3.Connection, campaign_id: str, limit: int) -> list[str]:
    return [p for (p,) in conn.execute(
        "SELECT phone FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending' "
        "ORDER BY seq LIMIT ?", (campaign_id, limit))]


def state_of(conn: sqlite3.Connection, campaign_id: str) -> str | None:
    row = conn.execute("SELECT state FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    return row[0] if row else None


def recipients(conn: sqlite3.Connection, campaign_id: str, status: str | None = None,
               limit: int = 100, after: int = -1) -> list[dict[str, Any]]:
    sql = ("SELECT seq, phone, status, message_id, wamid, code, error, sent_at, replied_at "
           "FROM campaign_recipients WHERE campaign_id = ? AND seq > ?")
    args: list[Any] = [campaign_id, after]
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    rows = conn.execute(sql + " ORDER BY seq LIMIT ?", (*args, limit)).fetchall()
    found = []
    for seq, phone, st, message_id, wamid, code, error, sent_at, replied_at in rows:
        detail: Any = error
        if error and error.startswith("{"):
            detail = json.loads(error)
        found.append({"seq": seq, "phone": phone, "status": st, "message_id": message_id,
                      "wamid": wamid, "code": code, "error": detail, "sent_at": sent_at,
                      "replied": replied_at is not None})
    return found


def campaign_of_message(conn: sqlite3.Connection, message_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT c.id, c.name FROM campaign_recipients r JOIN campaigns c "
                       "ON c.id = r.campaign_id WHERE r.message_id = ?",
                       (message_id,)).fetchone()
    return {"id": row[0], "name": row[1]} if row else None
