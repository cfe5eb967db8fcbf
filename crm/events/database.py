"""The database as the async server sees it: one writer thread, a few reader threads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from crm.events.model import NewEvent
from crm.events.store import OnAppend, open_connection
from crm.events.writer import GroupWriter

T = TypeVar("T")


class Database:
    """Appends go through the group-commit writer; reads run on pooled connections.

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

    async def append(self, events: Sequence[NewEvent]) -> list[int]:
        return await self.writer.append(events)

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(conn, *args)`` on a reader thread's connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._call, fn, args)

    def _call(self, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_connection(self.path)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return fn(conn, *args)

    def close(self) -> None:
        self.writer.close()
        self._pool.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
