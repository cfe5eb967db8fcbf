"""What we send to Meta for a queued message: pure functions of its content.

Chat keys are WhatsApp ids (digits) or, for customers known only by username,
business-scoped user ids (``US.1349...``): the first go in ``to`` with a ``+`` (without
it Meta would prepend our own country code), the second in ``recipient``.
"""

from __future__ import annotations

import re
from typing import Any

PHONE = re.compile(r"^\d{8,15}$")
#: A business-scoped user id: country code, a dot, then up to 128 alphanumerics (the
#: parent form adds ``ENT.``).
BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")

MEDIA_KINDS = frozenset({"image", "audio", "video", "document", "sticker"})


def is_chat_key(value: str) -> bool:
    return bool(PHONE.match(value) or BSUID.match(value))


def recipient(phone: str) -> dict[str, str]:
    if PHONE.match(phone):
        return {"to": "+" + phone}
    return {"recipient": phone}


def message_payload(data: dict[str, Any], *, media_id: str | None = None,
                    reply_wamid: str | None = None,
                    address: str | None = None) -> dict[str, Any]:
    """The body of ``POST /{phone-number-id}/messages`` for a ``message.queued``.

    ``address`` is where the customer is reached (their newest known phone, else their
    business-scoped id), when it differs from the chat key in ``data["phone"]``.
    ``biz_opaque_callback_data`` carries our message id: Meta echoes it in every
    status, which ties a status to its message even before we know the wamid.
    """
    kind = data["message_type"]
    payload: dict[str, Any] = {"messaging_product": "whatsapp",
                               "recipient_type": "individual",
                               **recipient(address or data["phone"]),
                               "type": kind, "biz_opaque_callback_data": data["message_id"]}
    if kind == "text":
        text = data.get("text") or ""
        payload["text"] = {"body": text, "preview_url": "http://" in text or "https://" in text}
    elif kind == "template":
        template = data.get("template") or {}
        body: dict[str, Any] = {"name": template.get("name"),
                                "language": {"code": template.get("language")}}
        if template.get("components"):
            body["components"] = _header_file(template["components"], media_id,
                                              data.get("media"))
        payload["template"] = body
    elif kind in MEDIA_KINDS:
        if media_id is None:
            raise ValueError("a media message needs its uploaded media id")
        media: dict[str, Any] = {"id": media_id}
        caption = data.get("caption")
        if caption and kind in ("image", "video", "document"):
            media["caption"] = caption
        filename = (data.get("media") or {}).get("filename")
        if kind == "document" and filename:
            media["filename"] = filename
        payload[kind] = media
    else:
        raise ValueError(f"cannot send a message of type {kind!r}")
    if reply_wamid:
        payload["context"] = {"message_id": reply_wamid}
    return payload


def _header_file(components: list[dict[str, Any]], media_id: str | None,
                 media: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A media header's parameter with the id of the file the sender uploaded (the
    queued template names the kind only: the id exists once the upload is done)."""
    if media_id is None:
        return components
    found = []
    for component in components:
        if str(component.get("type")).lower() == "header":
            parameters = []
            for parameter in component.get("parameters") or []:
                kind = parameter.get("type")
                if kind in ("image", "video", "document"):
                    file: dict[str, Any] = {"id": media_id}
                    name = (media or {}).get("filename")
                    if kind == "document" and name:
                        file["filename"] = name
                    parameter = {"type": kind, kind: file}
                parameters.append(parameter)
            component = {**component, "parameters": parameters}
        found.append(component)
    return found
