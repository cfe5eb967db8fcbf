"""Read-only readers: the thread pool of ``Database.read`` against aiosqlite.

The issue asked for aiosqlite for async reads where it keeps the speed. This measures
the same chat-list page (the read API's busiest query) both ways, with 8 concurrent
callers over 2,000 chats, in the same run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import aiosqlite

from bench.stats import table
from crm.events import Database, EventStore
from crm.projections import chats, default_projector
from tests.factories import received

CHATS = 2000
CALLS = 4000
CALLERS = 8


def seed(path: Path) -> None:
    projector = default_projector()
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    for start in range(0, CHATS, 500):
        store.record([received(phone=f"852{i:08d}", text=f"hello {i}", wamid=f"w{i}")
                      for i in range(start, start + 500)])
    store.close()


async def pooled(path: Path) -> float:
    db = Database(path, default_projector())
    db.start()
    try:
        await db.read(chats.list_chats, 50, None, None)
        started = time.perf_counter()

        async def caller() -> None:
            for _ in range(CALLS // CALLERS):
                await db.read(chats.list_chats, 50, None, None)
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        return CALLS / (time.perf_counter() - started)
    finally:
        db.close()


async def with_aiosqlite(path: Path) -> float:
    """The same page's SQL, each caller on its own aiosqlite connection (its thread)."""
    # The same statement list_chats runs for a first page, and the same row decoding.
    sql, params = chats._SELECT + " ORDER BY c.last_pos DESC LIMIT ?", (51,)
    conns = [await aiosqlite.connect(path) for _ in range(CALLERS)]
    try:
        for conn in conns:
            await conn.execute("PRAGMA query_only=1")
        started = time.perf_counter()

        async def caller(conn: aiosqlite.Connection) -> None:
            for _ in range(CALLS // CALLERS):
                async with conn.execute(sql, params) as cursor:
                    rows = await cursor.fetchall()
                [chats._chat_from_row(r) for r in rows[:50]]
        await asyncio.gather(*(caller(c) for c in conns))
        return CALLS / (time.perf_counter() - started)
    finally:
        for conn in conns:
            await conn.close()


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.db"
        seed(path)
        pool = asyncio.run(pooled(path))
        aio = asyncio.run(with_aiosqlite(path))
    rows = [["thread pool (`Database.read`, 4 query_only readers)", f"{pool:,.0f}", "1.00"],
            ["aiosqlite (a connection per caller)", f"{aio:,.0f}", f"{aio / pool:.2f}"]]
    return ("## Readers: thread pool and aiosqlite\n\n"
            f"The chat list's first page (50 of {CHATS:,} chats), {CALLS:,} reads by "
            f"{CALLERS} concurrent callers, in one process.\n\n"
            + table(["reader", "reads/s", "ratio to the pool"], rows))
