"""The contact list: ``GET /api/customers``, ``PATCH /api/customers/<key>``,
``GET /api/customers/export`` (CSV) and ``GET /api/numbers?number=`` (a typed number,
normalised as the customer list's numbers are, before a new conversation starts).

Everyone who ever wrote (or was written to) and everyone on the customer list; an
agent restricted by ``CRM_VISIBILITY=assigned`` sees the chats they may see and the
list's customers without a chat. ``GET /api/customers/<phone>`` and its
``/preferences`` stay in ``crm.api.customers``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from quart import Blueprint, Response, request

from crm.api.body import json_object
from crm.api.contact_edit import edit_of
from crm.api.errors import BadRequest, NotFound
from crm.api.guard import current_agent
from crm.api.reads import page_limit
from crm.api.services import services
from crm.api.team_access import scope, unknown_chat
from crm.customers import export
from crm.customers.phones import BadPhone, normalise_country_code, normalise_phone
from crm.events import Database
from crm.events.customers import AGENT_SOURCE, CustomerUpdated, customer_stream
from crm.projections import contacts
from crm.projections.contacts import ContactFilter
from crm.projections.customers import get_customer
from crm.projections.team_view import Scope
from crm.whatsapp.outbound import PHONE, is_chat_key

blueprint = Blueprint("contacts", __name__)

_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _filter() -> ContactFilter:
    args = request.args
    raw = (args.get("opted_out") or "").strip().lower()
    if raw and raw not in _FLAGS:
        raise BadRequest("opted_out must be true or false", code="bad_parameter")
    return ContactFilter(q=(args.get("q") or "").strip() or None,
                         label=(args.get("label") or "").strip() or None,
                         opted_out=_FLAGS[raw] if raw else None)


def _before() -> str | None:
    raw = request.args.get("before") or None
    if raw is not None and not contacts.CURSOR.fullmatch(raw):
        raise BadRequest("before is not a cursor this API gave out", code="bad_parameter")
    return raw


@blueprint.get("/api/customers")
async def list_customers() -> dict[str, Any]:
    wanted, before, limit = _filter(), _before(), page_limit()
    rows, cursor = await services().db.read(contacts.list_contacts, limit, before, wanted,
                                            scope())
    return {"customers": rows, "next": cursor}


@blueprint.patch("/api/customers/<key>")
async def edit_customer(key: str) -> dict[str, Any]:
    agent = current_agent()
    if not is_chat_key(key):
        raise BadRequest("the key is a phone number (digits only, with its country code) or "
                         "a business-scoped user id", code="bad_key")
    body = await json_object()
    db = services().db
    target, chat = await db.read(contacts.customer_key, key)
    who = scope()
    if chat is not None and await db.read(contacts.get_contact, chat, who) is None:
        raise unknown_chat(key)
    current = await db.read(get_customer, target)
    if chat is None and current is None and not PHONE.match(key):
        raise NotFound(f"no customer or chat with {key}", code="unknown_customer")
    edit = edit_of(body, current)
    if edit.fields:
        event = CustomerUpdated(phone=target, name=edit.name, attributes=edit.attributes,
                                source=AGENT_SOURCE, fields=edit.fields)
        await db.record([event.new(customer_stream(target), actor=agent.actor)])
    contact = await db.read(contacts.get_contact, chat or target, who)
    return {"customer": contact, "changed": edit.fields}


@blueprint.get("/api/customers/export")
async def export_customers() -> Response:
    try:
        export.check_format(request.args.get("format") or "csv")
    except export.ExportFormatError as exc:
        raise BadRequest(str(exc), code="bad_parameter") from None
    who, wanted = scope(), _filter()
    response = Response(_csv(services().db, who, wanted), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="crm-contacts.csv"'
    response.headers["Cache-Control"] = "no-store"
    response.timeout = None
    return response


async def _csv(db: Database, who: Scope, wanted: ContactFilter) -> AsyncIterator[bytes]:
    """Page by page on a reader thread: the list is never held whole in memory. Runs
    after the view returned, outside the app context: it is handed what it uses."""
    names = await db.read(contacts.attribute_names)
    yield export.header(names).encode("utf-8")
    cursor: str | None = None
    while True:
        rows, cursor = await db.read(contacts.list_contacts, 500, cursor, wanted, who)
        yield "".join(export.row(r, names) for r in rows).encode("utf-8")
        if cursor is None:
            return


@blueprint.get("/api/numbers")
async def check_number() -> dict[str, Any]:
    """A number as an agent typed it, in WhatsApp's form (``CRM_DEFAULT_COUNTRY_CODE``
    for a local one), and the contact it belongs to, if any."""
    typed = request.args.get("number") or ""
    try:
        phone = normalise_phone(typed, normalise_country_code(
            services().settings.default_country_code))
    except BadPhone as exc:
        raise BadRequest(str(exc), code="bad_phone") from None
    if not phone.isascii():  # other scripts' digits: not a number WhatsApp reaches
        raise BadRequest(f"{typed!r} is not a phone number", code="bad_phone")
    contact = await services().db.read(contacts.get_contact, phone, scope())
    return {"phone": phone, "contact": contact}
