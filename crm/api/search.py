"""``GET /api/search?q=&phone=&before=&limit=``: every message, note and customer the
query matches, newest first (see ``crm.projections.search_results`` for the shape and
``crm.search.query`` for the syntax). A query of one character is a 400.

With ``CRM_VISIBILITY=assigned`` a non-admin's results leave out chats assigned to
someone else, as the chat list does.
"""

from __future__ import annotations

from quart import Blueprint, request

from crm.api import params
from crm.api.errors import BadRequest
from crm.api.reads import page_limit
from crm.api.services import services
from crm.api.team_access import scope, visible_chat
from crm.projections.search_results import search
from crm.search.query import QueryRefused, parse

blueprint = Blueprint("search", __name__)

DEFAULT_LIMIT = 20


@blueprint.get("/api/search")
async def search_route() -> dict:
    try:
        query = parse(request.args.get("q") or "")
    except QueryRefused as error:
        raise BadRequest(str(error), code="bad_query") from None
    limit = page_limit() if request.args.get("limit") else DEFAULT_LIMIT
    raw_before = request.args.get("before") or None
    before = params.integer(raw_before, "before", minimum=0) if raw_before else None
    phone = (request.args.get("phone") or "").strip() or None
    if phone is not None:
        await visible_chat(phone)  # 404 for no chat, or one this agent may not see
    conditions = scope().conditions()
    results, cursor = await services().db.read(
        lambda db: search(db, query, phone=phone, before=before, limit=limit,
                          conditions=conditions))
    return {"results": results, "next": cursor}
