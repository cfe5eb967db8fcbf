"""A template with a media header: its file, checked before anything is recorded.

A template whose header is an image, a video or a document needs that file with every
send. It comes either with the send, as a multipart form (``phone``, ``template``: the
same JSON object as a JSON send, ``file``), or from the thread, as
``"header_media": {"message_id": <a message of this chat with a kept file>}`` in a
JSON send (an API client may instead name the file in the header's parameter itself, a
``link`` or a Meta media id, as Meta takes it). The file is kept like any other outbound
file; the sender uploads it to Meta and puts the media id in the header's parameter
(``crm.whatsapp.outbound``).
"""

from __future__ import annotations

import json
from typing import Any

from crm.api.errors import BadRequest
from crm.api.send_input import Draft, file_draft, template_draft
from crm.api.services import services
from crm.media import kinds
from crm.projections import messages, templates
from crm.whatsapp.template_params import media_header, with_header_media


class HeaderMediaError(BadRequest):
    code = "bad_header_media"


def form_template_draft(form: Any, upload: Any) -> Draft:
    """A multipart template send: ``template`` as JSON text and the header's ``file``."""
    try:
        template = json.loads(form.get("template") or "")
    except ValueError:
        raise BadRequest("template must be a JSON object with name and language",
                         code="bad_template") from None
    draft = template_draft({"phone": form.get("phone"), "template": template,
                            "reply_to": form.get("reply_to")})
    draft.file = file_draft(form, upload).file
    return draft


def media_from(body: dict[str, Any]) -> str | None:
    """The message id of ``header_media`` in a JSON send, if there is one."""
    raw = body.get("header_media")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("message_id"), str):
        raise HeaderMediaError('header_media must be {"message_id": <a message of this chat>}')
    return raw["message_id"]


async def check_template(draft: Draft) -> None:
    """The header's file is there, of the kind the template's header is."""
    if draft.message_type != "template" or draft.template is None:
        return
    db = services().db
    template = await db.read(templates.get_template, draft.template["name"],
                             draft.template["language"])
    kind = media_header(template) if template is not None else None
    given = draft.file is not None or draft.media_from is not None
    if kind is None:
        if given and template is not None:
            raise HeaderMediaError(f"the template {draft.template['name']} has no media "
                                   "header: send it without a file")
        if not given:
            return
    if not given:
        if _linked(draft.template.get("components") or [], kind):
            return  # an API client's own link (or Meta media id): Meta fetches it
        raise HeaderMediaError(f"the template {draft.template['name']} has a {kind} header: "
                               "send it with the file (upload one, or choose one of the thread)")
    if draft.media_from is not None:
        draft.media = await _thread_file(draft.phone, draft.media_from)
        mime = draft.media["mime_type"]
        # An image's bytes were checked when it was kept (a fake one is a document).
        found = "image" if mime in kinds.IMAGE_TYPES else kinds.kind_of(mime, b"")
    else:
        assert draft.file is not None
        content, mime, _name = draft.file
        found = kinds.kind_of(mime, content[:16])
        kind = kind or found
    if found != kind:
        raise HeaderMediaError(f"the header needs a {kind}; this file is a {found}")
    components = list(draft.template.get("components") or [])
    draft.template["components"] = with_header_media(components, kind, {})


async def _thread_file(phone: str, message_id: str) -> dict[str, Any]:
    message = await services().db.read(messages.get_message, message_id)
    if message is None or message["phone"] != phone:
        raise HeaderMediaError("header_media.message_id is not a message of this chat")
    media = message.get("media") or {}
    if not media.get("sha256") or not media.get("mime_type"):
        raise HeaderMediaError("that message has no file kept yet")
    found = {"url": f"/media/{media['sha256']}", "sha256": media["sha256"],
             "mime_type": media["mime_type"], "size": media.get("size")}
    if media.get("filename"):
        found["filename"] = media["filename"]
    return {k: v for k, v in found.items() if v is not None}


def _linked(components: list[dict[str, Any]], kind: str | None) -> bool:
    """Whether the header already names its file (``{"link": ...}`` or ``{"id": ...}``)."""
    for component in components:
        if str(component.get("type")).lower() != "header":
            continue
        for parameter in component.get("parameters") or []:
            media = parameter.get(kind) if isinstance(parameter, dict) else None
            if isinstance(media, dict) and (media.get("link") or media.get("id")):
                return True
    return False
