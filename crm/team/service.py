"""The team's part of a running server: presence, the snooze worker and, with
``CRM_ASSIGNMENT=round_robin``, the assigner. Started and stopped by the app."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from crm.config import Settings
from crm.events import Database
from crm.team import snooze
from crm.team.assigner import Assigner
from crm.team.presence import Presence


@dataclass
class Team:
    presence: Presence
    assigner: Assigner | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def start(settings: Settings, db: Database, stopping: asyncio.Event) -> Team:
    team = Team(presence=Presence(db))
    await team.presence.start()
    team.tasks.append(asyncio.create_task(snooze.run(db, stopping), name="crm-snooze"))
    if settings.assignment == "round_robin":
        team.assigner = Assigner(db, settings.assignment_capacity)
        db.writer.add_listener(_waker(asyncio.get_running_loop(), team.assigner))
        team.tasks.append(asyncio.create_task(team.assigner.run(stopping),
                                              name="crm-assigner"))
    return team


def _waker(loop: asyncio.AbstractEventLoop, assigner: Assigner) -> Any:
    def wake(_position: int) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(assigner.notify)
    return wake


async def stop(team: Team) -> None:
    for task in team.tasks:
        task.cancel()
    for task in team.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await team.presence.stop()
