"""Opt-outs and agents' permissions.

``GET /api/customers/<phone>/opt-out``: whether the customer opted out of marketing,
and how (``keyword``, ``user_preferences``, ``meta`` for 131050, ``admin``).
``POST /api/customers/<phone>/opt-out`` ``{"opted_out": bool}`` (admins): an admin opts
a customer out or back in. ``GET``/``PUT /api/agents/<name>/permissions``
``{"permissions": ["campaigns"]}`` (admins): what an ordinary agent may do beyond
the inbox.
"""

from __future__ import annotations

from quart import Blueprint

from crm.api.errors import BadRequest, NotFound
from crm.api.guard import current_agent, require_admin
from crm.api.json_body import json_body
from crm.api.services import services
from crm.events.agents import AgentPermissions, agent_actor
from crm.events.campaigns import CustomerOptedIn, CustomerOptedOut
from crm.events.customers import customer_stream
from crm.projections import optouts
from crm.projections.agents import get_agent
from crm.projections.permissions import KNOWN, permissions_of

blueprint = Blueprint("optouts", __name__)


@blueprint.get("/api/customers/<phone>/opt-out")
async def opt_out_status(phone: str) -> dict:
    return {"opt_out": await services().db.read(optouts.status, phone)}


@blueprint.post("/api/customers/<phone>/opt-out")
async def set_opt_out(phone: str) -> dict:
    admin = require_admin()
    body = await json_body(force=True)
    wanted = body.get("opted_out") if isinstance(body, dict) else None
    if not isinstance(wanted, bool):
        raise BadRequest("opted_out must be true or false", code="bad_parameter")
    db = services().db
    if not phone.isdigit() and "." not in phone:
        raise BadRequest("not a chat key", code="bad_phone")
    if await db.read(optouts.opted_out, phone) != wanted:
        event = (CustomerOptedOut if wanted else CustomerOptedIn)(
            phone=phone, source="admin", agent=admin.name)
        await db.record([event.new(customer_stream(phone), actor=admin.actor)])
    return {"opt_out": await db.read(optouts.status, phone)}


@blueprint.get("/api/agents/<name>/permissions")
async def get_permissions(name: str) -> dict:
    agent = current_agent()
    if not agent.admin and agent.name != name:
        require_admin()
    return {"permissions": await services().db.read(permissions_of, name)}


@blueprint.put("/api/agents/<name>/permissions")
async def put_permissions(name: str) -> dict:
    admin = require_admin()
    body = await json_body(force=True)
    wanted = body.get("permissions") if isinstance(body, dict) else None
    if not isinstance(wanted, list) or not all(p in KNOWN for p in wanted):
        raise BadRequest(f"permissions must be a list of {', '.join(KNOWN)}",
                         code="bad_parameter")
    db = services().db
    if await db.read(get_agent, name) is None:
        raise NotFound(f"no agent {name}", code="unknown_agent")
    await db.record([AgentPermissions(name=name, permissions=sorted(set(wanted))).new(
        agent_actor(name), actor=admin.actor)])
    return {"permissions": await db.read(permissions_of, name)}
