"""The events table. The database itself refuses to change history."""

EVENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position        INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    idempotency_key TEXT UNIQUE,
    stream          TEXT NOT NULL,
    type            TEXT NOT NULL,
    data            TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    actor           TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_stream ON events(stream, position);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
"""

EVENT_COLUMNS = (
    "position, id, type, stream, occurred_at, recorded_at, actor, idempotency_key, data, "
    "prev_hash, hash"
)
