"""``Database``: readers cannot write, every write goes through the writer thread, and
storage errors come back as crm's own classes from either side."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.events import (
    Connection,
    Database,
    EventStoreError,
    ImmutableEventError,
    StoreUnavailableError,
)
from crm.events.hashing import GENESIS_HASH
from tests.store_contract import note, unserialisable

_RAW_INSERT = (
    "INSERT INTO events (position, id, type, stream, occurred_at, recorded_at, actor, "
    "idempotency_key, data, prev_hash, hash) VALUES "
    "(2, 'sneaked-in', 'note.added', 'notes:a', '2026-01-01T00:00:00Z', "
    "'2026-01-01T00:00:00Z', 'reader', NULL, '{}', ?, ?)"
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "crm.db")
    database.start()
    yield database
    database.close()


async def test_a_reader_cannot_write(db: Database) -> None:
    [position] = await db.record([note("a")])
    head = await db.head()

    def sneak(conn: Connection) -> None:
        conn.execute(_RAW_INSERT, (head.hash, "f" * 64))

    def scratch_table(conn: Connection) -> None:
        conn.execute("CREATE TABLE scratch (x)")

    for attempt in (sneak, scratch_table):
        with pytest.raises(StoreUnavailableError) as caught:
            await db.read(attempt)
        assert isinstance(caught.value, EventStoreError)
        assert not isinstance(caught.value, sqlite3.Error)
    assert await db.head() == head and head.position == position
    assert [e.data["text"] for e in await db.read_after(0)] == ["a"]
    assert await db.read(lambda conn: conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'scratch'").fetchone()[0]) == 0


async def test_a_write_goes_through_the_writer(db: Database) -> None:
    def make(conn: Connection) -> int:
        conn.execute("CREATE TABLE scratch (x)")
        conn.execute("INSERT INTO scratch VALUES (1), (2)")
        return conn.execute("SELECT count(*) FROM scratch").fetchone()[0]

    assert await db.write(make) == 2
    assert await db.read(lambda conn: conn.execute(
        "SELECT sum(x) FROM scratch").fetchone()[0]) == 3  # committed, seen by readers

    def half_then_fail(conn: Connection) -> None:
        conn.execute("INSERT INTO scratch VALUES (100)")
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await db.write(half_then_fail)
    assert await db.read(lambda conn: conn.execute(
        "SELECT sum(x) FROM scratch").fetchone()[0]) == 3  # rolled back


async def test_a_write_that_changes_history_is_refused_as_ours(db: Database) -> None:
    await db.record([note("a")])
    with pytest.raises(ImmutableEventError) as caught:
        await db.write(lambda conn: conn.execute("UPDATE events SET actor = 'someone'"))
    assert not isinstance(caught.value, sqlite3.Error)
    [event] = await db.read_after(0)
    assert event.actor == "tests" and event.prev_hash == GENESIS_HASH


@pytest.mark.parametrize("kind", ["object", "lone surrogate"])
async def test_a_batch_that_cannot_be_stored_fails_alone_in_the_writer(
        db: Database, kind: str) -> None:
    results = await db.append([[note("a")], [note("lost"), unserialisable(kind)],
                               [note("b")]])
    assert [list(r) for r in results] == [[1], [], [2]]
    assert results[1].error is not None and not isinstance(results[1].error, EventStoreError)
    with pytest.raises((TypeError, ValueError)):
        await db.record([unserialisable(kind)])
    assert await db.record([note("c")]) == [3]
