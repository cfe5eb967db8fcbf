"""Who is viewing or typing in which chat: ephemeral, beside the log, across workers.

Presence is the moment's state, not history: an "Ana is typing" from a minute ago is
worth nothing, and recording one every few seconds per open tab would fill the log
(and every export and replay) with noise. So it is a small table, ``presence_signals``,
one row per (agent, chat) with an expiry, replaced on each signal: the page renews it
every few seconds while the chat is open, and a row that is not renewed lapses, which
is how a closed tab disappears. Rows are written only when a page signals, so an idle
server writes nothing.

The table is the channel between workers: a replaced row gets a new ``id``
(AUTOINCREMENT), and each process's tailer, which already notices every commit to the
database, reads the rows after the last id it saw and hands them to the ``Board`` on
the event loop; the board announces each change to the hub as an ``event: presence``
frame (no ``id``: it is not a log position) and an ``expired`` one when a row lapses.

The same transaction also decides whether Meta's typing indicator is due for a chat
(at most once per ``TYPING_EVERY`` seconds, over every worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from crm.events import Connection, immediate
from crm.stream.frames import presence_frame
from crm.stream.hub import Hub

State = Literal["viewing", "typing", "left"]
STATES: tuple[str, ...] = ("viewing", "typing", "left")

#: Seconds between two typing indicators sent to Meta for one chat.
TYPING_EVERY = 20.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS presence_signals (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    agent   TEXT NOT NULL,
    phone   TEXT NOT NULL,
    state   TEXT NOT NULL,
    expires REAL NOT NULL,
    UNIQUE (agent, phone)
);
CREATE TABLE IF NOT EXISTS typing_sent (
    phone TEXT PRIMARY KEY,
    at    REAL NOT NULL
);
"""


def create_schema(conn: Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def signal(conn: Connection, agent: str, phone: str, state: str, ttl: float,
           typing_every: float | None = None, now: float | None = None) -> bool:
    """Record a signal; True if Meta's typing indicator is due for the chat now."""
    now = time.time() if now is None else now
    expires = now if state == "left" else now + ttl
    with immediate(conn):
        conn.execute("INSERT OR REPLACE INTO presence_signals (agent, phone, state, expires) "
                     "VALUES (?, ?, ?, ?)", (agent, phone, state, expires))
        conn.execute("DELETE FROM presence_signals WHERE expires < ?", (now - 60,))
        if state != "typing" or typing_every is None:
            return False
        due = conn.execute(
            "INSERT INTO typing_sent (phone, at) VALUES (?, ?) ON CONFLICT (phone) "
            "DO UPDATE SET at = excluded.at WHERE typing_sent.at <= ? RETURNING at",
            (phone, now, now - typing_every)).fetchone()
        return due is not None


Row = tuple[int, str, str, str, float]


def changed_since(conn: Connection, after: int) -> list[Row]:
    return conn.execute("SELECT id, agent, phone, state, expires FROM presence_signals "
                        "WHERE id > ? ORDER BY id", (after,)).fetchall()


@dataclass
class Seen:
    state: str
    expires: float


class Board:
    """This process's view of who is where; used from the event loop, fed by the tailer."""

    def __init__(self, hub: Hub, assignee: Callable[[str], str | None]) -> None:
        self.hub = hub
        self.assignee = assignee
        self.last_id = 0
        self.present: dict[tuple[str, str], Seen] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poll(self, conn: Connection) -> list[Row]:
        """Runs on the tailer's thread after a commit somewhere: the new rows."""
        rows = changed_since(conn, self.last_id)
        if rows:
            self.last_id = rows[-1][0]
        return rows

    def receive(self, rows: list[Row], now: float | None = None) -> None:
        now = time.time() if now is None else now
        for _, agent, phone, state, expires in rows:
            key = (agent, phone)
            if state == "left" or expires <= now:
                if self.present.pop(key, None) is not None:
                    self._announce(agent, phone, "left", 0.0)
                continue
            before = self.present.get(key)
            self.present[key] = Seen(state, expires)
            if before is None or before.state != state or state == "typing":
                self._announce(agent, phone, state, expires)
        self._changed.set()

    def _announce(self, agent: str, phone: str, state: str, expires: float) -> None:
        data = {"agent": agent, "phone": phone, "state": state,
                "expires": round(expires, 3)}
        self.hub.announce(presence_frame(data), self.assignee(phone))

    def snapshot(self, sees: Callable[[str | None], bool]) -> list[bytes]:
        """What a new stream should know at once: everyone present in chats it may see."""
        return [presence_frame({"agent": agent, "phone": phone, "state": seen.state,
                                "expires": round(seen.expires, 3)})
                for (agent, phone), seen in self.present.items()
                if sees(self.assignee(phone))]

    def expire(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for key in [k for k, seen in self.present.items() if seen.expires <= now]:
            del self.present[key]
            self._announce(key[0], key[1], "left", 0.0)

    async def run(self) -> None:
        """Announce lapsed rows (a closed tab); sleeps without a timer while nobody is here."""
        while True:
            if not self.present:
                self._changed.clear()
                await self._changed.wait()
            await asyncio.sleep(0.25)
            self.expire()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="crm-presence-board")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
