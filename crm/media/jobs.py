"""The inbound media worker's own state: how far it has read the log, and what is due.

Not a projection: these rows record work in progress (attempts, the next try), which
replay must never redo. Each received message with a file is one job (its primary
key) until its outcome (``media.stored`` or ``media.failed``, idempotency key
``media:message:<message id>``) is in the log. Meta reuses media ids, so two jobs may
name one media id; the worker downloads it once and gives the second the same file.

Older versions keyed jobs and outcomes by media id, which left the second message of a
shared media id waiting forever. ``create_schema`` moves such a table to the new key
and scans the log again from the start, so those messages get their file now; an old
outcome (``media:<media id>``) still counts for the message it names.
All functions take a connection and run one short transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from crm.events import Connection, EventStore, immediate, parse_time
from crm.events.media import media_key, outcome_key

#: Meta keeps a received media id downloadable this long.
MEDIA_ID_LIFETIME = timedelta(days=7)
#: Events scanned per transaction.
SCAN_PAGE = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS media_checkpoint (
    name      TEXT PRIMARY KEY,
    position  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS media_jobs (
    message_id  TEXT PRIMARY KEY,
    media_id    TEXT NOT NULL,
    phone       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    media       TEXT NOT NULL,
    expires     REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    due         REAL NOT NULL,
    last_error  TEXT,
    position    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS media_jobs_due ON media_jobs(due);
"""

CHECKPOINT = "inbound"
RECEIVED = "message.received"


@dataclass(frozen=True)
class Job:
    message_id: str
    media_id: str
    phone: str
    kind: str
    media: dict[str, Any]
    expires: float
    attempts: int
    last_error: str | None


def create_schema(conn: Connection) -> None:
    with immediate(conn):
        keys = {row[1]: row[5] for row in conn.execute("PRAGMA table_info(media_jobs)")}
        if keys.get("media_id") == 1:  # an older version's jobs, one per media id
            conn.execute("ALTER TABLE media_jobs RENAME TO media_jobs_by_media_id")
            conn.execute("DROP INDEX IF EXISTS media_jobs_due")
            _create(conn)
            conn.execute(
                "INSERT OR IGNORE INTO media_jobs (message_id, media_id, phone, kind, media, "
                "expires, attempts, due, last_error, position) SELECT message_id, media_id, "
                "phone, kind, media, expires, attempts, due, last_error, position "
                "FROM media_jobs_by_media_id")
            conn.execute("DROP TABLE media_jobs_by_media_id")
            # Second messages of a shared media id were never given a job: look again.
            conn.execute("UPDATE media_checkpoint SET position = 0 WHERE name = ?",
                         (CHECKPOINT,))
        else:
            _create(conn)


def _create(conn: Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT OR IGNORE INTO media_checkpoint (name, position) VALUES (?, 0)",
                 (CHECKPOINT,))


def _has_outcome(conn: Connection, message_id: str, media_id: str) -> bool:
    store = EventStore.over(conn)
    if store.find_by_key(outcome_key(message_id)) is not None:
        return True
    legacy = store.find_by_key(media_key(media_id))
    return legacy is not None and legacy.data.get("message_id") == message_id


@dataclass(frozen=True)
class Found:
    """Received media between two checkpoints, as rows for ``media_jobs``."""

    after: int
    upto: int
    jobs: list[tuple[Any, ...]]


def find(conn: Connection, now: float) -> Found | None:
    """Received media after the checkpoint (at most a page of messages); reads only,
    so a busy log is not slowed down by it. None when there is nothing new."""
    after = conn.execute("SELECT position FROM media_checkpoint WHERE name = ?",
                         (CHECKPOINT,)).fetchone()[0]
    store = EventStore.over(conn)
    head = store.last_position()
    if head <= after:
        return None
    events = store.read_after(after, SCAN_PAGE, types=(RECEIVED,), upto=head)
    upto = events[-1].position if len(events) == SCAN_PAGE else head
    found = []
    for event in events:
        data = event.data
        media = data.get("media")
        if isinstance(media, dict) and media.get("id"):
            expires = (parse_time(event.occurred_at) + MEDIA_ID_LIFETIME).timestamp()
            found.append((event.id, str(media["id"]), data["phone"],
                          data.get("message_type") or "document", json.dumps(media), expires,
                          now, event.position))
    return Found(after, upto, found)


def add(conn: Connection, found: Found) -> int:
    """Record what ``find`` saw as due jobs and move the checkpoint; returns how many."""
    with immediate(conn):
        added = 0
        for job in found.jobs:
            if not _has_outcome(conn, job[0], job[1]):
                added += conn.execute(
                    "INSERT OR IGNORE INTO media_jobs (message_id, media_id, phone, kind, "
                    "media, expires, due, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", job
                ).rowcount
        conn.execute("UPDATE media_checkpoint SET position = ? WHERE name = ? AND position = ?",
                     (found.upto, CHECKPOINT, found.after))
    return added


def scan(conn: Connection, now: float) -> int:
    """``find`` then ``add`` on one connection; returns how many jobs were added."""
    found = find(conn, now)
    return add(conn, found) if found is not None else 0


def due_jobs(conn: Connection, now: float, limit: int) -> list[Job]:
    rows = conn.execute(
        "SELECT message_id, media_id, phone, kind, media, expires, attempts, last_error "
        "FROM media_jobs WHERE due <= ? ORDER BY due, position LIMIT ?", (now, limit)
    ).fetchall()
    return [Job(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]) for r in rows]


def start_attempt(conn: Connection, job: Job) -> int | None:
    """Count an attempt before it starts (a crash mid-download still counts); None if
    the job is done already. The job stays due: only the lease holder works on jobs,
    and it skips its own in flight, so a holder that died leaves it to the next."""
    if _has_outcome(conn, job.message_id, job.media_id):
        conn.execute("DELETE FROM media_jobs WHERE message_id = ?", (job.message_id,))
        return None
    row = conn.execute(
        "UPDATE media_jobs SET attempts = attempts + 1 WHERE message_id = ? "
        "RETURNING attempts", (job.message_id,)).fetchone()
    return row[0] if row else None


def retry_later(conn: Connection, message_id: str, due: float, error: str) -> None:
    conn.execute("UPDATE media_jobs SET due = ?, last_error = ? WHERE message_id = ?",
                 (due, error, message_id))


def finish(conn: Connection, message_id: str) -> None:
    conn.execute("DELETE FROM media_jobs WHERE message_id = ?", (message_id,))


def pending(conn: Connection) -> int:
    return conn.execute("SELECT count(*) FROM media_jobs").fetchone()[0]


def last_error(conn: Connection) -> str | None:
    row = conn.execute("SELECT last_error FROM media_jobs WHERE last_error IS NOT NULL "
                       "ORDER BY due DESC LIMIT 1").fetchone()
    return row[0] if row else None
