"""Appending to and reading from the SQLite event log.

The store is synchronous on purpose: one connection, used by one thread. The async
server drives it through ``GroupWriter`` (one writer thread, group commit); the CLI
and the tests call it directly. Several processes may append at once: every write
transaction is ``BEGIN IMMEDIATE`` with a generous busy timeout, so batches are never
interleaved or split.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from crm.events.errors import ChainBrokenError, ImmutableEventError
from crm.events.hashing import GENESIS_HASH, canonical_json, hash_of, hash_with_data_text
from crm.events.model import NewEvent, RecordedEvent, format_time, utcnow
from crm.events.schema import EVENT_COLUMNS, EVENTS_SCHEMA

#: Called inside the append transaction with the newly recorded events, so projections
#: commit (or roll back) together with the events they derive from.
OnAppend = Callable[[list[RecordedEvent], sqlite3.Connection], None]

BUSY_TIMEOUT_MS = 30_000


def open_connection(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every part of crm relies on.

    ``synchronous=FULL``: an acknowledged event survives a power cut, not just a crash.
    """
    if readonly:
        uri = f"file:{Path(path).resolve()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(EVENTS_SCHEMA)


def row_to_event(row: Sequence) -> RecordedEvent:
    """Decode a row selected with ``EVENT_COLUMNS``."""
    return RecordedEvent(
        position=row[0],
        id=row[1],
        type=row[2],
        stream=row[3],
        occurred_at=row[4],
        recorded_at=row[5],
        actor=row[6],
        idempotency_key=row[7],
        data=json.loads(row[8]),
        prev_hash=row[9],
        hash=row[10],
    )


def read_after(
    conn: sqlite3.Connection, after: int = 0, limit: int = 1000, *, schema: str = "main"
) -> list[RecordedEvent]:
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM {schema}.events WHERE position > ? "
        "ORDER BY position LIMIT ?",
        (after, limit),
    ).fetchall()
    return [row_to_event(r) for r in rows]


def iter_after(
    conn: sqlite3.Connection, after: int = 0, *, page: int = 5000, schema: str = "main"
) -> Iterator[RecordedEvent]:
    """Every event after a position, paged so memory stays constant."""
    while True:
        events = read_after(conn, after, page, schema=schema)
        yield from events
        if len(events) < page:
            return
        after = events[-1].position


def read_stream(
    conn: sqlite3.Connection, stream: str, after: int = 0, limit: int = 1000
) -> list[RecordedEvent]:
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE stream = ? AND position > ? "
        "ORDER BY position LIMIT ?",
        (stream, after, limit),
    ).fetchall()
    return [row_to_event(r) for r in rows]


