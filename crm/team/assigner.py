"""Round-robin assignment (``CRM_ASSIGNMENT=round_robin``): a worker, not a projection.

A chat the ``workflow`` projection marks as needing an owner (new from a customer, or
reopened from resolved with nobody assigned) goes to the next enabled agent, in name
order after the last one round robin chose, who is online (an open stream now, see
``crm.team.presence``) and has fewer than ``CRM_ASSIGNMENT_CAPACITY`` open chats.
Nobody online: the chat stays unassigned (it is not assigned later when someone comes
online; the tabs show it under Unassigned).

Each process looks at chats marked after the position it started at; the choice is
recorded as ``chat.assigned`` (``by: round_robin``, actor ``system``) with an
idempotency key of the chat and the position that opened it, so two processes never
assign the same opening twice, and the projection ignores a pick for a chat someone
assigned meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence

from crm.events import Database
from crm.events.messages import chat_stream
from crm.events.store import last_position
from crm.events.team import ChatAssigned
from crm.projections import agents, workflow
from crm.team import presence

log = logging.getLogger("crm.team")

POLL_EVERY = 0.25


def choose(candidates: Sequence[str], last: str | None) -> str | None:
    """The next of ``candidates`` (sorted) after ``last``, wrapping around."""
    ordered = sorted(candidates)
    if not ordered:
        return None
    for name in ordered:
        if last is None or name > last:
            return name
    return ordered[0]


def pick(conn: sqlite3.Connection, capacity: int) -> str | None:
    """The agent the next chat goes to, or None when nobody can take it."""
    enabled = {a["name"] for a in agents.list_agents(conn) if not a["disabled"]}
    here = presence.online(conn)
    load = workflow.open_load(conn)
    candidates = [name for name in enabled
                  if here.get(name, 0) > 0 and load.get(name, 0) < capacity]
    return choose(candidates, workflow.last_rotated(conn))


class Assigner:
    def __init__(self, db: Database, capacity: int) -> None:
        self.db = db
        self.capacity = capacity
        self.after = 0
        self._wake = asyncio.Event()

    def notify(self) -> None:
        self._wake.set()

    async def assign_pending(self) -> int:
        """Place every chat marked since ``after``; returns how many were assigned."""
        assigned = 0
        while True:
            batch = await self.db.read(workflow.awaiting_assignment, self.after)
            if not batch:
                return assigned
            for phone, opened in batch:
                agent = await self.db.read(pick, self.capacity)
                if agent is not None:
                    result = await self.db.record([ChatAssigned(
                        phone=phone, agent=agent, by="round_robin").new(
                        chat_stream(phone),
                        idempotency_key=f"assign.round_robin:{phone}:{opened}")])
                    assigned += int(result.new[0])
                self.after = max(self.after, opened)

    async def run(self, stopping: asyncio.Event) -> None:
        self.after = await self.db.read(last_position)
        while not stopping.is_set():
            self._wake.clear()
            try:
                await self.assign_pending()
            except Exception:
                log.exception("round-robin assignment failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_EVERY)
