"""Checking what an agent asks to send, before anything is recorded.

Each function turns a request body into the fields of a ``message.queued`` or raises
a specific ``ApiError``: the agent learns at once what is wrong, instead of a failure
from Meta a moment later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.api.errors import ApiError, BadRequest, Conflict, PayloadTooLarge
from crm.events import parse_time, utcnow
from crm.media import kinds
from crm.whatsapp.outbound import PHONE, is_chat_key

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_IDEMPOTENCY_KEY = 200
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


@dataclass
class Draft:
    """What will be queued: the fields of ``MessageQueued`` but the ids."""

    phone: str
    message_type: str
    text: str | None = None
    caption: str | None = None
    template: dict[str, Any] | None = None
    reply_to: str | None = None
    file: tuple[bytes, str, str | None] | None = None  # content, mime type, file name
    media: dict[str, Any] | None = field(default=None)
    #: A template's header file taken from this message of the thread.
    media_from: str | None = None


def phone_of(value: Any, *, new_chat: bool) -> str:
    """A chat key; a new conversation (template) needs a well-formed number."""
    if not isinstance(value, str) or not value:
        raise BadRequest("phone is required", code="bad_phone")
    good = PHONE.match(value) if new_chat else is_chat_key(value)
    if not good:
        raise BadRequest("phone must be the customer's number in international form, digits "
                         "only (8 to 15 of them), e.g. 85291234567", code="bad_phone")
    return value


def reply_to_of(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise BadRequest("reply_to must be the id of a message in this chat",
                         code="bad_reply_to")
    return value


def text_draft(body: dict[str, Any]) -> Draft:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text must not be empty", code="empty_text")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text is {len(text)} characters; WhatsApp allows {MAX_TEXT}",
                         code="text_too_long")
    return Draft(phone=phone_of(body.get("phone"), new_chat=False), message_type="text",
                 text=text, reply_to=reply_to_of(body.get("reply_to")))


def template_draft(body: dict[str, Any]) -> Draft:
    template = body.get("template")
    if not isinstance(template, dict):
        raise BadRequest("template must be an object with name and language",
                         code="bad_template")
    name = template.get("name")
    language = template.get("language")
    if isinstance(language, dict):  # Meta's own shape, {"code": "en_US"}
        language = language.get("code")
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        raise BadRequest("template.name must be the template's name (lower case, digits, _)",
                         code="bad_template")
    if not isinstance(language, str) or not LANGUAGE.match(language):
        raise BadRequest("template.language must be a language code such as en_US",
                         code="bad_template")
    components = template.get("components")
    if components is not None and (not isinstance(components, list)
                                   or not all(isinstance(c, dict) for c in components)):
        raise BadRequest("template.components must be a list of objects as Meta defines "
                         "them", code="bad_template")
    found: dict[str, Any] = {"name": name, "language": language}
    if components:
        found["components"] = components
    phone = body.get("phone")
    new_chat = not (isinstance(phone, str) and is_chat_key(phone) and not PHONE.match(phone))
    return Draft(phone=phone_of(phone, new_chat=new_chat), message_type="template",
                 template=found, reply_to=reply_to_of(body.get("reply_to")))


def file_draft(form: Any, upload: Any) -> Draft:
    """A multipart send: ``phone``, ``file`` and an optional ``caption``."""
    phone = phone_of(form.get("phone"), new_chat=False)
    if upload is None:
        raise BadRequest("file is required", code="missing_file")
    content: bytes = upload.read()
    if not content:
        raise BadRequest("the file is empty", code="empty_file")
    filename = kinds.clean_filename(upload.filename)
    mime = kinds.mime_of(upload.mimetype, filename)
    kind = kinds.kind_of(mime, content[:16])
    limit = kinds.LIMITS[kind]
    if len(content) > limit:
        raise PayloadTooLarge(
            f"{kind} files can be at most {_size(limit)} on WhatsApp; this one is "
            f"{_size(len(content))}", code="file_too_large")
    caption = form.get("caption") or None
    if caption is not None:
        if kind == "audio":
            raise BadRequest("audio messages cannot have a caption", code="bad_caption")
        if len(caption) > MAX_CAPTION:
            raise BadRequest(f"caption is {len(caption)} characters; WhatsApp allows "
                             f"{MAX_CAPTION}", code="bad_caption")
    return Draft(phone=phone, message_type=kind, caption=caption,
                 reply_to=reply_to_of(form.get("reply_to")), file=(content, mime, filename))


def _size(count: int) -> str:
    return f"{count / kinds.MB:.1f} MB" if count >= kinds.MB else f"{count // 1024} KB"


def idempotency_key(header: str | None) -> str | None:
    if header is None:
        return None
    header = header.strip()
    if not header or len(header) > MAX_IDEMPOTENCY_KEY or not header.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable "
                         "characters", code="bad_idempotency_key")
    return header


def check_window(chat: dict[str, Any], now: datetime | None = None) -> None:
    """Free text and media need the customer to have written in the last 24 hours."""
    closes = chat.get("window_expires_at")
    if closes is None or parse_time(closes) <= (now or utcnow()):
        raise WindowClosed(
            "the customer's last message is more than 24 hours old (or there is none): "
            "WhatsApp only allows a template now", window_expires_at=closes)


class WindowClosed(Conflict):
    code = "window_closed"


class NotRetryable(Conflict):
    code = "not_retryable"


__all__ = ["ApiError", "Draft", "NotRetryable", "WindowClosed"]
