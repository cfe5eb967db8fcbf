"""The event log: positions, idempotency, atomicity, immutability, the hash chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crm.events import DuplicateEventError, EventStore, NewEvent
from crm.events.hashing import GENESIS_HASH, hash_of
from crm.events.store import iter_after
from crm.projections import default_projector
from tests.factories import received, status


def open_store(path: Path) -> EventStore:
    projector = default_projector()
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    return store


def verify_chain(conn: sqlite3.Connection) -> int:
    prev, count = GENESIS_HASH, 0
    for event in iter_after(conn, 0):
        body = event.as_json()
        assert body["prev_hash"] == prev, f"broken link at {event.position}"
        assert hash_of(body) == event.hash, f"bad hash at {event.position}"
        assert event.position == count + 1, f"gap before {event.position}"
        prev, count = event.hash, count + 1
    return count


def test_positions_increase_and_chain_verifies(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    first = store.record([received(text="a"), received(text="b")])
    second = store.record([received(text="c")])
    assert first == [1, 2] and second == [3]
    events = store.read_after(0)
    assert [e.position for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert verify_chain(store.conn) == 3
    assert events[0].data["text"] == "a"
    assert events[0].occurred_at == "2026-11-24T09:00:00Z"
    assert events[0].recorded_at.endswith("Z")


def test_repeated_idempotency_key_appends_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    event = received(wamid="wamid.same")
    assert store.record([event]) == [1]
    again = received(wamid="wamid.same", text="different text, same wamid")
    assert store.record([again]) == [1]
    mixed = store.record([received(wamid="wamid.new"), again, received(wamid="wamid.new")])
    assert mixed == [2, 1, 2]
    assert store.last_position() == 2


def test_batch_is_all_or_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received()])
    broken = NewEvent(type="note.added", stream="chat:x", data={"not json": object()})
    with pytest.raises(TypeError):
        store.record([received(text="lost with the batch"), broken])
    assert store.last_position() == 1
    assert store.record([received()]) == [2]  # no gap left behind
    assert verify_chain(store.conn) == 2


def test_update_and_delete_fail_in_the_database(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received()])
    raw = sqlite3.connect(tmp_path / "crm.db")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw.execute("UPDATE events SET data = '{}' WHERE position = 1")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw.execute("DELETE FROM events")
    raw.close()
    assert store.read_after(0)[0].data["text"] == "hello"


def test_unknown_event_type_is_kept_and_read(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    future = NewEvent(type="ticket.escalated", stream="chat:1", data={"level": 3})
    store.record([future, received()])
    events = store.read_after(0)
    assert events[0].type == "ticket.escalated"
    assert events[0].data == {"level": 3}
    assert events[0].model() is None
    assert events[1].model() is not None
    assert verify_chain(store.conn) == 2


def test_read_stream_returns_one_conversation(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(phone="111"), received(phone="222"), status("w", "sent", "111")])
    assert [e.position for e in store.read_stream("chat:111")] == [1, 3]


def test_non_ascii_data_round_trips(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(text="Olá 👍 \u00e9\n\"quoted\"")])
    (event,) = store.read_after(0)
    assert event.data["text"] == "Olá 👍 \u00e9\n\"quoted\""
    assert verify_chain(store.conn) == 1


def test_a_group_commits_good_batches_beside_a_bad_one(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    bad = NewEvent(type="note.added", stream="chat:x", data={"not json": object()})
    results = store.append([[received(wamid="g1")], [bad], [received(wamid="g1"),
                                                                   received(wamid="g2")]])
    assert results[0] == [1]
    assert isinstance(results[1].error, TypeError)
    assert results[2] == [1, 2]  # the repeated key answers with the first position
    reused = received(wamid="g3")
    clash = NewEvent(type="note.added", stream="chat:x", data={}, id=reused.id)
    results = store.append([[reused], [clash], [received(wamid="g4")]])
    assert results[0] == [3] and isinstance(results[1].error, DuplicateEventError)
    assert results[2] == [4]
    assert verify_chain(store.conn) == 4
