"""``/healthz``: for load balancers and for people asking "is it up, is it current?"."""

from __future__ import annotations

import sqlite3
from typing import Any

from quart import Blueprint

from crm.api.errors import Unauthorized
from crm.api.guard import authenticate, public
from crm.api.services import services
from crm.events.store import last_position
from crm.projections import projection_status

blueprint = Blueprint("health", __name__)

#: Other parts add facts here: ``fn(conn) -> dict`` merged into the answer.
HEALTH_FACTS: list = []


def _facts(conn: sqlite3.Connection) -> dict[str, Any]:
    rows = conn.execute("SELECT name, position FROM checkpoints ORDER BY name").fetchall()
    facts: dict[str, Any] = {
        "status": "ok",
        "position": last_position(conn),
        "projections": dict(rows),
    }
    for fact in HEALTH_FACTS:
        facts.update(fact(conn))
    return facts


@blueprint.get("/healthz")
@public
async def healthz() -> dict:
    facts = await services().db.read(_facts)
    # A signed-in agent also learns each projection's version and failed events; a
    # load balancer (or a stale token) gets the anonymous answer, never a 401.
    try:
        agent = await authenticate()
    except Unauthorized:
        agent = None
    if agent is not None:
        facts["projections"] = await services().db.read(projection_status)
    return facts
