"""The SQLite backend of the log: a ``Recorder`` over one connection.

The store is synchronous on purpose: one connection, used by one thread. The async
server drives it through ``GroupWriter`` (one writer thread, group commit); the CLI and
the tests call it directly. Several processes may append at once: every write
transaction is ``BEGIN IMMEDIATE`` with a generous busy timeout, so batches are never
interleaved or split. No SQLite exception leaves this module: each is mapped to one of
``crm.events.errors``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from crm.events.connection import ensure_schema, immediate, open_connection, translating
from crm.events.errors import (
    ChainBrokenError,
    CorruptStoreError,
    EventStoreError,
    StoreUnavailableError,
)
from crm.events.hashing import GENESIS_HASH, canonical_json, hash_of, hash_with_data_text
from crm.events.model import NewEvent, RecordedEvent, format_time, utcnow
from crm.events.reading import (
    EVENT_COLUMNS,
    iter_after,
    missing_guards,
    read_after,
    row_to_event,
    select_rows,
)
from crm.events.results import AppendResult, Head

#: Called inside the append transaction with the newly recorded events, so projections
#: commit (or roll back) together with the events they derive from.
OnAppend = Callable[[list[RecordedEvent], sqlite3.Connection], None]

T = TypeVar("T")

_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"


def chain_head(conn: sqlite3.Connection) -> Head:
    head = conn.execute(
        "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1").fetchone()
    return Head(head[0], head[1]) if head else Head(0, GENESIS_HASH)


def last_position(conn: sqlite3.Connection, schema: str = "main") -> int:
    """The last position; ``schema`` names an attached log (replay's ``log``)."""
    with translating():
        row = conn.execute(f"SELECT max(position) FROM {schema}.events").fetchone()
    return row[0] or 0


class EventStore:
    """The log behind one connection. Not thread-safe: give each thread its own.

    ``EventStore(path)`` opens (and owns) a connection and creates the schema;
    ``EventStore.over(conn)`` reads through a connection someone else owns (a reader
    thread's, or a projection's transaction).
    """

    def __init__(self, path: str | Path, on_append: OnAppend | None = None) -> None:
        self.path = Path(path)
        self.conn = open_connection(self.path)
        ensure_schema(self.conn)
        self.on_append = on_append
        self._owned = True

    @classmethod
    def over(cls, conn: sqlite3.Connection) -> EventStore:
        store = cls.__new__(cls)
        store.path = Path()
        store.conn = conn
        store.on_append = None
        store._owned = False
        return store

    def close(self) -> None:
        if self._owned:
            self.conn.close()

    # -- writing ---------------------------------------------------------------------

    def record(self, events: Sequence[NewEvent]) -> AppendResult:
        return self.append([events])[0].raise_for_error()

    def append(self, batches: Sequence[Sequence[NewEvent]]) -> list[AppendResult]:
        """Commit several independent batches in one transaction (one fsync).

        Every batch is prepared (hashed, deduplicated) in Python first and all rows go in
        with one ``executemany``; the projections then run once over the whole group.
        A batch that cannot be prepared fails alone. Should the database refuse the rows
        (say, a reused event id), the group is rolled back and each batch retried in a
        transaction of its own, so one bad batch never costs the others; should the
        store itself be unavailable (busy past the timeout) or damaged, every batch
        fails with that error at once.
        """
        for batch in batches:
            if isinstance(batch, NewEvent):
                raise TypeError("append takes a list of batches; record() takes one batch")
        if len(batches) > 1:
            try:
                return self._commit(batches, isolate=True)
            except (StoreUnavailableError, CorruptStoreError) as exc:
                # The store refused, not a batch: alone, each would wait and fail again.
                return [AppendResult.failed(exc) for _ in batches]
            except EventStoreError:
                return [self._commit_alone(batch) for batch in batches]
        return [self._commit_alone(batches[0])] if batches else []

    def _commit_alone(self, batch: Sequence[NewEvent]) -> AppendResult:
        try:
            return self._commit([batch], isolate=False)[0]
        except Exception as exc:  # storage refused it, or its data cannot be stored
            return AppendResult.failed(exc)

    def _commit(self, batches: Sequence[Sequence[NewEvent]],
                isolate: bool) -> list[AppendResult]:
        with translating(), immediate(self.conn):
            return self._insert(batches, isolate)

    def _insert(self, batches: Sequence[Sequence[NewEvent]],
                isolate: bool) -> list[AppendResult]:
        conn = self.conn
        position, prev = chain_head(conn)
        known = self._known_keys(
            [e.idempotency_key for batch in batches for e in batch if e.idempotency_key])
        recorded_at = format_time(utcnow())
        results: list[AppendResult] = []
        rows: list[tuple] = []
        everything: list[RecordedEvent] = []
        for batch in batches:
            try:
                result, recorded, batch_rows = _prepare(batch, position, prev, known,
                                                        recorded_at)
            except Exception as exc:
                if not isolate:
                    raise
                results.append(AppendResult.failed(exc))
                continue
            for event in recorded:
                if event.idempotency_key is not None:
                    known[event.idempotency_key] = event.position
            rows.extend(batch_rows)
            if recorded:
                position, prev = recorded[-1].position, recorded[-1].hash
                everything.extend(recorded)
            results.append(result)
        if rows:
            conn.executemany(_INSERT, rows)
        if everything and self.on_append is not None:
            self.on_append(everything, conn)
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
        otherwise ``ChainBrokenError`` names it and nothing of the batch is kept. A
        repeated id or idempotency key raises ``DuplicateEventError``. Returns the
        number of events inserted.
        """
        conn = self.conn
        with translating(), immediate(conn):
            rows = self._verbatim_rows(events)
            conn.executemany(_INSERT, rows)
            if rows and self.on_append is not None:
                self.on_append(list(events), conn)
        return len(rows)

    def _verbatim_rows(self, events: Sequence[RecordedEvent]) -> list[tuple]:
        position, prev = chain_head(self.conn)
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
        return rows

    # -- reading ---------------------------------------------------------------------

    def find_by_key(self, idempotency_key: str) -> RecordedEvent | None:
        with translating():
            row = self.conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE idempotency_key = ?",
                (idempotency_key,)).fetchone()
        return row_to_event(row) if row else None

    def get(self, position: int) -> RecordedEvent | None:
        with translating():
            row = self.conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE position = ?",
                (position,)).fetchone()
        return row_to_event(row) if row else None

    def read_after(self, after: int = 0, limit: int = 1000, *,
                   types: Iterable[str] | None = None, stream: str | None = None,
                   upto: int | None = None) -> list[RecordedEvent]:
        with translating():
            return read_after(self.conn, after, limit, types=types, stream=stream, upto=upto)

    def iter_after(self, after: int = 0, *, types: Iterable[str] | None = None,
                   upto: int | None = None, stream: str | None = None,
                   page: int = 5000) -> Iterator[RecordedEvent]:
        with translating():
            yield from iter_after(self.conn, after, page=page, types=types, upto=upto,
                                  stream=stream)

    def read_stream(self, stream: str, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return self.read_after(after, limit, stream=stream)

    def rows(self, after: int, upto: int, limit: int, *, types: Iterable[str] | None = None,
             stream: str | None = None,
             field: tuple[str, str] | None = None) -> list[tuple[Any, ...]]:
        """Raw rows for the audit (see ``reading.select_rows``); SQLite-specific."""
        with translating():
            return select_rows(self.conn, after, upto, limit, types=types, stream=stream,
                               field=field)

    def missing_guards(self) -> list[str]:
        """Names of the immutability triggers that are missing (a tampered file)."""
        with translating():
            return missing_guards(self.conn)

    def head(self) -> Head:
        with translating():
            return chain_head(self.conn)

    def last_position(self) -> int:
        return last_position(self.conn)

    def changes(self) -> int:
        with translating():
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])


def _prepare(batch: Sequence[NewEvent], position: int, prev: str, known: dict[str, int],
             recorded_at: str) -> tuple[AppendResult, list[RecordedEvent], list[tuple]]:
    """Positions and hashes for a batch that follows ``position``/``prev``; pure Python.

    An event whose idempotency key is already known (recorded, or earlier in the group
    or the batch) is skipped and answered with that first position.
    """
    positions: list[int] = []
    new: list[bool] = []
    recorded: list[RecordedEvent] = []
    rows: list[tuple] = []
    seen: dict[str, int] = {}
    for event in batch:
        key = event.idempotency_key
        if key is not None:
            first = known.get(key, seen.get(key))
            if first is not None:
                positions.append(first)
                new.append(False)
                continue
        position += 1
        occurred_at = format_time(event.occurred_at) if event.occurred_at else recorded_at
        data_text = canonical_json(event.data)
        _check_storable(event.id, event.type, event.stream, event.actor, key, data_text)
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
        new.append(True)
        prev = digest
    return AppendResult(positions, new), recorded, rows


def _check_storable(*texts: str | None) -> None:
    """Raise (``UnicodeEncodeError``) for text the database cannot hold, a lone
    surrogate say: here, while the batch is prepared, so it fails alone instead of
    making the whole group's insert raise."""
    for text in texts:
        if isinstance(text, str):
            text.encode("utf-8")
