"""One writer thread per process, committing concurrent appends together.

Concurrent webhooks each awaiting their own commit would pay an fsync each; here the
writer thread takes every append that queued up while it was committing the previous
group and commits them in one transaction (group commit). Other tasks never share its
connection, so no statement of theirs can slip into its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crm.events.model import NewEvent
from crm.events.store import EventStore, OnAppend

MAX_GROUP = 512


@dataclass(slots=True)
class _Pending:
    events: Sequence[NewEvent]
    future: asyncio.Future[list[int]]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class GroupWriter:
    """Async front of an ``EventStore`` that lives on its own thread."""

    def __init__(self, path: str | Path, on_append: OnAppend | None = None) -> None:
        self.path = Path(path)
        self._on_append = on_append
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._listeners: list[Callable[[int], None]] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="crm-writer", daemon=True)
        self.last_position = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Called on the writer thread with the last position after every commit."""
        self._listeners.append(listener)

    async def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append a batch atomically; resolves once it is durably committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._queue.put(_Pending(events, future, loop))
        # Shielded: a caller that goes away must not make us forget what was written.
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
                group: list[_Pending] = [item]  # type: ignore[list-item]
                while len(group) < MAX_GROUP:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop = True
                        break
                    group.append(more)  # type: ignore[arg-type]
                self._commit(store, group)
        finally:
            store.close()

    def _commit(self, store: EventStore, group: list[_Pending]) -> None:
        try:
            results = store.append_group([p.events for p in group])
        except BaseException as exc:  # noqa: BLE001 - every caller learns of it
            results = [exc] * len(group)
        # One wake-up per event loop, not one per caller: 32 callers are one group.
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for pending, result in zip(group, results, strict=True):
            by_loop.setdefault(pending.loop, []).append((pending.future, result))
        for loop, settled in by_loop.items():
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, settled)
        positions = [max(r) for r in results if isinstance(r, list) and r]
        if positions:
            self.last_position = max(self.last_position, *positions)
            for listener in self._listeners:
                listener(self.last_position)


def _settle_all(settled: list[tuple[asyncio.Future[list[int]], list[int] | BaseException]]
                ) -> None:
    for future, result in settled:
        if future.cancelled():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
