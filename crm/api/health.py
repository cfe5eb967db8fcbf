"""``/healthz``: for load balancers and for people asking "is it up, is it current?".

Anyone may ask whether crm is up (``{"status": "ok"}``, never a 401, so a load
balancer needs no credential). The rest (the log's position, projections, the
channel's last error, open streams, unparsed webhooks, pending media) says how busy
and how broken the inbox is, so only a signed-in agent is told.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from quart import Blueprint

from crm.api.errors import Unauthorized
from crm.api.guard import authenticate, public
from crm.api.services import HealthFact, services
from crm.events.store import last_position
from crm.projections import projection_status

blueprint = Blueprint("health", __name__)


def _facts(conn: sqlite3.Connection, more: Iterable[HealthFact]) -> dict[str, Any]:
    facts: dict[str, Any] = {"status": "ok", "position": last_position(conn)}
    for fact in more:  # the facts of the other parts (``create_app`` lists them)
        facts.update(fact(conn))
    return facts


@blueprint.get("/healthz")
@public
async def healthz() -> dict:
    crm = services()
    # A load balancer (or a stale token) gets the anonymous answer, never a 401.
    try:
        agent = await authenticate()
    except Unauthorized:
        agent = None
    if agent is None:
        await crm.db.read(last_position)  # up means the database answers too
        return {"status": "ok"}
    facts = await crm.db.read(_facts, crm.health_facts)
    # Each projection's checkpoint, version and failed events.
    facts["projections"] = await crm.db.read(projection_status)
    # Said plainly: this server's "customers" may be forged, and nothing it sends
    # reaches WhatsApp.
    facts["sandbox"] = crm.settings.sandbox_started
    return facts
