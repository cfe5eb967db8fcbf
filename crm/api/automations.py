"""Automation rules and holidays.

``GET /api/automations`` (any agent): every rule, the built-in ones included (off
until enabled). ``POST /api/automations`` (admins) ``{"name", "enabled", "when",
"if", "then"}`` creates one; ``PUT /api/automations/<id>`` changes one (fields left
out stay; ``{"enabled": true}`` alone enables a built-in); ``DELETE`` removes it (a
built-in goes back to its default, off). Each change is an ``automation.rule_saved``
or ``automation.rule_deleted`` event with the rule's next version; two admins saving
the same version at once: the second gets 409 ``rule_changed``.

``GET /api/holidays``, ``POST /api/holidays`` ``{"date": "YYYY-MM-DD", "name"}`` and
``DELETE /api/holidays/<date>`` (admins): the days the business is closed.
``GET /automations``: the page.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from quart import Blueprint, Response, redirect, render_template

from crm.api.body import json_object
from crm.api.errors import BadRequest, Conflict, NotFound
from crm.api.guard import current_agent, require_admin
from crm.api.services import services
from crm.automation.rules import BUILTINS, BadRule, check_rule
from crm.events.automation import (
    AUTOMATIONS_STREAM,
    HOLIDAYS_STREAM,
    AutomationRuleDeleted,
    AutomationRuleSaved,
    HolidayAdded,
    HolidayRemoved,
)
from crm.projections import automations

blueprint = Blueprint("automations", __name__)


class RuleChanged(Conflict):
    code = "rule_changed"


def _shown(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "saved_pos"}


def _default(rule_id: str) -> dict[str, Any]:
    return {"id": rule_id, **BUILTINS[rule_id], "builtin": rule_id, "version": 0,
            "updated_at": None, "updated_by": None}


async def _all_rules() -> list[dict[str, Any]]:
    saved = await services().db.read(automations.list_rules)
    ids = {r["id"] for r in saved}
    builtins = [_default(b) for b in BUILTINS if b not in ids]
    return [*builtins, *(_shown(r) for r in saved)]


async def _current(rule_id: str) -> dict[str, Any]:
    rule = await services().db.read(automations.get_rule, rule_id)
    if rule is not None:
        return rule
    if rule_id in BUILTINS:
        return _default(rule_id)
    raise NotFound(f"no automation rule {rule_id}", code="unknown_automation")


async def _save(rule_id: str, body: dict[str, Any], base: dict[str, Any] | None,
                actor: str) -> dict[str, Any]:
    try:
        rule = check_rule(body, partial_of=base)
    except BadRule as exc:
        raise BadRequest(str(exc), code="bad_rule") from None
    db = services().db
    version = await db.read(automations.last_version, rule_id) + 1
    result = await db.record([AutomationRuleSaved(
        rule_id=rule_id, version=version, name=rule["name"], enabled=rule["enabled"],
        when=rule["when"], conditions=rule["if"], actions=rule["then"],
        builtin=rule_id if rule_id in BUILTINS else None,
    ).new(AUTOMATIONS_STREAM, actor=actor, idempotency_key=f"automation:{rule_id}:v{version}")])
    if not result.new[0]:
        raise RuleChanged(f"rule {rule_id} was changed meanwhile: load it again")
    saved = await db.read(automations.get_rule, rule_id)
    assert saved is not None
    return _shown(saved)


@blueprint.get("/api/automations")
async def list_rules() -> dict[str, Any]:
    return {"automations": await _all_rules()}


@blueprint.post("/api/automations")
async def create_rule() -> tuple[dict[str, Any], int]:
    admin = require_admin()
    body = await json_object()
    return {"automation": await _save(uuid.uuid4().hex[:12], body, None, admin.actor)}, 201


@blueprint.put("/api/automations/<rule_id>")
async def update_rule(rule_id: str) -> dict[str, Any]:
    admin = require_admin()
    body = await json_object()
    base = await _current(rule_id)
    return {"automation": await _save(rule_id, body, base, admin.actor)}


@blueprint.delete("/api/automations/<rule_id>")
async def delete_rule(rule_id: str) -> dict[str, Any]:
    admin = require_admin()
    db = services().db
    if await db.read(automations.get_rule, rule_id) is None:
        raise NotFound(f"no automation rule {rule_id}", code="unknown_automation")
    version = await db.read(automations.last_version, rule_id) + 1
    await db.record([AutomationRuleDeleted(rule_id=rule_id, version=version).new(
        AUTOMATIONS_STREAM, actor=admin.actor,
        idempotency_key=f"automation:{rule_id}:v{version}")])
    return {"deleted": rule_id}


def _date(raw: Any) -> str:
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return date.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        raise BadRequest("date must be a day such as 2026-12-25", code="bad_date") from None


@blueprint.get("/api/holidays")
async def list_holidays() -> dict[str, Any]:
    return {"holidays": await services().db.read(automations.list_holidays)}


@blueprint.post("/api/holidays")
async def add_holiday() -> tuple[dict[str, Any], int]:
    admin = require_admin()
    body = await json_object()
    day, name = _date(body.get("date")), body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 80):
        raise BadRequest("name is text of at most 80 characters", code="bad_name")
    db = services().db
    await db.record([HolidayAdded(date=day, name=(name or "").strip() or None).new(
        HOLIDAYS_STREAM, actor=admin.actor)])
    return {"holidays": await db.read(automations.list_holidays)}, 201


@blueprint.delete("/api/holidays/<day>")
async def remove_holiday(day: str) -> dict[str, Any]:
    admin = require_admin()
    day = _date(day)
    db = services().db
    if all(h["date"] != day for h in await db.read(automations.list_holidays)):
        raise NotFound(f"{day} is not a holiday", code="unknown_holiday")
    await db.record([HolidayRemoved(date=day).new(HOLIDAYS_STREAM, actor=admin.actor)])
    return {"holidays": await db.read(automations.list_holidays)}


@blueprint.get("/automations")
async def automations_page() -> Response:
    """The rules, for admins (other agents go back to the inbox)."""
    agent = current_agent()
    if not agent.admin:
        return redirect("/")  # type: ignore[return-value]
    csrf = agent.csrf_token or ""
    body = await render_template("automations.html", agent=agent, csrf_token=csrf,
                                 session_csrf=csrf)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
