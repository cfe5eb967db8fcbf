"""The per-process fan-out: the tailer publishes frames, every open stream takes them.

Each subscriber has a bounded queue of references to shared frames. A subscriber
whose queue is full is not waited for and its queue is not grown: the hub drops the
queue and marks it ``overflowed``, and the stream then reads the log from its last
position (see ``follow``). So one stalled client costs the others nothing, and its
memory is bounded by the queue limit. The hub also keeps the latest frames (bounded
in count and bytes), so catching up a little is served from memory.

Each subscriber has a ``Viewer`` (``crm.stream.viewers``). The hub indexes subscribers
by the keys of their credential, so a frame that ends a credential closes exactly
those streams (found by key, not by looking at every stream), and by owner, so an
owner's oldest stream is closed when it opens one more than ``per_owner``.

Frames that are not in the log (presence, ``announce``) have no position: each stream
keeps a few in a small queue of its own, sent with its next chunk; the oldest are
dropped first (a newer presence frame supersedes them anyway).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from itertools import islice

from crm.stream.frames import Frame
from crm.stream.viewers import Key, Viewer

EVERYONE = Viewer()
#: Presence frames a stream may hold before the oldest are dropped (they are superseded).
EPHEMERAL_LIMIT = 256


class Subscription:
    """One open stream's view of the hub. Used from the event loop only."""

    __slots__ = ("frames", "overflowed", "closed", "heartbeat_due", "last_sent", "_waiter",
                 "viewer", "checked", "ephemeral")

    def __init__(self, viewer: Viewer = EVERYONE, checked: int = 0) -> None:
        self.viewer = viewer
        #: The log's position when the credential was last checked: frames up to here
        #: cannot end this stream (the check already saw them).
        self.checked = checked
        self.frames: deque[Frame] = deque()
        #: Frames outside the log (presence): no position, sent with the next chunk.
        self.ephemeral: deque[bytes] = deque(maxlen=EPHEMERAL_LIMIT)
        self.overflowed = False
        self.closed = False
        self.heartbeat_due = False
        self.last_sent = time.monotonic()
        self._waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until there is something to do: frames, an overflow, a heartbeat or the end."""
        if (self.frames or self.ephemeral or self.overflowed or self.closed
                or self.heartbeat_due):
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def take(self, after: int) -> tuple[bytes, int]:
        """Everything queued after position ``after``, as one chunk, and the new last."""
        frames = self.frames
        extra = b""
        if self.ephemeral:
            extra = b"".join(self.ephemeral)
            self.ephemeral.clear()
        if not frames:
            return extra, after
        viewer = self.viewer
        if viewer.admin:
            chunk = b"".join([data for position, data, _ in frames if position > after])
        else:
            chunk = b"".join([data for position, data, mark in frames
                              if position > after and (mark is None or viewer.sees(mark))])
        last = max(after, frames[-1][0])
        frames.clear()
        return chunk + extra, last

    def rearm(self) -> None:
        """Take live frames again (called just before reading the log to catch up)."""
        self.overflowed = False
        self.frames.clear()

    def sent(self) -> None:
        self.last_sent = time.monotonic()
        self.heartbeat_due = False


class Hub:
    """Hands the same frames to every subscriber of this process."""

    def __init__(self, limit: int = 512, position: int = 0, *, recent: int = 4096,
                 recent_bytes: int = 16 * 1024 * 1024, per_owner: int | None = None) -> None:
        if limit < 1:
            raise ValueError("the queue limit must be at least 1")
        self.limit = limit
        self.per_owner = per_owner
        #: Streams ended because their credential ended, or their owner opened too many.
        self.ended = 0
        #: Last position published; streams that start "now" start here.
        self.position = position
        self.closed = False
        self.overflows = 0
        self._subscribers: set[Subscription] = set()
        self._by_key: dict[Key, set[Subscription]] = {}
        #: Per owner, their streams oldest first (dicts keep insertion order).
        self._by_owner: dict[Key, dict[Subscription, None]] = {}
        #: The latest frames, shared: a stream a little behind catches up from here
        #: without a database read or a second encoding.
        self._recent: deque[Frame] = deque()
        self._recent_max = recent
        self._recent_bytes_max = recent_bytes
        self._recent_bytes = 0

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, viewer: Viewer = EVERYONE, checked: int = 0) -> Subscription:
        sub = Subscription(viewer, checked)
        sub.closed = self.closed
        if self.closed:
            return sub
        self._subscribers.add(sub)
        for key in viewer.keys:
            self._by_key.setdefault(key, set()).add(sub)
        if viewer.owner is not None:
            owned = self._by_owner.setdefault(viewer.owner, {})
            owned[sub] = None
            while self.per_owner is not None and len(owned) > self.per_owner:
                self._end(next(iter(owned)))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)
        for key in sub.viewer.keys:
            subs = self._by_key.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_key[key]
        owner = sub.viewer.owner
        if owner is not None:
            owned = self._by_owner.get(owner)
            if owned is not None:
                owned.pop(sub, None)
                if not owned:
                    del self._by_owner[owner]

    def _end(self, sub: Subscription) -> None:
        """End one stream: it stops taking frames and its loop returns."""
        self.unsubscribe(sub)
        sub.closed = True
        sub.frames.clear()
        self.ended += 1
        sub.wake()

    def _end_credentials(self, frames: Sequence[Frame]) -> None:
        for position, _, mark in frames:
            if mark is None or not mark.ends:
                continue
            for key in mark.ends:
                for sub in list(self._by_key.get(key, ())):
                    if position > sub.checked:
                        self._end(sub)

    def publish(self, frames: Sequence[Frame]) -> None:
        """Queue frames (in position order, contiguous with earlier ones) for everyone."""
        if not frames:
            return
        self.position = max(self.position, frames[-1][0])
        self._remember(frames)
        limit = self.limit
        for sub in self._subscribers:
            if sub.overflowed:
                continue
            if len(sub.frames) + len(frames) > limit:
                sub.frames.clear()
                sub.overflowed = True
                self.overflows += 1
            else:
                sub.frames.extend(frames)
            sub.wake()
        if self._by_key:
            self._end_credentials(frames)

    def announce(self, data: bytes, assignee: str | None) -> None:
        """Hand a frame that is not in the log (presence) to every stream that may see
        its chat (``assignee``: the chat's, for ``CRM_VISIBILITY=assigned``)."""
        for sub in self._subscribers:
            if sub.viewer.sees_chat(assignee):
                sub.ephemeral.append(data)
                sub.wake()

    def since(self, after: int, limit: int) -> list[Frame] | None:
        """Up to ``limit`` published frames after ``after``; None if no longer held."""
        recent = self._recent
        if after >= self.position:
            return []
        if not recent or after < recent[0][0] - 1:
            return None
        start = after - recent[0][0] + 1
        frames = list(islice(recent, start, start + limit))
        if not frames or frames[0][0] != after + 1:  # positions not contiguous: use the log
            return None
        return frames

    def _remember(self, frames: Sequence[Frame]) -> None:
        recent = self._recent
        recent.extend(frames)
        self._recent_bytes += sum(len(frame[1]) for frame in frames)
        while recent and (len(recent) > self._recent_max
                          or self._recent_bytes > self._recent_bytes_max):
            self._recent_bytes -= len(recent.popleft()[1])

    def heartbeat(self, interval: float, now: float | None = None) -> None:
        """Mark streams that sent nothing for ``interval`` seconds as due a heartbeat."""
        now = time.monotonic() if now is None else now
        for sub in self._subscribers:
            if not sub.heartbeat_due and now - sub.last_sent >= interval:
                sub.heartbeat_due = True
                sub.wake()

    def close(self) -> None:
        """End every stream (server shutdown); later subscribers end at once."""
        self.closed = True
        for sub in self._subscribers:
            sub.closed = True
            sub.wake()
        self._subscribers.clear()
        self._by_key.clear()
        self._by_owner.clear()
