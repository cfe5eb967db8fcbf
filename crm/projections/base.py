"""Projections: tables derived from the log, each with a checkpoint.

A projection is its tables' DDL plus plain handler functions of ``(event, db)``. The
projector runs them inside the append transaction, so a read after an append sees it
and a checkpoint can never drift from its rows. Handlers must be deterministic
functions of the events (no clock, no I/O): replay must rebuild exactly the same rows.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from crm.events import RecordedEvent
from crm.events.store import iter_after

log = logging.getLogger("crm.projections")

Handler = Callable[[RecordedEvent, sqlite3.Connection], None]

CHECKPOINTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Projection:
    name: str
    schema: str
    tables: tuple[str, ...]
    handlers: dict[str, Handler] = field(default_factory=dict)
    #: Replay folds each group in a process of its own. Handlers that read another
    #: projection's tables must share its group (chats reads customers).
    replay_group: int = 0


class Projector:
    """Applies events to every projection and advances their checkpoints."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.projections = tuple(projections)
        self._handlers: dict[str, list[Handler]] = {}
        for projection in self.projections:
            for type_name, handler in projection.handlers.items():
                self._handlers.setdefault(type_name, []).append(handler)
        names = [p.name for p in self.projections]
        self._advance = (
            f"UPDATE checkpoints SET position = ? WHERE name IN ({','.join('?' * len(names))})"
        )
        self._names = names

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t for p in self.projections for t in p.tables)

    def create_schema(self, conn: sqlite3.Connection) -> None:
        """Create the tables of projections that have none yet.

        A projection whose tables exist is left alone: after a replay its indexes carry
        generated names, and recreating them by their original names would build them
        a second time.
        """
        conn.executescript(CHECKPOINTS_SCHEMA)
        existing = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for projection in self.projections:
            if not set(projection.tables) <= existing:
                conn.executescript(projection.schema)
        conn.executemany(
            "INSERT OR IGNORE INTO checkpoints (name, position) VALUES (?, 0)",
            [(n,) for n in self._names],
        )

    def __call__(self, events: Iterable[RecordedEvent], conn: sqlite3.Connection) -> None:
        self.apply(events, conn)

    def apply(self, events: Iterable[RecordedEvent], conn: sqlite3.Connection) -> None:
        last = None
        handlers = self._handlers
        for event in events:
            for handler in handlers.get(event.type, ()):
                _run(handler, event, conn)
            last = event.position
        if last is not None:
            conn.execute(self._advance, (last, *self._names))

    def checkpoints(self, conn: sqlite3.Connection) -> dict[str, int]:
        rows = conn.execute("SELECT name, position FROM checkpoints").fetchall()
        return {name: pos for name, pos in rows if name in self._names}

    def catch_up(self, conn: sqlite3.Connection) -> int:
        """Apply events the projections have not seen (a new projection, a crash
        between versions). Returns how many were applied."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            start = min(self.checkpoints(conn).values(), default=0)
            count = 0
            batch: list[RecordedEvent] = []
            for event in iter_after(conn, start):
                batch.append(event)
                if len(batch) >= 5000:
                    self._apply_behind(batch, conn)
                    count += len(batch)
                    batch = []
            if batch:
                self._apply_behind(batch, conn)
                count += len(batch)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

    def _apply_behind(self, events: list[RecordedEvent], conn: sqlite3.Connection) -> None:
        checkpoints = self.checkpoints(conn)
        for projection in self.projections:
            seen = checkpoints[projection.name]
            for event in events:
                if event.position > seen:
                    handler = projection.handlers.get(event.type)
                    if handler is not None:
                        _run(handler, event, conn)
            conn.execute(
                "UPDATE checkpoints SET position = ? WHERE name = ?",
                (max(seen, events[-1].position), projection.name),
            )


def _run(handler: Handler, event: RecordedEvent, conn: sqlite3.Connection) -> None:
    """A handler that fails must not refuse the event: the log is the truth, and a
    webhook refused for a projection bug would be retried by Meta for a week. The
    failure is logged; replay runs the same code and so reaches the same rows."""
    try:
        handler(event, conn)
    except Exception:
        log.exception("projection handler %s failed on event %s (%s)",
                      handler.__qualname__, event.position, event.type)
