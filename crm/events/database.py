"""The database as the async server sees it: one writer thread, a few reader threads.

Reads run on a small pool of threads, each with its own ``query_only`` connection.
aiosqlite was measured against this pool for the read API (BENCHMARKS.md, "Readers"): it
runs every statement as its own hop to its thread, where a read function here runs all
its statements in one hop, so the pool stays.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from crm.events.connection import open_reader, translate
from crm.events.model import NewEvent, RecordedEvent
from crm.events.results import AppendResult, Head
from crm.events.store import EventStore, OnAppend
from crm.events.writer import GroupWriter

T = TypeVar("T")


class Database:
    """Appends and other writes go through the group-commit writer; reads are pooled.

    A read started after an append returned sees that append (read-your-writes): the
    append resolved only after its commit, and every read opens a fresh WAL snapshot.
    """

    def __init__(
        self, path: str | Path, on_append: OnAppend | None = None, readers: int = 4
    ) -> None:
        self.path = Path(path)
        self.writer = GroupWriter(self.path, on_append)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="crm-read")

    def start(self) -> None:
        self.writer.start()

    # -- writing ---------------------------------------------------------------------

    async def append(self, batches: Sequence[Sequence[NewEvent]]) -> list[AppendResult]:
        """Several independent batches, committed together; see ``Recorder.append``."""
        return await self.writer.append(batches)

    async def record(self, events: Sequence[NewEvent]) -> AppendResult:
        """One batch, atomic; raises its ``EventStoreError`` if it failed."""
        [result] = await self.writer.append([events])
        return result.raise_for_error()

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in a write transaction on the writer thread."""
        return await self.writer.write(fn, *args)

    async def decide(self, fn: Callable[..., Sequence[NewEvent] | None],
                     *args: Any) -> AppendResult | None:
        """Run ``fn(conn, *args)`` on the writer and record the events it returns in the
        same transaction: a check ("not the last admin") that must still hold when its
        event is committed. None when ``fn`` returned nothing to record."""
        return await self.writer.decide(fn, *args)

    # -- reading ---------------------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a reader thread's (read-only) connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._call, fn, args)

    async def find_by_key(self, idempotency_key: str) -> RecordedEvent | None:
        return await self.read(lambda conn: EventStore.over(conn).find_by_key(idempotency_key))

    async def get(self, position: int) -> RecordedEvent | None:
        return await self.read(lambda conn: EventStore.over(conn).get(position))

    async def read_after(self, after: int = 0, limit: int = 1000, *,
                         types: Iterable[str] | None = None, stream: str | None = None,
                         upto: int | None = None) -> list[RecordedEvent]:
        names = list(types) if types is not None else None
        return await self.read(lambda conn: EventStore.over(conn).read_after(
            after, limit, types=names, stream=stream, upto=upto))

    async def head(self) -> Head:
        return await self.read(lambda conn: EventStore.over(conn).head())

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_reader(self.path)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        try:
            return fn(conn, *args)
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    def close(self) -> None:
        self.writer.close()
        self._pool.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
