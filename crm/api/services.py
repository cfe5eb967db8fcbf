"""What a running app holds: settings, the database and the workers around it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from quart import current_app

from crm.config import Settings
from crm.events import Database
from crm.projections import Projector


@dataclass
class Services:
    settings: Settings
    projector: Projector
    db: Database
    #: Set when the server is shutting down: long-lived responses end themselves.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: Other parts (stream hub, sender, media worker, ...) register themselves here.
    extras: dict[str, Any] = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions["crm"]
