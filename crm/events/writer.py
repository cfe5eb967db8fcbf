"""One writer thread per process: every write of the process goes through it.

Concurrent webhooks each awaiting their own commit would pay an fsync each; here the
writer thread takes every append that queued up while it was committing the previous
group and commits them in one transaction (group commit). Other writes (sessions, the
sign-in limiter, leases, job tables) are functions run on the same thread in their own
transaction, so the process never has two connections competing for SQLite's lock and
reader connections can be read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from crm.events.connection import translate
from crm.events.errors import EventStoreError
from crm.events.model import NewEvent
from crm.events.results import AppendResult
from crm.events.store import EventStore, OnAppend

MAX_GROUP = 512

T = TypeVar("T")


@dataclass(slots=True)
class _Pending:
    batches: Sequence[Sequence[NewEvent]]
    future: asyncio.Future[list[AppendResult]]
    loop: asyncio.AbstractEventLoop


@dataclass(slots=True)
class _Work:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    #: ``fn`` returns events to record in its own transaction (``decide``).
    records: bool = False


_STOP = object()


class GroupWriter:
    """Async front of an ``EventStore`` that lives on its own thread."""

    def __init__(self, path: str | Path, on_append: OnAppend | None = None) -> None:
        self.path = Path(path)
        self._on_append = on_append
        self._queue: queue.SimpleQueue[_Pending | _Work | object] = queue.SimpleQueue()
        self._listeners: list[Callable[[int], object]] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="crm-writer", daemon=True)
        self.last_position = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def add_listener(self, listener: Callable[[int], object]) -> None:
        """Called on the writer thread with the last position after every commit."""
        self._listeners.append(listener)

    async def append(self, batches: Sequence[Sequence[NewEvent]]) -> list[AppendResult]:
        """Append batches (each atomic); resolves once they are durably committed."""
        for batch in batches:
            if isinstance(batch, NewEvent):
                raise TypeError("append takes a list of batches; record() takes one batch")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[AppendResult]] = loop.create_future()
        self._queue.put(_Pending(batches, future, loop))
        # Shielded: a caller that goes away must not make us forget what was written.
        return await asyncio.shield(future)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the writer's connection inside one transaction."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Work(fn, args, future, loop))
        return await asyncio.shield(future)

    async def decide(self, fn: Callable[..., Sequence[NewEvent] | None],
                     *args: Any) -> AppendResult | None:
        """Run ``fn(conn, *args)`` and record the events it returns in the same
        transaction, so what it checked still holds when they are committed (None:
        nothing to record). What it raises is raised here, and nothing is recorded."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult | None] = loop.create_future()
        self._queue.put(_Work(fn, args, future, loop, records=True))
        return await asyncio.shield(future)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        try:
            store = EventStore(self.path, self._on_append)
            self.last_position = store.last_position()
        except BaseException as exc:  # noqa: BLE001 - re-raised by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            stop = False
            while not stop:
                item = self._queue.get()
                if item is _STOP:
                    break
                if isinstance(item, _Work):
                    self._run_work(store, item)
                    continue
                group: list[_Pending] = [item]  # type: ignore[list-item]
                work: list[_Work] = []
                while len(group) < MAX_GROUP:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop = True
                        break
                    if isinstance(more, _Work):
                        work.append(more)  # after this group, in the order they came
                        continue
                    group.append(more)  # type: ignore[arg-type]
                self._commit(store, group)
                for item_ in work:
                    self._run_work(store, item_)
        finally:
            store.close()

    def _run_work(self, store: EventStore, work: _Work) -> None:
        conn = store.conn
        outcome: tuple[bool, Any]
        recorded: AppendResult | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                value = work.fn(conn, *work.args)
                if work.records:  # inside this transaction: immediate() nests
                    value = recorded = store.record(value) if value else None
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            outcome = (True, value)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome = (False, translate(exc))
        with contextlib.suppress(RuntimeError):
            work.loop.call_soon_threadsafe(_settle_one, work.future, outcome)
        if recorded and outcome[0]:
            self.last_position = max(self.last_position, *recorded)
            for listener in self._listeners:
                listener(self.last_position)

    def _commit(self, store: EventStore, group: list[_Pending]) -> None:
        flat = [batch for pending in group for batch in pending.batches]
        try:
            results = store.append(flat)
        except BaseException as exc:  # noqa: BLE001 - every caller learns of it
            error = exc if isinstance(exc, EventStoreError) else EventStoreError(str(exc))
            results = [AppendResult.failed(error)] * len(flat)
        # One wake-up per event loop, not one per caller: 32 callers are one group.
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        start = 0
        for pending in group:
            mine = results[start:start + len(pending.batches)]
            start += len(pending.batches)
            by_loop.setdefault(pending.loop, []).append((pending.future, mine))
        for loop, settled in by_loop.items():
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, settled)
        positions = [max(r) for r in results if r.ok and r]
        if positions:
            self.last_position = max(self.last_position, *positions)
            for listener in self._listeners:
                listener(self.last_position)


def _settle_one(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.cancelled():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _settle_all(settled: list[tuple[asyncio.Future[list[AppendResult]], list[AppendResult]]]
                ) -> None:
    for future, result in settled:
        if not future.cancelled():
            future.set_result(result)
