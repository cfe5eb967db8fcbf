"""One reader of new events per process; the log is the truth, notices are hints.

The tailer is a thread with its own connection. Two things wake it: this process's
writer thread after each commit (immediately, without going through the event loop),
and a timeout every ``poll`` seconds, after which it checks the log's ``changes()``,
which changes when any other connection (another worker, a CLI command) commits. It
then reads the new rows once, encodes each once, and hands the frames to the hub on
the event loop. An idle poll costs one PRAGMA on this thread and never wakes the loop.

While events keep coming it reads at most once per ``poll`` interval: the first event
after a quiet spell goes out at once, later ones are batched, so at 100 events/s each
stream gets about 40 sends a second instead of 100 (sends, not events, are what cost).
It waits for the loop to take each page before reading the next, so a burst of
events cannot pile up in memory faster than the loop hands them out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

from crm.events import EventStore
from crm.events.connection import open_reader
from crm.events.writer import GroupWriter
from crm.stream.frames import Frame, read_frames
from crm.stream.hub import Hub
from crm.stream.presence import Board
from crm.stream.viewers import ChatOwners

log = logging.getLogger("crm.stream")

RETRY_AFTER = 1.0  # seconds before a failed read is tried again


class Tailer:
    def __init__(self, path: str | Path, hub: Hub, *, poll: float = 0.025,
                 page: int = 500, owners: ChatOwners | None = None,
                 board: Board | None = None, rows: bool = True) -> None:
        self.path = Path(path)
        #: Kept from the events read (``CRM_VISIBILITY=assigned``), else None.
        self.owners = owners
        #: Presence, read from its table after every commit noticed (``crm.stream.presence``).
        self.board = board
        self.hub = hub
        #: Frames carry the chat and message rows (``crm.stream.frames``).
        self.rows = rows
        self.poll = poll
        self.page = page
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stopped = False
        self._published_at = 0.0  # time.monotonic() of the last page handed out
        self._conn: sqlite3.Connection | None = None
        self._position = 0
        self._data_version = -1

    async def start(self, writer: GroupWriter | None = None) -> None:
        """Open the connection, start at the end of the log, begin following."""
        self._loop = asyncio.get_running_loop()
        self.hub.position = await asyncio.to_thread(self._open)
        self._thread = threading.Thread(target=self._run, name="crm-stream-tailer",
                                        daemon=True)
        self._thread.start()
        if writer is not None:
            writer.add_listener(self._on_commit)

    async def stop(self) -> None:
        self._stopped = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    def _on_commit(self, position: int) -> None:
        """Runs on the writer thread after each local commit."""
        self._wake.set()

    # -- the tailer thread -----------------------------------------------------------

    def _open(self) -> int:
        conn = open_reader(self.path)
        self._conn = conn
        log_ = EventStore.over(conn)
        self._data_version = log_.changes()
        self._position = log_.last_position()
        if self.owners is not None:  # after the position: a later assignment is read again
            self.owners.load(conn)
        return self._position

    def _run(self) -> None:
        force = False
        try:
            while not self._stopped:
                hinted = self._wake.wait(self.poll)
                busy = self._published_at + self.poll - time.monotonic()
                if hinted and busy > 0:  # events keep coming: batch them
                    self._stop.wait(busy)
                self._wake.clear()  # a commit noticed after this is read below
                if self._stopped:
                    return
                try:
                    self._catch_up(hinted or force)
                    force = False
                except Exception:  # noqa: BLE001 - the tailer must outlive a bad read
                    log.exception("stream tailer: reading new events failed; retrying")
                    force = True  # from the same position: nothing is skipped
                    self._wake.wait(RETRY_AFTER)
        finally:
            if self._conn is not None:
                self._conn.close()

    def _catch_up(self, hinted: bool) -> None:
        conn = self._conn
        assert conn is not None
        version = EventStore.over(conn).changes()
        if not hinted and version == self._data_version:
            return
        self._read_events(conn, version)
        if self.board is not None and not self._stopped:
            self._read_presence(conn)

    def _read_presence(self, conn: sqlite3.Connection) -> None:
        assert self.board is not None and self._loop is not None
        rows = self.board.poll(conn)  # its table is made before the tailer starts
        if rows:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                self._loop.call_soon_threadsafe(self.board.receive, rows)

    def _read_events(self, conn: sqlite3.Connection, version: int) -> None:
        while not self._stopped:
            frames = read_frames(conn, self._position, self.page, self.owners, True,
                                 self.rows)
            self._data_version = version  # only once read: a failed read is tried again
            if not frames:
                return
            self._position = frames[-1][0]
            self._publish(frames)
            self._published_at = time.monotonic()
            if len(frames) < self.page:
                return

    def _publish(self, frames: list[Frame]) -> None:
        """Hand frames to the hub on the loop, and wait until it has taken them."""
        assert self._loop is not None
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def publish() -> None:
            try:
                self.hub.publish(frames)
            finally:
                done.set_result(None)

        try:
            self._loop.call_soon_threadsafe(publish)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stopped = True
            return
        while not self._stopped:
            try:
                done.result(timeout=0.5)
                return
            except concurrent.futures.TimeoutError:
                continue
