"""``GET /api/customers/<phone>``: the customer-list row of a chat (name, attributes).

The thread shows these beside the conversation. Phones are the chat keys: digits only.
A chat whose number is not on the list is normal, not an error: ``{"customer": null}``.
``GET /api/customers/<phone>/preferences``: what the customer told Meta about
marketing messages (stopped, resumed), whether or not they are on the list.
"""

from __future__ import annotations

from quart import Blueprint

from crm.api.services import services
from crm.projections.account import preferences
from crm.projections.customers import get_customer

blueprint = Blueprint("customers", __name__)


@blueprint.get("/api/customers/<phone>")
async def customer(phone: str) -> dict:
    return {"customer": await services().db.read(get_customer, phone)}


@blueprint.get("/api/customers/<phone>/preferences")
async def customer_preferences(phone: str) -> dict:
    return {"preferences": await services().db.read(preferences, phone)}