def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last position and its hash: where the next event links on."""
    head = conn.execute(
        "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1").fetchone()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


def last_position(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(position) FROM events").fetchone()
    return row[0] or 0


class EventStore:
    """The log behind one connection. Not thread-safe: give each thread its own."""

    def __init__(self, path: str | Path, on_append: OnAppend | None = None) -> None:
        self.path = Path(path)
        self.conn = open_connection(self.path)
        ensure_schema(self.conn)
        self.on_append = on_append

    def close(self) -> None:
        self.conn.close()

    # -- writing ---------------------------------------------------------------------

    def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append a batch atomically; returns each event's position.

        An event whose idempotency key is already recorded (or repeated earlier in the
        batch) is skipped and its existing position returned: Meta's retries become
        exactly one event each. All or nothing: any error rolls the whole batch back.
        """
        result = self.append_group([events])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def append_group(
        self, batches: Sequence[Sequence[NewEvent]]
    ) -> list[list[int] | BaseException]:
        """Commit several independent batches in one transaction (one fsync).

        Every batch is prepared (hashed, deduplicated) in Python first and all rows go in
        with one ``executemany``; the projections then run once over the whole group. A
        batch that cannot be prepared fails alone, its exception returned in its place.
        Should the database refuse the rows (say, a reused event id), the group is rolled
        back and each batch retried in a transaction of its own, so one bad batch never
        costs the others.
        """
        if len(batches) > 1:
            try:
                return self._commit(batches, isolate=True)
            except sqlite3.DatabaseError:
                return [self._commit_alone(batch) for batch in batches]
        return [self._commit_alone(batches[0])] if batches else []

    def _commit_alone(self, batch: Sequence[NewEvent]) -> list[int] | BaseException:
        try:
            return self._commit([batch], isolate=False)[0]
        except Exception as exc:
            return exc

    def _commit(self, batches: Sequence[Sequence[NewEvent]],
                isolate: bool) -> list[list[int] | BaseException]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            position, prev = chain_head(conn)
            known = self._known_keys(
                [e.idempotency_key for batch in batches for e in batch if e.idempotency_key])
            recorded_at = format_time(utcnow())
            results: list[list[int] | BaseException] = []
            rows: list[tuple] = []
            everything: list[RecordedEvent] = []
            for batch in batches:
                try:
                    positions, recorded, batch_rows = _prepare(batch, position, prev, known,
                                                               recorded_at)
                except Exception as exc:
                    if not isolate:
                        raise
                    results.append(exc)
                    continue
                for event in recorded:
                    if event.idempotency_key is not None:
                        known[event.idempotency_key] = event.position
                rows.extend(batch_rows)
                if recorded:
                    position, prev = recorded[-1].position, recorded[-1].hash
                    everything.extend(recorded)
                results.append(positions)
            if rows:
                conn.executemany(
                    f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
                )
            if everything and self.on_append is not None:
                self.on_append(everything, conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        return results

    def _known_keys(self, keys: list[str]) -> dict[str, int]:
        """Positions of the idempotency keys already recorded, looked up in chunks."""
        found: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self.conn.execute(
                "SELECT idempotency_key, position FROM events WHERE idempotency_key IN "
                f"({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update(rows)
        return found

    def import_events(self, events: Sequence[RecordedEvent]) -> int:
        """Insert already-recorded events verbatim (``crm import``), in one transaction.

        Positions, ids, times and hashes are kept exactly as given, so a restored log
        is the same log. Each event must continue the chain: the next position, the
        previous event's hash as ``prev_hash``, and a hash that matches its content;
        otherwise ``ChainBrokenError`` names it and nothing of the batch is kept.
        Returns the number of events inserted.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            position, prev = chain_head(conn)
            rows = []
            for event in events:
                if event.position != position + 1:
                    raise ChainBrokenError(event.position, f"expected position {position + 1}")
                if event.prev_hash != prev:
                    raise ChainBrokenError(event.position, "prev_hash is not the previous hash")
                if hash_of(event.as_json()) != event.hash:
                    raise ChainBrokenError(event.position, "hash does not match the content")
                rows.append(
                    (event.position, event.id, event.type, event.stream, event.occurred_at,
                     event.recorded_at, event.actor, event.idempotency_key,
                     canonical_json(event.data), event.prev_hash, event.hash)
                )
                position, prev = event.position, event.hash
            conn.executemany(
                f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            if rows and self.on_append is not None:
                self.on_append(list(events), conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return len(rows)

    # -- reading ---------------------------------------------------------------------

    def read_after(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return read_after(self.conn, after, limit)

    def read_stream(self, stream: str, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return read_stream(self.conn, stream, after, limit)

    def last_position(self) -> int:
        return last_position(self.conn)


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.IntegrityError) and "immutable" in str(exc):
        return ImmutableEventError(str(exc))
    return exc


def _prepare(batch: Sequence[NewEvent], position: int, prev: str, known: dict[str, int],
             recorded_at: str) -> tuple[list[int], list[RecordedEvent], list[tuple]]:
    """Positions and hashes for a batch that follows ``position``/``prev``; pure Python.

    An event whose idempotency key is already known (recorded, or earlier in the group
    or the batch) is skipped and answered with that first position.
    """
    positions: list[int] = []
    recorded: list[RecordedEvent] = []
    rows: list[tuple] = []
    seen: dict[str, int] = {}
    for event in batch:
        key = event.idempotency_key
        if key is not None:
            first = known.get(key, seen.get(key))
            if first is not None:
                positions.append(first)
                continue
        position += 1
        occurred_at = format_time(event.occurred_at) if event.occurred_at else recorded_at
        data_text = canonical_json(event.data)
        digest = hash_with_data_text(
            prev_hash=prev, position=position, id=event.id, type=event.type,
            stream=event.stream, occurred_at=occurred_at, recorded_at=recorded_at,
            actor=event.actor, idempotency_key=key, data_text=data_text,
        )
        recorded.append(RecordedEvent(
            position=position, id=event.id, type=event.type, stream=event.stream,
            occurred_at=occurred_at, recorded_at=recorded_at, actor=event.actor,
            idempotency_key=key, data=event.data, prev_hash=prev, hash=digest,
        ))
        rows.append((position, event.id, event.type, event.stream, occurred_at, recorded_at,
                     event.actor, key, data_text, prev, digest))
        if key is not None:
            seen[key] = position
        positions.append(position)
        prev = digest
    return positions, recorded, rows
