"""Projections: tables derived from the log, each with a checkpoint and a version.

A projection is its tables' DDL plus plain handler functions of ``(event, tx)``, where
``tx`` is a ``Transaction`` (rows only: a handler cannot commit). The projector runs
them inside the append transaction, so a read after an append sees it and a checkpoint
can never drift from its rows. Handlers must be deterministic functions of the events
(no clock, no I/O): replay must rebuild exactly the same rows.

A release that changes what a projection's tables hold or how its handlers fill them
bumps its ``version``. On start, ``catch_up`` finds the stored version differs and
rebuilds the projection (with the rest of its replay group) from the log before the
server serves from it; ``crm replay`` records the new version too.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from crm.events import RecordedEvent
from crm.events.store import iter_after
from crm.projections import checkpoints
from crm.projections.options import FoldOptions
from crm.projections.transaction import Transaction

log = logging.getLogger("crm.projections")

Handler = Callable[[RecordedEvent, Transaction], None]


@dataclass(frozen=True)
class Projection:
    name: str
    schema: str
    tables: tuple[str, ...]
    handlers: dict[str, Handler] = field(default_factory=dict)
    #: Replay folds each group in a process of its own. Handlers that read another
    #: projection's tables must share its group (chats reads customers).
    replay_group: int = 0
    #: Bumped by a release that changes the tables or what the handlers put in them:
    #: a database holding another version's rows rebuilds them from the log.
    version: int = 1
    #: Indexes the handlers' own queries need. Replay folds without secondary indexes
    #: (they serve reads, and maintaining them costs), except these: without
    #: ``identities_by_chat`` each message scanned the identities table.
    fold_indexes: tuple[str, ...] = ()


class Projector:
    """Applies events to every projection and advances their checkpoints."""

    def __init__(self, projections: Sequence[Projection],
                 options: FoldOptions | None = None) -> None:
        self.projections = tuple(projections)
        #: Handed to every handler (``tx.options``): live, catch-up and replay alike.
        self.options = options or FoldOptions()
        self._handlers: dict[str, list[tuple[Handler, str]]] = {}
        for projection in self.projections:
            for type_name, handler in projection.handlers.items():
                self._handlers.setdefault(type_name, []).append((handler, projection.name))
        names = [p.name for p in self.projections]
        self._advance = (
            f"UPDATE checkpoints SET position = ? WHERE name IN ({','.join('?' * len(names))})"
        )
        self._names = names

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t for p in self.projections for t in p.tables)

    @property
    def fold_indexes(self) -> frozenset[str]:
        return frozenset(i for p in self.projections for i in p.fold_indexes)

    def create_schema(self, conn: sqlite3.Connection) -> None:
        """Create the tables of projections that have none yet.

        A projection whose tables exist is left alone: after a replay its indexes carry
        generated names, and recreating them by their original names would build them
        a second time. So is one stored at another version: its old tables may not take
        the new DDL, and ``catch_up`` (or a replay) rebuilds it.
        """
        checkpoints.create(conn)
        stored = checkpoints.read(conn)
        existing = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for projection in self.projections:
            found = stored.get(projection.name)
            if found is not None and found["version"] != projection.version:
                continue
            if not set(projection.tables) <= existing:
                conn.executescript(projection.schema)
        conn.executemany(
            "INSERT OR IGNORE INTO checkpoints (name, position, version) VALUES (?, 0, ?)",
            [(p.name, p.version) for p in self.projections],
        )

    def __call__(self, events: Iterable[RecordedEvent], conn: sqlite3.Connection) -> None:
        self.apply(events, conn)

    def apply(self, events: Iterable[RecordedEvent], conn: sqlite3.Connection) -> None:
        last = None
        handlers = self._handlers
        tx = Transaction(conn, self.options)
        for event in events:
            for handler, name in handlers.get(event.type, ()):
                _run(handler, name, event, tx, conn)
            last = event.position
        if last is not None:
            conn.execute(self._advance, (last, *self._names))

    def checkpoints(self, conn: sqlite3.Connection) -> dict[str, int]:
        rows = conn.execute("SELECT name, position FROM checkpoints").fetchall()
        return {name: pos for name, pos in rows if name in self._names}

    def stale(self, conn: sqlite3.Connection) -> tuple[Projection, ...]:
        """The projections to rebuild because one of their replay group is stored at
        another version than the code's. The whole group: a handler may read the
        tables of another projection of its group (chats reads customers), and folding
        it from 0 beside tables already at the head would read the future."""
        stored = checkpoints.read(conn)
        groups = {p.replay_group for p in self.projections
                  if p.name in stored and stored[p.name]["version"] != p.version}
        return tuple(p for p in self.projections if p.replay_group in groups)

    def catch_up(self, conn: sqlite3.Connection) -> int:
        """Apply events the projections have not seen (a new projection, a new version
        of one, a crash between versions). Returns how many were applied.

        One write transaction: another process appending meanwhile waits, so it never
        moves a checkpoint past events a rebuilt projection has not folded yet.
        """
        conn.execute("BEGIN IMMEDIATE")
        try:
            stale = self.stale(conn)
            if stale:
                log.warning("rebuilding projections %s from the log: their version changed",
                            ", ".join(p.name for p in stale))
                for projection in stale:
                    _reset(conn, projection)
            start = min(self.checkpoints(conn).values(), default=0)
            count = 0
            batch: list[RecordedEvent] = []
            tx = Transaction(conn, self.options)
            for event in iter_after(conn, start):
                batch.append(event)
                if len(batch) >= 5000:
                    self._apply_behind(batch, conn, tx)
                    count += len(batch)
                    batch = []
            if batch:
                self._apply_behind(batch, conn, tx)
                count += len(batch)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return count

    def _apply_behind(self, events: list[RecordedEvent], conn: sqlite3.Connection,
                      tx: Transaction) -> None:
        """Each event to the projections that have not seen it, in the order ``apply``
        runs them: a handler reading another projection's table sees it as it was."""
        seen = self.checkpoints(conn)
        handlers = self._handlers
        for event in events:
            for handler, name in handlers.get(event.type, ()):
                if event.position > seen[name]:
                    _run(handler, name, event, tx, conn)
        conn.executemany(
            "UPDATE checkpoints SET position = ? WHERE name = ?",
            [(max(seen[n], events[-1].position), n) for n in self._names],
        )


def _reset(conn: sqlite3.Connection, projection: Projection) -> None:
    """Empty tables of the code's version at position 0, inside the caller's
    transaction. Tables an older version had and this one does not are left behind."""
    for table in projection.tables:
        conn.execute(f'DROP TABLE IF EXISTS main."{table}"')
    for statement in statements(projection.schema):
        conn.execute(statement)
    conn.execute("UPDATE checkpoints SET position = 0, version = ?, failures = 0 "
                 "WHERE name = ?", (projection.version, projection.name))


def statements(script: str) -> Iterator[str]:
    """The statements of a DDL script one by one (``executescript`` would commit)."""
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                yield pending.strip()
            pending = ""


def _run(handler: Handler, name: str, event: RecordedEvent, tx: Transaction,
         conn: sqlite3.Connection) -> None:
    """A handler that fails must not refuse the event: the log is the truth, and a
    webhook refused for a projection bug would be retried by Meta for a week. The
    failure is logged and counted on the projection's checkpoint row (``/healthz``
    shows it); replay runs the same code and so reaches the same rows and count."""
    try:
        handler(event, tx)
    except Exception:
        log.exception("projection handler %s failed on event %s (%s)",
                      handler.__qualname__, event.position, event.type)
        conn.execute(checkpoints.COUNT_FAILURE, (name,))
