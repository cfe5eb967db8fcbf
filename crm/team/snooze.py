"""Ending snoozes: a snoozed chat becomes open at its ``until`` by itself.

Projections have no clock, so the wake-up is an event (``chat.status_changed`` with
``woke`` naming the snooze, actor ``system``), recorded by this loop. Every server
process runs it; the idempotency key (the chat and the snooze's position) makes the
wake-up of one snooze one event however many processes see it due. The first check
runs at start, so a snooze that ended while no server ran ends then (catch up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from crm.events import Database
from crm.events.messages import chat_stream
from crm.events.team import ChatStatusChanged
from crm.projections import workflow

log = logging.getLogger("crm.team")

#: How often a process looks for snoozes whose time has come (a read, not a write).
CHECK_EVERY = 1.0


async def wake_due(db: Database, now: float | None = None) -> int:
    """Record the end of every snooze due by ``now``; returns how many this call woke."""
    due = await db.read(workflow.due_snoozes, time.time() if now is None else now)
    if not due:
        return 0
    events = [ChatStatusChanged(phone=phone, status="open", woke=position).new(
        chat_stream(phone), idempotency_key=f"snooze.woke:{phone}:{position}")
        for phone, position in due]
    result = await db.record(events)
    return sum(result.new)


async def run(db: Database, stopping: asyncio.Event, every: float = CHECK_EVERY) -> None:
    while not stopping.is_set():
        try:
            await wake_due(db)
        except Exception:
            log.exception("could not end due snoozes")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), every)
