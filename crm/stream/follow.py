"""One stream's loop: catch up from the log, then follow the hub, never a gap or a repeat.

The subscription is made inside the generator, on its first step: a generator that
is never started (client gone before the body began) has nothing to clean up, and
one that is started always unsubscribes in ``finally``. Cancellation (the client
disconnected) is never caught here; it ends the generator where it waits.

Why no gap and no duplicate: the subscription is (re)armed *before* the log is read,
so every event is either in the pages read afterwards (from the hub's recent frames
when it still holds them, else from the log) or in the queue; frames at or below the
last position sent are skipped when the queue is drained.

Why a revoked credential ends the stream however the frame comes: live frames end it
in the hub (by key); frames read while catching up (from the hub's memory or the log)
are checked here, so a revocation recorded just before the subscription was made is
not missed either. Frames at or below ``checked`` (when the route last authenticated
the request) never end it: that check already saw them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from crm.stream.frames import HEARTBEAT, RETRY, Frame
from crm.stream.hub import EVERYONE, Hub
from crm.stream.viewers import Viewer

#: ``read_page(after, limit)``: the next frames from the log.
ReadPage = Callable[[int, int], Awaitable[list[Frame]]]


def _visible(frames: list[Frame], viewer: Viewer, checked: int) -> bytes | None:
    """The bytes of a page for this viewer, or None if a frame in it ends the stream."""
    if any(mark is not None and mark.ends and position > checked and viewer.ended_by(mark)
           for position, _, mark in frames):
        return None
    if viewer.admin:
        return b"".join([data for _, data, _ in frames])
    return b"".join([data for _, data, mark in frames if mark is None or viewer.sees(mark)])


async def follow(hub: Hub, read_page: ReadPage, after: int, *, page: int = 200,
                 until: float | None = None, viewer: Viewer = EVERYONE,
                 checked: int = 0,
                 present: Callable[[], list[bytes]] | None = None) -> AsyncIterator[bytes]:
    """The bytes of an event stream starting after position ``after``, as ``viewer``
    may see them.

    It ends cleanly when the hub closes (shutdown), at ``until`` (``time.monotonic``),
    checked at least at every heartbeat, when the viewer's credential ends, or when
    its owner opens too many streams; the client then reconnects with its last id
    (and is authenticated again). ``present()``: the presence frames it starts with.
    """
    sub = hub.subscribe(viewer, checked)
    if present is not None:  # who is viewing what right now (presence, not in the log)
        sub.ephemeral.extend(present())
    try:
        yield RETRY
        last = after
        from_log = True
        while not sub.closed and (until is None or time.monotonic() < until):
            if from_log:
                from_log = False
                sub.rearm()
                while not sub.closed:
                    frames = hub.since(last, page)
                    if frames is None:  # too far behind for the hub's memory
                        frames = await read_page(last, page)
                    if frames:
                        chunk = _visible(frames, viewer, checked)
                        if chunk is None:
                            return
                        last = frames[-1][0]
                        if chunk:
                            yield chunk
                            sub.sent()
                    if len(frames) < page:
                        break
                continue
            chunk, last = sub.take(last)
            if chunk:
                yield chunk
                sub.sent()
            elif sub.overflowed:
                from_log = True
            elif sub.heartbeat_due:
                yield HEARTBEAT
                sub.sent()
            else:
                await sub.wait()
    finally:
        hub.unsubscribe(sub)
