"""Selecting events from the SQLite log: the one place their rows become events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from crm.events.model import RecordedEvent
from crm.events.schema import EVENT_COLUMNS

__all__ = ["EVENT_COLUMNS", "iter_after", "read_after", "row_to_event"]


def row_to_event(row: Sequence[Any]) -> RecordedEvent:
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
    conn: sqlite3.Connection, after: int = 0, limit: int = 1000, *, schema: str = "main",
    types: Iterable[str] | None = None, stream: str | None = None, upto: int | None = None,
) -> list[RecordedEvent]:
    where = ["position > ?"]
    params: list[Any] = [after]
    if upto is not None:
        where.append("position <= ?")
        params.append(upto)
    if stream is not None:
        where.append("stream = ?")
        params.append(stream)
    if types is not None:
        names = list(types)
        where.append(f"type IN ({','.join('?' * len(names))})")
        params.extend(names)
    params.append(limit)
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM {schema}.events WHERE {' AND '.join(where)} "
        "ORDER BY position LIMIT ?", params,
    ).fetchall()
    return [row_to_event(r) for r in rows]


def iter_after(
    conn: sqlite3.Connection, after: int = 0, *, page: int = 5000, schema: str = "main",
    types: Iterable[str] | None = None, upto: int | None = None, stream: str | None = None,
) -> Iterator[RecordedEvent]:
    """Every event after a position, paged so memory stays constant."""
    names = list(types) if types is not None else None
    while True:
        events = read_after(conn, after, page, schema=schema, types=names, upto=upto,
                            stream=stream)
        yield from events
        if len(events) < page:
            return
        after = events[-1].position


def read_stream(
    conn: sqlite3.Connection, stream: str, after: int = 0, limit: int = 1000
) -> list[RecordedEvent]:
    return read_after(conn, after, limit, stream=stream)
