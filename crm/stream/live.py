"""The live stream of one process: hub + tailer + heartbeats, started with the app."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

from crm.events.database import Database
from crm.events.store import last_position
from crm.stream import presence
from crm.stream.follow import follow
from crm.stream.frames import Frame, read_frames
from crm.stream.hub import EVERYONE, Hub
from crm.stream.presence import Board
from crm.stream.tailer import Tailer
from crm.stream.viewers import ChatOwners, Viewer


class LiveStream:
    """What ``GET /api/stream`` serves from. One per process, in ``services().stream``."""

    def __init__(self, db: Database, *, heartbeat: float = 15.0, poll: float = 0.025,
                 queue: int = 512, page: int = 200, recent: int = 4096,
                 max_age: float | None = None, per_owner: int | None = None,
                 restricted: bool = False, rows: bool = True) -> None:
        self.db = db
        self.heartbeat = heartbeat
        self.max_age = max_age
        self.page = page
        self.hub = Hub(limit=queue, recent=recent, per_owner=per_owner)
        #: Each chat's assignee, kept only when some viewers see only theirs.
        self.owners = ChatOwners() if restricted else None
        self.board = Board(self.hub, self.assignee)
        self.rows = rows
        self.tailer = Tailer(db.path, self.hub, poll=poll, owners=self.owners,
                             board=self.board, rows=rows)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, stopping: asyncio.Event) -> None:
        """Follow the log from its current end; end every stream once ``stopping`` is set."""
        await self.db.write(presence.create_schema)
        await self.tailer.start(self.db.writer)
        self.board.start()
        self._tasks = [
            asyncio.create_task(self._heartbeats(), name="crm-stream-heartbeat"),
            asyncio.create_task(self._end_on(stopping), name="crm-stream-stopping"),
        ]

    def assignee(self, phone: str) -> str | None:
        return self.owners.get(phone) if self.owners is not None else None

    async def stop(self) -> None:
        await self.board.stop()
        self.hub.close()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self.tailer.stop()

    async def end(self) -> int:
        """The last position in the log now (the tailer may not have published it yet)."""
        return max(self.hub.position, await self.db.read(last_position))

    def follow(self, after: int, viewer: Viewer = EVERYONE,
               checked: int = 0) -> AsyncIterator[bytes]:
        """The stream of every event after position ``after`` that ``viewer`` may see,
        then live; it ends when the viewer's credential ends after position ``checked``.

        Routes fix ``after`` when the request arrives (``end()`` for "from now"), not
        when the body starts: an event recorded in between is then sent, not lost.
        With ``max_age`` the stream ends after about that many seconds anyway, so the
        client reconnects and is authenticated again.
        """
        until = None
        if self.max_age:  # spread out, so streams opened together do not all reconnect together
            until = time.monotonic() + self.max_age * random.uniform(0.8, 1.0)
        return follow(self.hub, self._read_page, after, page=self.page, until=until,
                      viewer=viewer, checked=checked,
                      present=lambda: self.board.snapshot(viewer.sees_chat))

    async def signal(self, agent: str, phone: str, state: str, ttl: float,
                     typing_every: float | None = None) -> bool:
        """A page's presence signal; True if Meta's typing indicator is due."""
        return await self.db.write(presence.signal, agent, phone, state, ttl, typing_every)

    async def _read_page(self, after: int, limit: int) -> list[Frame]:
        return await self.db.read(read_frames, after, limit, self.owners, False, self.rows)

    async def _heartbeats(self) -> None:
        tick = min(1.0, self.heartbeat / 4)
        while True:
            await asyncio.sleep(tick)
            self.hub.heartbeat(self.heartbeat)

    async def _end_on(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self.hub.close()
