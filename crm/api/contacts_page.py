"""``/contacts``: the contact list page (any agent), filled from ``GET /api/customers``."""

from __future__ import annotations

from quart import Blueprint, Response, render_template

from crm.api.guard import current_agent

blueprint = Blueprint("contacts_page", __name__)


@blueprint.get("/contacts")
async def contacts_page() -> Response:
    agent = current_agent()
    csrf = agent.csrf_token or ""
    body = await render_template("contacts.html", agent=agent, csrf_token=csrf,
                                 session_csrf=csrf)
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
