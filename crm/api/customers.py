"""``GET /api/customers/<phone>``: the customer-list row of a chat (name, attributes).

The thread shows these beside the conversation. Phones are the chat keys: digits only.
"""

from __future__ import annotations

from quart import Blueprint

from crm.api.errors import NotFound
from crm.api.services import services
from crm.projections.customers import get_customer

blueprint = Blueprint("customers", __name__)


@blueprint.get("/api/customers/<phone>")
async def customer(phone: str) -> dict:
    row = await services().db.read(get_customer, phone)
    if row is None:
        raise NotFound(f"no customer with {phone}", code="unknown_customer")
    return {"customer": row}
