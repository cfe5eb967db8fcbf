"""``GET /api/templates`` and ``POST /api/templates/refresh``: the account's templates.

Fetched from the Graph API and kept in the log (``templates.fetched``), so the list
is there when Meta is not, and every worker serves the same one. The first read
fetches them if they never were. Each template carries ``parameters``, what an agent
fills in to send it, and ``unsupported`` (see ``crm.whatsapp.template_params``).
Fetching again is for admins: it replaces the list every agent sees.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from crm.api.errors import ApiError, ServiceUnavailable
from crm.api.guard import current_agent, require_admin
from crm.api.services import services
from crm.projections import templates
from crm.sender.service import refresh_templates
from crm.whatsapp.errors import GraphError
from crm.whatsapp.template_params import parameters

blueprint = Blueprint("templates", __name__)


class GraphFailed(ApiError):
    status = 502
    code = "graph_error"


async def _refresh() -> None:
    crm = services()
    sending = crm.sending
    if sending is None or sending.graph is None:
        raise ServiceUnavailable("no WhatsApp account is configured (and no sandbox runs): "
                                 "templates cannot be fetched", code="not_configured")
    try:
        await refresh_templates(crm.db, sending.graph, current_agent().actor)
    except GraphError as exc:
        raise GraphFailed(f"the Graph API refused to list templates: {exc}",
                          meta_code=exc.code) from None


async def _listing() -> dict[str, Any]:
    db = services().db
    approved_only = request.args.get("all") not in ("1", "true")
    listed = await db.read(templates.list_templates, approved_only)
    for template in listed:
        template["parameters"], template["unsupported"] = parameters(template)
    return {"templates": listed, "fetched_at": await db.read(templates.fetched_at)}


@blueprint.get("/api/templates")
async def list_templates() -> dict[str, Any]:
    if await services().db.read(templates.fetched_at) is None:
        await _refresh()
    return await _listing()


@blueprint.post("/api/templates/refresh")
async def refresh() -> dict[str, Any]:
    require_admin()
    await _refresh()
    return await _listing()
