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


def select_rows(
    conn: sqlite3.Connection, after: int, upto: int, limit: int, *,
    types: Iterable[str] | None = None, stream: str | None = None,
    field: tuple[str, str] | None = None,
) -> list[tuple[Any, ...]]:
    """Raw rows (``EVENT_COLUMNS``, ``data`` as its stored canonical text) in log order.

    For readers that need the stored bytes, not decoded events: the audit export
    writes them verbatim and verification hashes them. With ``stream`` and ``field``
    (``(key, value)``) an event matches when it is of that stream *or* its data has
    ``key == value``, so a conversation's export also takes events filed elsewhere
    that name it.
    """
    where = ["position > ?", "position <= ?"]
    params: list[Any] = [after, upto]
    if types is not None:
        names = list(types)
        where.append(f"type IN ({','.join('?' * len(names))})")
        params.extend(names)
    either = []
    if stream is not None:
        either.append("stream = ?")
        params.append(stream)
    if field is not None:
        if not field[0].isidentifier():
            raise ValueError(f"not a field name: {field[0]!r}")
        either.append(f"json_extract(data, '$.{field[0]}') = ?")
        params.append(field[1])
    if either:
        where.append(f"({' OR '.join(either)})")
    params.append(limit)
    return conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} "
        "ORDER BY position LIMIT ?", params).fetchall()


def missing_guards(conn: sqlite3.Connection) -> list[str]:
    """The triggers that make the table refuse changes, if any is gone."""
    present = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")}
    return [name for name in GUARDS if name not in present]


#: The triggers of ``EVENTS_SCHEMA`` that refuse UPDATE and DELETE.
GUARDS = ("events_no_update", "events_no_delete")


def read_stream(
    conn: sqlite3.Connection, stream: str, after: int = 0, limit: int = 1000
) -> list[RecordedEvent]:
    return read_after(conn, after, limit, stream=stream)
