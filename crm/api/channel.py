"""``GET /api/channel`` (admins only): the WhatsApp channel's health panel.

Whether Meta accepts our messages now (``channel_health``) and the latest account-level
updates Meta sent: restrictions, violations, messaging limits and pricing tiers
(``account_update``, ``business_capability_update``, ``phone_number_quality_update``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from quart import Blueprint

from crm.api.guard import require_admin
from crm.api.services import services
from crm.projections import account, channel

blueprint = Blueprint("channel", __name__)


def _panel(db: sqlite3.Connection) -> dict[str, Any]:
    return {"health": channel.health(db), "updates": account.channel_updates(db)}


@blueprint.get("/api/channel")
async def channel_panel() -> dict:
    require_admin()
    return {"channel": await services().db.read(_panel)}
