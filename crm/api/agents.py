"""Managing agents and API tokens (admins only), and ``/api/me`` for everyone.

``GET /api/agents``, ``POST /api/agents`` ``{"name", "password", "admin"}``,
``POST /api/agents/<name>/disable``, ``POST /api/agents/<name>/password``
``{"password"}``, ``POST /api/agents/<name>/admin`` ``{"admin": bool}`` (409
``last_admin`` for the last enabled admin), ``GET /api/tokens``,
``POST /api/tokens`` ``{"agent", "label"}``
(answers ``{"token": {...}, "secret": "crm_..."}``: the only time the secret is shown),
``DELETE /api/tokens/<id>``. A token may be given a lifetime: ``"expires": "90d"``
(``w``, ``d``, ``h`` or ``m``); it then stops working at its ``expires_at``.
Every change is an event whose actor is the admin who made it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, jsonify

from crm.api.errors import ApiError, BadRequest, Conflict, error_response
from crm.api.guard import current_agent, require_admin
from crm.api.json_body import json_body
from crm.api.services import services
from crm.auth import commands, passwords
from crm.auth.errors import AuthError
from crm.auth.tokens import parse_duration
from crm.events import NewEvent
from crm.projections import agents as view

blueprint = Blueprint("agents", __name__)


@blueprint.errorhandler(AuthError)
async def _auth_error(error: AuthError) -> Response:
    return error_response(ApiError(str(error), code=error.code, status=error.status))


async def _body() -> dict[str, Any]:
    body = await json_body()
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object", code="bad_body")
    return body


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise BadRequest(f"{name} must be a non-empty string", code="bad_parameter")
    return value


async def _append(event: NewEvent) -> int:
    db = services().db
    result = await db.record([event])
    if not result.new[0]:
        raise Conflict("someone else made the same change at the same time")
    return result[0]


@blueprint.get("/api/me")
async def me() -> dict:
    """The agent behind this request, and (for a browser session) its CSRF token."""
    agent = current_agent()
    settings = services().settings
    return {"agent": agent.as_json(), "csrf_token": agent.csrf_token,
            "sla_minutes": settings.sla_minutes, "presence_ttl": settings.presence_ttl}


@blueprint.get("/api/agents")
async def list_agents() -> dict:
    require_admin()
    return {"agents": await services().db.read(view.list_agents)}


@blueprint.post("/api/agents")
async def add_agent() -> tuple[dict, int]:
    actor = require_admin().actor
    body = await _body()
    name = commands.normalise_name(_text(body, "name") or "")
    password = _text(body, "password") or ""
    admin = body.get("admin", False)
    if not isinstance(admin, bool):
        raise BadRequest("admin must be true or false", code="bad_parameter")
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    db = services().db
    await _append(await db.read(commands.plan_add_agent, name, hashed, admin, actor))
    return {"agent": await db.read(view.get_agent, name)}, 201


@blueprint.post("/api/agents/<name>/disable")
async def disable_agent(name: str) -> dict:
    actor = require_admin().actor
    db = services().db
    name = commands.normalise_name(name)
    await db.decide(commands.disable_batch, name, actor)
    return {"agent": await db.read(view.get_agent, name)}


@blueprint.post("/api/agents/<name>/admin")
async def set_admin(name: str) -> dict:
    actor = require_admin().actor
    admin = (await _body()).get("admin")
    if not isinstance(admin, bool):
        raise BadRequest("admin must be true or false", code="bad_parameter")
    db = services().db
    name = commands.normalise_name(name)
    # Checked and recorded in one write transaction: two admins demoting each other at
    # once cannot both pass the "last admin" check.
    await db.decide(commands.admin_batch, name, admin, actor)
    return {"agent": await db.read(view.get_agent, name)}


@blueprint.post("/api/agents/<name>/password")
async def change_password(name: str) -> dict:
    actor = require_admin().actor
    password = _text(await _body(), "password") or ""
    name = commands.normalise_name(name)
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    db = services().db
    await _append(await db.read(commands.plan_password, name, hashed, actor))
    return {"agent": await db.read(view.get_agent, name)}


@blueprint.get("/api/tokens")
async def list_tokens() -> dict:
    require_admin()
    return {"tokens": await services().db.read(view.list_tokens)}


@blueprint.post("/api/tokens")
async def create_token() -> tuple[Response, int]:
    actor = require_admin().actor
    body = await _body()
    agent = _text(body, "agent") or ""
    label = _text(body, "label", required=False)
    expires = _text(body, "expires", required=False)
    lifetime = parse_duration(expires) if expires else None
    db = services().db
    event, token, token_id = await db.read(commands.plan_token, agent, label, actor,
                                           lifetime)
    await _append(event)
    response = jsonify({"token": await db.read(view.get_token, token_id), "secret": token})
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@blueprint.delete("/api/tokens/<token_id>")
async def revoke_token(token_id: str) -> dict:
    actor = require_admin().actor
    db = services().db
    await _append(await db.read(commands.plan_revoke, token_id, actor))
    return {"token": await db.read(view.get_token, token_id)}
