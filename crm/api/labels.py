"""Labels: ``GET /api/labels``, ``POST /api/labels`` ``{"name", "color"}`` and
``PUT /api/labels/<id>`` (admins: create, rename, recolour), and
``POST /api/chats/<phone>/labels`` ``{"add": [names], "remove": [names]}`` (any agent
who can see the chat). Names are unique without regard to case.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from quart import Blueprint

from crm.api.body import json_object
from crm.api.errors import BadRequest, Conflict, NotFound
from crm.api.guard import current_agent, require_admin
from crm.api.services import services
from crm.api.team_access import visible_chat
from crm.events.messages import chat_stream
from crm.events.team import LABELS_STREAM, ChatLabelsChanged, LabelCreated, LabelUpdated
from crm.projections import labels, team_view

blueprint = Blueprint("labels", __name__)

MAX_NAME = 40
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class LabelTaken(Conflict):
    code = "label_exists"


def name_of(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("a label needs a name", code="bad_name")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME or not name.isprintable() or "," in name:
        raise BadRequest(f"a label name is 1 to {MAX_NAME} printable characters, no commas",
                         code="bad_name")
    return name


def color_of(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not COLOR.match(raw):
        raise BadRequest("color must be #rrggbb", code="bad_color")
    return raw.lower()


@blueprint.get("/api/labels")
async def list_labels() -> dict[str, Any]:
    return {"labels": await services().db.read(labels.list_labels)}


@blueprint.post("/api/labels")
async def create_label() -> tuple[dict[str, Any], int]:
    admin = require_admin()
    body = await json_object()
    name, color = name_of(body.get("name")), color_of(body.get("color"))
    db = services().db
    if await db.read(labels.by_name, [name]):
        raise LabelTaken(f"there is a label {name!r} already")
    label_id = uuid.uuid4().hex[:12]
    result = await db.record([LabelCreated(label_id=label_id, name=name, color=color).new(
        LABELS_STREAM, actor=admin.actor, idempotency_key=f"label:{labels.name_key(name)}")])
    if not result.new[0]:  # another admin created it a moment ago
        raise LabelTaken(f"there is a label {name!r} already")
    return {"label": await db.read(labels.get_label, label_id)}, 201


@blueprint.put("/api/labels/<label_id>")
async def update_label(label_id: str) -> dict[str, Any]:
    admin = require_admin()
    body = await json_object()
    db = services().db
    if await db.read(labels.get_label, label_id) is None:
        raise NotFound(f"no label {label_id}", code="unknown_label")
    name = name_of(body["name"]) if "name" in body else None
    if name is not None:
        taken = (await db.read(labels.by_name, [name])).get(labels.name_key(name))
        if taken is not None and taken != label_id:
            raise LabelTaken(f"there is a label {name!r} already")
    color = color_of(body.get("color"))  # null or left out: the colour stays
    if name is not None or color is not None:
        await db.record([LabelUpdated(label_id=label_id, name=name, color=color).new(
            LABELS_STREAM, actor=admin.actor)])
    return {"label": await db.read(labels.get_label, label_id)}


def _names(body: dict[str, Any], key: str) -> list[str]:
    raw = body.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise BadRequest(f"{key} must be a list of label names", code="bad_labels")
    return raw


@blueprint.post("/api/chats/<phone>/labels")
async def change_chat_labels(phone: str) -> dict[str, Any]:
    agent = current_agent()
    body = await json_object()
    add, remove = _names(body, "add"), _names(body, "remove")
    await visible_chat(phone)
    db = services().db
    known = await db.read(labels.by_name, add + remove)
    missing = [n for n in add + remove if labels.name_key(n) not in known]
    if missing:
        raise BadRequest(f"no label named {', '.join(map(repr, missing))}",
                         code="unknown_label")
    if add or remove:
        await db.record([ChatLabelsChanged(
            phone=phone, add=[known[labels.name_key(n)] for n in add],
            remove=[known[labels.name_key(n)] for n in remove]).new(
            chat_stream(phone), actor=agent.actor)])
    return {"chat": await db.read(team_view.full_chat, phone)}
