"""One stream's loop: catch up from the log, then follow the hub, never a gap or a repeat.

The subscription is made inside the generator, on its first step: a generator that
is never started (client gone before the body began) has nothing to clean up, and
one that is started always unsubscribes in ``finally``. Cancellation (the client
disconnected) is never caught here; it ends the generator where it waits.

Why no gap and no duplicate: the subscription is (re)armed *before* the log is read,
so every event is either in the pages read afterwards (from the hub's recent frames
when it still holds them, else from the log) or in the queue; frames at or below the
last position sent are skipped when the queue is drained.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from crm.stream.frames import HEARTBEAT, RETRY, Frame
from crm.stream.hub import Hub

#: ``read_page(after, limit)``: the next frames from the log.
ReadPage = Callable[[int, int], Awaitable[list[Frame]]]


async def follow(hub: Hub, read_page: ReadPage, after: int, *, page: int = 200,
                 until: float | None = None) -> AsyncIterator[bytes]:
    """The bytes of an event stream starting after position ``after``.

    It ends cleanly when the hub closes (shutdown) or at ``until`` (``time.monotonic``),
    checked at least at every heartbeat; the client then reconnects with its last id.
    """
    sub = hub.subscribe()
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
                        last = frames[-1][0]
                        yield b"".join([data for _, data in frames])
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
