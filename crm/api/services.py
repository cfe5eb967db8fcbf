"""What a running app holds: settings, the database and the workers around it.

``create_app`` fills every field (``crm.api.app``): nothing registers itself here on
import. The optional ones are None while a part is not running (no Graph API, no sheet
sync interval) or, for ``drive`` and ``signer``, until first used.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from itsdangerous import Signer
from quart import current_app

from crm.automation.worker import AutomationRunner
from crm.campaigns.worker import CampaignWorker
from crm.config import Settings
from crm.events import Database
from crm.media.worker import MediaRunner
from crm.projections import Projector
from crm.sender.service import Sending
from crm.stream import LiveStream
from crm.team.service import Team

if TYPE_CHECKING:
    from crm.media.drive import DriveBackend

#: A fact of ``/healthz``: read on a reader thread, merged into the answer.
HealthFact = Callable[[sqlite3.Connection], dict[str, Any]]
#: A place the webhook's signing secret may come from when ``WHATSAPP_APP_SECRET`` is
#: unset (the local sandbox's generated secret, while it runs).
SecretSource = Callable[[Settings], str | None]


@dataclass
class Services:
    settings: Settings
    projector: Projector
    db: Database
    #: Set when the server is shutting down: long-lived responses end themselves.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    health_facts: tuple[HealthFact, ...] = ()
    secret_sources: tuple[SecretSource, ...] = ()
    stream: LiveStream | None = None
    sending: Sending | None = None
    media_worker: MediaRunner | None = None
    #: Queues running campaigns' recipients (``crm.campaigns``).
    campaigns: CampaignWorker | None = None
    customers_sync: asyncio.Task[None] | None = None
    #: Presence, the snooze worker and the round-robin assigner.
    team: Team | None = None
    #: The automation worker (``crm.automation``): evaluates the rules.
    automation: AutomationRunner | None = None
    #: The Drive client, made on the first file served from Drive.
    drive: DriveBackend | None = None
    #: The session cookie's signer, made on first use.
    signer: Signer | None = None


def services() -> Services:
    return current_app.extensions["crm"]
