"""Webhook bodies shaped exactly as Meta sends them, and their signature.

Shared by the sandbox (statuses, the customer's replies) and ``crm simulate`` (an
inbound message posted to a running server). Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    """Meta escapes non-ASCII (``\\u00e9``) in what it signs; so do we."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def new_wamid() -> str:
    return "wamid.HBgL" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")


def envelope(waba_id: str, phone_number_id: str, display: str,
             value: dict[str, Any]) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
             **value}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}]}


def status(wamid: str, state: str, recipient: str, *, opaque: str | None = None,
           template: bool = False, at: float | None = None) -> dict[str, Any]:
    """One element of ``value.statuses`` (v24+: no ``conversation``)."""
    found: dict[str, Any] = {"id": wamid, "status": state,
                             "timestamp": str(int(at if at is not None else time.time()))}
    if recipient.isdigit():
        found["recipient_id"] = recipient
    else:
        found["recipient_user_id"] = recipient
    if opaque is not None:
        found["biz_opaque_callback_data"] = opaque
    if state == "sent":
        found["pricing"] = ({"billable": True, "pricing_model": "PMP", "type": "regular",
                             "category": "utility"} if template else
                            {"billable": False, "pricing_model": "PMP",
                             "type": "free_customer_service", "category": "service"})
    return found


def inbound_message(sender: str, *, text: str | None = None,
                    image: dict[str, Any] | None = None, caption: str | None = None,
                    at: float | None = None, wamid: str | None = None,
                    reply_to: str | None = None) -> dict[str, Any]:
    """One element of ``value.messages``: a text, or an image by media id."""
    message: dict[str, Any] = {"from": sender, "id": wamid or new_wamid(),
                               "timestamp": str(int(at if at is not None else time.time()))}
    if image is not None:
        message["type"] = "image"
        message["image"] = {**image, **({"caption": caption} if caption else {})}
    else:
        message["type"] = "text"
        message["text"] = {"body": text or ""}
    if reply_to:
        message["context"] = {"from": sender, "id": reply_to}
    return message


def contact(sender: str, name: str | None) -> dict[str, Any]:
    return {"profile": {"name": name or sender}, "wa_id": sender}
