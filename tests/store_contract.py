"""What every backend of the log must do: the ``Recorder`` contract, written once.

A backend's test module subclasses ``RecorderContract`` and provides the hooks below
(how to make a store, open a second connection, try to change history behind the
store's back, hold its write lock, damage it, run an appender in another process).
The tests themselves use only the ``Recorder`` interface and crm's own exceptions, so
a PostgreSQL backend reuses them unchanged. This module is not collected by itself
(its name does not start with ``test_``, nor does the class's).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from crm.events import (
    CorruptStoreError,
    DuplicateEventError,
    EventStoreError,
    Head,
    ImmutableEventError,
    NewEvent,
    RecordedEvent,
    Recorder,
    StoreUnavailableError,
)
from crm.events.hashing import GENESIS_HASH, hash_of

ROOT = Path(__file__).resolve().parents[1]


def note(text: str = "x", *, key: str | None = None, stream: str = "notes:a",
         type_: str = "note.added", **fields: Any) -> NewEvent:
    """A small event of the vocabulary no projection reads (the store is under test)."""
    return NewEvent(type=type_, stream=stream, data={"text": text, **fields}, actor="tests",
                    idempotency_key=key)


def unserialisable(kind: str) -> NewEvent:
    """An event whose data JSON or UTF-8 cannot hold."""
    value: Any = object() if kind == "object" else "half an emoji \ud83d"
    return NewEvent(type="note.added", stream="notes:a", data={"text": value})


def assert_chain(events: Sequence[RecordedEvent]) -> None:
    """Gapless from 1, each hash over its content and linked to its predecessor."""
    prev = GENESIS_HASH
    for expected, event in enumerate(events, start=1):
        assert event.position == expected, f"gap before {event.position}"
        assert event.prev_hash == prev, f"broken link at {event.position}"
        assert hash_of(event.as_json()) == event.hash, f"bad hash at {event.position}"
        prev = event.hash


class RecorderContract:
    """The tests; a subclass named ``Test...`` supplies the backend through the hooks."""

    #: The driver's exception classes: none of them may ever reach a caller.
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: Roughly how long (seconds) a store from ``impatient`` waits for a lock.
    impatient_wait: ClassVar[float] = 0.1

    # -- hooks a backend provides ------------------------------------------------------

    def make_store(self, tmp_path: Path) -> Recorder:
        """A new, empty log (schema created)."""
        raise NotImplementedError

    def open_another(self, store: Recorder) -> Recorder:
        """The same log through a second connection (as another process would see it)."""
        raise NotImplementedError

    def impatient(self, store: Recorder) -> Recorder:
        """The same log through a connection that waits only briefly for a lock."""
        raise NotImplementedError

    def hold_write_lock(self, store: Recorder) -> contextlib.AbstractContextManager[None]:
        """Another connection holds an open write transaction until the block ends."""
        raise NotImplementedError

    def tamper_update(self, store: Recorder) -> None:
        """Change a recorded event through the backend's raw access (must raise)."""
        raise NotImplementedError

    def tamper_delete(self, store: Recorder) -> None:
        """Remove recorded events through the backend's raw access (must raise)."""
        raise NotImplementedError

    def open_corrupt(self, tmp_path: Path, damage: str) -> Recorder:
        """A store over a damaged database: ``garbage`` (never a database) or
        ``damaged`` (a log whose content was overwritten). May raise on opening."""
        raise NotImplementedError

    def appender_command(self, store: Recorder, tag: str, batches: int) -> list[str]:
        """The command line of ``tests.store_appender`` appending to this log."""
        raise NotImplementedError

    def close(self, store: Recorder) -> None:
        closing = getattr(store, "close", None)
        if closing is not None:
            closing()

    # -- plumbing ----------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _closes_what_it_opens(self) -> Iterator[None]:
        self.opened: list[Recorder] = []
        yield
        for store in reversed(self.opened):
            with contextlib.suppress(Exception):
                self.close(store)

    def keep(self, store: Recorder) -> Recorder:
        self.opened.append(store)
        return store

    @pytest.fixture
    def store(self, tmp_path: Path) -> Recorder:
        return self.keep(self.make_store(tmp_path))

    def assert_ours(self, exc: BaseException) -> None:
        assert isinstance(exc, EventStoreError), repr(exc)
        assert not isinstance(exc, self.driver_errors), repr(exc)

    # -- appending and positions -------------------------------------------------------

    def test_positions_are_gapless_in_order_and_chained(self, store: Recorder) -> None:
        first = store.record([note("a"), note("b")])
        second = store.record([note("c")])
        grouped = store.append([[note("d")], [note("e"), note("f")], []])
        assert (first, second) == ([1, 2], [3])
        assert [list(r) for r in grouped] == [[4], [5, 6], []]
        assert first.new == (True, True) and all(r.all_new for r in grouped)
        events = store.read_after(0)
        assert [e.data["text"] for e in events] == list("abcdef")
        assert_chain(events)
        assert store.last_position() == 6

    def test_a_recorded_event_keeps_what_it_was_given(self, store: Recorder) -> None:
        given = NewEvent(type="note.added", stream="notes:é", data={"text": "olá 👍", "n": [1]},
                         actor="agent:ana", idempotency_key="k-1")
        [position] = store.record([given])
        event = store.get(position)
        assert event is not None
        assert (event.id, event.type, event.stream, event.actor, event.idempotency_key,
                event.data) == (given.id, "note.added", "notes:é", "agent:ana", "k-1",
                                {"text": "olá 👍", "n": [1]})
        assert event.occurred_at.endswith("Z") and event.recorded_at.endswith("Z")
        assert event.occurred_at == event.recorded_at  # no occurred_at: recorded_at

    def test_append_takes_batches_not_events(self, store: Recorder) -> None:
        with pytest.raises(TypeError):
            store.append([note()])  # type: ignore[list-item]
        assert store.append([]) == []
        assert store.last_position() == 0

    # -- idempotency -------------------------------------------------------------------

    def test_a_key_repeated_within_a_batch_is_recorded_once(self, store: Recorder) -> None:
        result = store.record([note("a", key="k"), note("b"), note("again", key="k")])
        assert list(result) == [1, 2, 1]
        assert result.new == (True, True, False) and not result.all_new
        assert store.last_position() == 2

    def test_a_key_repeated_across_batches_of_one_group_is_recorded_once(
            self, store: Recorder) -> None:
        results = store.append([[note("a", key="k")], [note("again", key="k")],
                                [note("other", key="o"), note("again, again", key="k")]])
        assert [list(r) for r in results] == [[1], [1], [2, 1]]
        assert [r.new for r in results] == [(True,), (False,), (True, False)]
        assert [e.data["text"] for e in store.read_after(0)] == ["a", "other"]

    def test_a_key_repeated_in_a_later_append_points_at_the_first(
            self, store: Recorder) -> None:
        store.record([note("a", key="k")])
        store.record([note("b")])
        again = store.record([note("c"), note("a, later", key="k")])
        assert list(again) == [3, 1] and again.new == (True, False)
        [grouped] = store.append([[note("a, later still", key="k")]])
        assert list(grouped) == [1] and grouped.new == (False,)
        found = store.find_by_key("k")
        assert found is not None and (found.position, found.data["text"]) == (1, "a")

    def test_a_failed_batch_leaves_its_keys_free(self, store: Recorder) -> None:
        results = store.append([[note("lost", key="k"), unserialisable("object")],
                                [note("kept", key="k")]])
        assert results[0].error is not None and list(results[0]) == []
        assert list(results[1]) == [1] and results[1].new == (True,)
        found = store.find_by_key("k")
        assert found is not None and found.data["text"] == "kept"

    # -- reading -----------------------------------------------------------------------

    def test_find_by_key(self, store: Recorder) -> None:
        store.record([note("a", key="k-a"), note("b"), note("c", key="k-c")])
        found = store.find_by_key("k-c")
        assert found is not None
        assert (found.position, found.data, found.idempotency_key) == (
            3, {"text": "c"}, "k-c")
        assert found == store.get(3)
        assert store.find_by_key("k-missing") is None
        assert store.find_by_key("") is None

    def test_get(self, store: Recorder) -> None:
        assert store.get(1) is None
        store.record([note("a"), note("b")])
        events = store.read_after(0)
        assert [store.get(1), store.get(2)] == events
        assert store.get(0) is None and store.get(3) is None and store.get(-1) is None

    def test_head(self, store: Recorder) -> None:
        assert store.head() == Head(0, GENESIS_HASH) == (0, "0" * 64)
        assert store.last_position() == 0
        store.record([note("a"), note("b")])
        last = store.get(2)
        assert last is not None and store.head() == Head(2, last.hash)
        store.record([note("c", key="k")])
        store.record([note("c again", key="k")])  # nothing recorded: the head stays
        third = store.get(3)
        assert third is not None and store.head() == (3, third.hash)
        assert store.last_position() == 3

    def test_read_filters(self, store: Recorder) -> None:
        store.record([note("1", stream="s:a", type_="note.added"),
                      note("2", stream="s:b", type_="note.added"),
                      note("3", stream="s:a", type_="note.removed"),
                      note("4", stream="s:b", type_="note.pinned"),
                      note("5", stream="s:a", type_="note.added"),
                      note("6", stream="s:a", type_="note.pinned")])

        def texts(*args: Any, **kwargs: Any) -> list[str]:
            return [e.data["text"] for e in store.read_after(*args, **kwargs)]

        assert texts() == list("123456")
        assert texts(2) == list("3456")
        assert texts(0, 2) == list("12")
        assert texts(3, 2) == list("45")
        assert texts(6) == [] and texts(0, 0) == []
        assert texts(types=["note.added"]) == list("125")
        assert texts(types=("note.removed", "note.pinned")) == list("346")
        assert texts(types=iter(["note.pinned"])) == list("46")
        assert texts(types=[]) == []
        assert texts(types=["no.such"]) == []
        assert texts(stream="s:a") == list("1356")
        assert texts(stream="s:none") == []
        assert texts(upto=4) == list("1234")
        assert texts(2, upto=4) == list("34")
        assert texts(upto=0) == []
        assert texts(1, 2, types=["note.added", "note.pinned"], stream="s:a", upto=6) == ["5", "6"]
        assert texts(1, 1, types=["note.added", "note.pinned"], stream="s:a") == ["5"]

    def test_iter_after_pages_through_everything(self, store: Recorder) -> None:
        store.append([[note(str(i), stream=f"s:{i % 3}") for i in range(b * 5, b * 5 + 5)]
                      for b in range(5)])
        every = store.read_after(0, 100)
        assert len(every) == 25
        assert list(store.iter_after(0, page=4)) == every
        assert list(store.iter_after(0, page=5)) == every  # a page ends exactly at the end
        assert list(store.iter_after(7, page=3)) == every[7:]
        assert list(store.iter_after(0, page=2, upto=9)) == every[:9]
        assert list(store.iter_after(0, page=2, stream="s:1")) == [
            e for e in every if e.stream == "s:1"]
        assert list(store.iter_after(0, page=2, types=["note.added"], stream="s:2",
                                     upto=20)) == [
            e for e in every if e.stream == "s:2" and e.position <= 20]
        assert list(store.iter_after(25)) == []

    # -- atomicity and errors of one batch ---------------------------------------------

    @pytest.mark.parametrize("kind", ["object", "lone surrogate"])
    def test_a_batch_that_cannot_be_stored_fails_alone(self, store: Recorder,
                                                       kind: str) -> None:
        store.record([note("before")])
        results = store.append([[note("a")], [note("lost with its batch"), unserialisable(kind)],
                                [note("b"), note("c")]])
        assert [list(r) for r in results] == [[2], [], [3, 4]]
        assert results[0].ok and results[2].ok
        assert results[1].error is not None and not results[1].ok
        with pytest.raises(type(results[1].error)):
            results[1].raise_for_error()
        with pytest.raises((TypeError, ValueError)):
            store.record([note("lost too"), unserialisable(kind)])
        assert store.record([note("d")]) == [5]  # no gap left behind
        events = store.read_after(0)
        assert [e.data["text"] for e in events] == ["before", "a", "b", "c", "d"]
        assert_chain(events)

    def test_a_reused_event_id_fails_its_batch_only(self, store: Recorder) -> None:
        [first] = store.record([note("first")])
        taken = store.get(first)
        assert taken is not None
        reused = NewEvent(type="note.added", stream="notes:a", data={"text": "reused"},
                          id=taken.id)
        twin = note("twin")
        results = store.append([[note("a", key="k")], [note("lost"), reused],
                                [note("b"), note("a again", key="k")],
                                [twin], [NewEvent(type="note.added", stream="notes:a",
                                                  data={"text": "twin again"}, id=twin.id)]])
        assert [list(r) for r in results] == [[2], [], [3, 2], [4], []]
        assert [r.new for r in results] == [(True,), (), (True, False), (True,), ()]
        for failed in (results[1], results[4]):
            assert isinstance(failed.error, DuplicateEventError)
            self.assert_ours(failed.error)
        with pytest.raises(DuplicateEventError) as caught:
            store.record([reused])
        self.assert_ours(caught.value)
        with pytest.raises(DuplicateEventError):
            store.record([twin])
        events = store.read_after(0)
        assert [e.data["text"] for e in events] == ["first", "a", "b", "twin"]
        assert_chain(events)

    def test_history_cannot_be_changed_behind_the_store(self, store: Recorder) -> None:
        store.record([note("a"), note("b")])
        before = store.read_after(0)
        with pytest.raises(ImmutableEventError) as updated:
            self.tamper_update(store)
        self.assert_ours(updated.value)
        with pytest.raises(ImmutableEventError) as deleted:
            self.tamper_delete(store)
        self.assert_ours(deleted.value)
        assert store.read_after(0) == before
        assert self.keep(self.open_another(store)).read_after(0) == before

    # -- storage errors ----------------------------------------------------------------

    @pytest.mark.parametrize("damage", ["garbage", "damaged"])
    def test_a_corrupt_database_is_reported_as_such(self, tmp_path: Path,
                                                    damage: str) -> None:
        with pytest.raises(CorruptStoreError) as caught:
            damaged = self.keep(self.open_corrupt(tmp_path, damage))
            damaged.read_after(0, 100_000)
            damaged.head()
        self.assert_ours(caught.value)

    def test_a_write_lock_held_elsewhere_makes_the_store_unavailable(
            self, store: Recorder) -> None:
        store.record([note("a")])
        waiting = self.keep(self.impatient(store))
        with self.hold_write_lock(store):
            with pytest.raises(StoreUnavailableError) as caught:
                waiting.record([note("b")])
            self.assert_ours(caught.value)
            results = waiting.append([[note("c")], [note("d")], [note("e")]])
            assert all(isinstance(r.error, StoreUnavailableError) for r in results)
            for result in results:
                self.assert_ours(result.error)
            assert [e.data["text"] for e in waiting.read_after(0)] == ["a"]  # reads go on
        assert waiting.record([note("f")]) == [2]
        assert_chain(store.read_after(0))

    def test_a_group_the_store_is_too_busy_for_fails_at_once(self, store: Recorder) -> None:
        """Busy is not a batch's fault: retrying each batch alone would make every one
        of them wait out the timeout again (with 30 s and a full group, hours)."""
        waiting = self.keep(self.impatient(store))
        with self.hold_write_lock(store):
            started = time.monotonic()
            results = waiting.append([[note(str(i))] for i in range(20)])
            took = time.monotonic() - started
        assert all(isinstance(r.error, StoreUnavailableError) for r in results)
        assert took < 8 * self.impatient_wait, f"{took:.2f}s for one busy group"
        assert store.last_position() == 0

    # -- other connections and processes -----------------------------------------------

    def test_changes_moves_when_another_connection_commits(self, store: Recorder) -> None:
        other = self.keep(self.open_another(store))
        store.record([note("a")])
        seen = store.changes()
        assert store.changes() == seen  # nothing happened elsewhere
        other.record([note("from elsewhere")])
        moved = store.changes()
        assert moved != seen
        assert [e.data["text"] for e in store.read_after(0)] == ["a", "from elsewhere"]
        assert store.head() == other.head()
        other.append([[note("again")], [note("and again")]])
        assert store.changes() != moved
        assert store.last_position() == 4

    def test_two_processes_append_at_once(self, store: Recorder) -> None:
        """Each process appends ``[own, shared]`` batches, round by round, both rounds
        released together: every shared key is a race between the processes. Each is
        recorded once, and exactly one process is told it recorded it."""
        batches = 60
        tags = ("p", "q")
        procs = [subprocess.Popen(self.appender_command(store, tag, batches), cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for tag in tags]
        lines: dict[str, list[str]] = {tag: [] for tag in tags}
        try:
            for proc in procs:
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            for _ in range(batches):
                for proc in procs:  # release every process's round before waiting
                    assert proc.stdin is not None
                    proc.stdin.write("\n")
                    proc.stdin.flush()
                for tag, proc in zip(tags, procs, strict=True):
                    assert proc.stdout is not None
                    line = proc.stdout.readline().strip()
                    assert line, f"appender {tag} stopped"
                    lines[tag].append(line)
            for proc in procs:
                proc.communicate(timeout=60)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        assert [proc.returncode for proc in procs] == [0, 0]
        events = store.read_after(0, 100_000)
        assert len(events) == 3 * batches
        assert_chain(events)
        keys = [e.idempotency_key for e in events]
        assert len(set(keys)) == len(keys)
        by_position = {e.position: e for e in events}
        winners: dict[str, int] = {}
        for tag in tags:
            for i, line in enumerate(lines[tag]):
                own, own_new, shared, shared_new = line.split(",")
                assert own_new == "1"
                assert by_position[int(own)].idempotency_key == f"{tag}-{i}"
                assert by_position[int(shared)].idempotency_key == f"shared-{i}"
                if shared_new == "1":
                    assert int(shared) == int(own) + 1  # the batch was not split
                    winners[f"shared-{i}"] = winners.get(f"shared-{i}", 0) + 1
        assert winners == {f"shared-{i}": 1 for i in range(batches)}
        for i in range(batches):
            found = store.find_by_key(f"shared-{i}")
            assert found is not None and found.data["i"] == i
