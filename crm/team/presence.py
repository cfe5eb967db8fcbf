"""Who is online: how many live streams each agent has open, across server processes.

Each process counts its own open streams per agent in memory and shares the counts
through a small ``presence`` table (not a projection, not in the log: it is the
moment's state, gone with the streams). A process writes its rows when a count
changes and renews them every ``RENEW`` seconds while it has any stream open, with an
expiry, so the rows of a process that died vanish on their own within ``TTL``. A
process with no open stream writes nothing: an idle server stays idle.

Round-robin assignment asks ``online()``: "online" means an open stream now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator

from crm.events import Database, immediate

log = logging.getLogger("crm.team")

SCHEMA = """
CREATE TABLE IF NOT EXISTS presence (
    holder  TEXT NOT NULL,
    agent   TEXT NOT NULL,
    streams INTEGER NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (holder, agent)
);
"""

TTL = 30.0
RENEW = 10.0


def create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def publish(conn: sqlite3.Connection, holder: str, counts: dict[str, int],
            expires: float) -> None:
    """Replace this process's rows with its current counts."""
    with immediate(conn):
        conn.execute("DELETE FROM presence WHERE holder = ?", (holder,))
        conn.executemany(
            "INSERT INTO presence (holder, agent, streams, expires) VALUES (?, ?, ?, ?)",
            [(holder, agent, n, expires) for agent, n in counts.items() if n > 0])
        conn.execute("DELETE FROM presence WHERE expires < ?", (expires - 2 * TTL,))


def online(conn: sqlite3.Connection, now: float | None = None) -> dict[str, int]:
    """Open streams per agent, over every live process."""
    now = time.time() if now is None else now
    rows = conn.execute("SELECT agent, sum(streams) FROM presence WHERE expires > ? "
                        "GROUP BY agent", (now,)).fetchall()
    return {agent: n for agent, n in rows if n > 0}


class Presence:
    """This process's open streams per agent, published to the shared table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"
        self.counts: Counter[str] = Counter()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._published = False

    async def start(self) -> None:
        await self.db.write(create_schema)
        self._task = asyncio.create_task(self._run(), name="crm-presence")

    def opened(self, agent: str) -> None:
        self.counts[agent] += 1
        self._changed.set()

    def closed(self, agent: str) -> None:
        self.counts[agent] -= 1
        if self.counts[agent] <= 0:
            del self.counts[agent]
        self._changed.set()

    async def counted(self, agent: str, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``body`` (a stream's), with the agent counted online while it is open."""
        self.opened(agent)
        try:
            async for chunk in body:
                yield chunk
        finally:
            self.closed(agent)

    async def _run(self) -> None:
        while True:
            if self.counts:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), RENEW)
            else:
                await self._changed.wait()
            self._changed.clear()
            try:
                await self._publish()
            except Exception:
                log.exception("could not publish who is online")

    async def _publish(self) -> None:
        counts = dict(self.counts)
        if not counts and not self._published:
            return
        await self.db.write(publish, self.holder, counts, time.time() + TTL)
        self._published = bool(counts)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._published:
            with contextlib.suppress(Exception):
                await self.db.write(publish, self.holder, {}, 0.0)
