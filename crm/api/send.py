"""``POST /api/send`` and ``POST /api/messages/<id>/retry``: an agent's reply, recorded.

The answer (202) comes once ``message.queued`` is committed: from then on the reply
cannot be lost, and the sender (``crm.sender``) takes it to Meta. With an
``Idempotency-Key`` header a repeated request (a double click, a retried fetch)
answers with the first request's message and queues nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from quart import Blueprint, Quart, Request, Response, jsonify, request

from crm.api import cookies
from crm.api.errors import BadRequest, Conflict, NotFound
from crm.api.guard import current_agent
from crm.api.json_body import json_body
from crm.api.reply_guard import Guard, check_access, claim_turn, guard_of
from crm.api.send_input import (
    Draft,
    NotRetryable,
    check_window,
    file_draft,
    idempotency_key,
    template_draft,
    text_draft,
)
from crm.api.services import services
from crm.api.template_input import check_template, form_template_draft, media_from
from crm.events import AppendResult, Connection, Database, EventStore, NewEvent, RecordedEvent
from crm.events.messages import MessageQueued, chat_stream
from crm.events.sending import MessageRetry
from crm.media import kinds
from crm.media.local import LocalMediaStore
from crm.projections import chats, messages

blueprint = Blueprint("send", __name__)

SEND_PATH = "/api/send"
#: Bodies of the send route may carry WhatsApp's largest file (plus the form around it).
LARGE_BODIES = {SEND_PATH: kinds.LARGEST + 1024 * 1024}
LARGE_BODY_TIMEOUT = 600


#: Seconds an anonymous client (and anyone posting to the public routes) has to send
#: its whole body, instead of Quart's 60: a slow sender holds a connection and a task
#: that long, and Meta's webhooks and a sign-in form take milliseconds.
ANONYMOUS_BODY_TIMEOUT = 10
#: The routes that read a body before anyone is authenticated.
PUBLIC_BODIES = frozenset({"/webhook/whatsapp", "/login"})


class UploadRequest(Request):
    """The app's request class: the send route accepts files up to 100 MB; every other
    route (the webhook included) keeps the app's ``MAX_CONTENT_LENGTH``.

    The limit is set when the request starts, before the guard has checked anyone, so
    only requests that carry credentials at all (a bearer token or a session cookie)
    get the large one: an anonymous client cannot make us buffer 100 MB. Requests
    without credentials, and every request to the public routes (where credentials
    are not checked before the body is read), get ``ANONYMOUS_BODY_TIMEOUT``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        path = args[2] if len(args) > 2 else kwargs.get("path")
        headers = args[4] if len(args) > 4 else kwargs.get("headers")
        known = headers is not None and _has_credentials(headers)
        if path in LARGE_BODIES and known:
            kwargs["max_content_length"] = LARGE_BODIES[path]
            kwargs["body_timeout"] = LARGE_BODY_TIMEOUT
        elif not known or path in PUBLIC_BODIES:
            kwargs["body_timeout"] = ANONYMOUS_BODY_TIMEOUT
        super().__init__(*args, **kwargs)


def _has_credentials(headers: Any) -> bool:
    return bool(headers.get("Authorization")) or (
        f"{cookies.SESSION_COOKIE}=" in (headers.get("Cookie") or ""))


def install(app: Quart) -> None:
    app.request_class = UploadRequest


# -- reading back -------------------------------------------------------------------------

async def _queued_by_key(db: Database, key: str) -> str | None:
    """The message an earlier request with this idempotency key queued (or retried)."""
    event = await db.find_by_key(key)
    if event is None or event.type not in ("message.queued", "message.retry"):
        return None
    return event.data.get("message_id")


async def _winner(db: Database, result: AppendResult, event: NewEvent) -> tuple[str, bool]:
    """The message id a keyed append stands for: ours, or a twin request's that won the
    race to the log (then ``True``: the answer replays the first request)."""
    if result.new[0]:
        return event.data["message_id"], False
    first = await db.get(result[0])
    return (first.data["message_id"], True) if first is not None else (
        event.data["message_id"], False)


def last_request(conn: Connection, phone: str, message_id: str) -> RecordedEvent | None:
    """The latest queued or retry event of a message (its content, as sent)."""
    found = None
    for event in EventStore.over(conn).iter_after(
            0, types=("message.queued", "message.retry"), stream=chat_stream(phone)):
        if event.data.get("message_id") == message_id:
            found = event
    return found


def accepted(message: dict[str, Any] | None, replayed: bool = False) -> tuple[Response, int]:
    response = jsonify({"message": message})
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 202


# -- the routes ---------------------------------------------------------------------------

async def _draft() -> tuple[Draft, Guard]:
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form
        files = await request.files
        if form.get("template"):  # a template with its header's file
            return form_template_draft(form, files.get("file")), guard_of(form)
        return file_draft(form, files.get("file")), guard_of(form)
    body = await json_body(force=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object (text or template) or a multipart form (file)",
                         code="bad_json")
    if "template" in body:
        draft = template_draft(body)
        draft.media_from = media_from(body)
        return draft, guard_of(body)
    return text_draft(body), guard_of(body)


async def _check_chat(draft: Draft) -> None:
    db = services().db
    chat = await db.read(chats.get_chat, draft.phone)
    if chat is not None:
        draft.phone = chat["phone"]  # the chat's key, whichever identifier was given
    if draft.message_type == "template":
        if chat is None and not draft.phone.isdigit():
            raise NotFound(f"no chat with {draft.phone}", code="unknown_chat")
    else:
        if chat is None:
            raise NotFound(f"no chat with {draft.phone}: the customer has never written",
                           code="unknown_chat")
        check_window(chat)
    if draft.reply_to is not None:
        quoted = await db.read(messages.get_message, draft.reply_to)
        if quoted is None or quoted["phone"] != draft.phone:
            raise BadRequest("reply_to is not a message of this chat", code="bad_reply_to")


class KeyReused(Conflict):
    code = "idempotency_key_reused"


@blueprint.post(SEND_PATH)
async def send() -> tuple[Response, int]:
    agent = current_agent()
    crm = services()
    key = idempotency_key(request.headers.get("Idempotency-Key"))
    full_key = f"send:{agent.name}:{key}" if key else None
    draft, guard = await _draft()  # its phone, and nothing else, names the recipient
    if full_key is not None:
        earlier = await _queued_by_key(crm.db, full_key)
        if earlier is not None:
            message = await crm.db.read(messages.get_message, earlier)
            if message is not None and message["phone"] != draft.phone:
                raise KeyReused(f"this Idempotency-Key already queued a message to "
                                f"{message['phone']}, not {draft.phone}")
            return accepted(message, replayed=True)
    # Visibility and the reply policy first: a chat hidden from the agent is a 404
    # whatever else is wrong with the send; then the stale-reply guard, last.
    beside = await check_access(agent, draft.phone)
    await _check_chat(draft)
    await check_template(draft)
    await claim_turn(agent, draft.phone, guard)
    if draft.file is not None:
        content, mime, filename = draft.file
        store = LocalMediaStore.for_data_dir(crm.settings.data_dir)
        stored = await asyncio.to_thread(store.put, content, mime, filename)
        draft.media = stored.as_event()
    event = MessageQueued(
        message_id=uuid.uuid4().hex, phone=draft.phone, message_type=draft.message_type,
        text=draft.text, caption=draft.caption, media=draft.media, template=draft.template,
        reply_to=draft.reply_to, agent=agent.name,
    ).new(chat_stream(draft.phone), actor=agent.actor, idempotency_key=full_key)
    result = await crm.db.record([event, *beside])
    message_id, replayed = await _winner(crm.db, result, event)
    return accepted(await crm.db.read(messages.get_message, message_id), replayed)


@blueprint.post("/api/messages/<message_id>/retry")
async def retry(message_id: str) -> tuple[Response, int]:
    """Send a failed or unknown-fate message again (a new attempt of the same message)."""
    agent = current_agent()
    db = services().db
    key = idempotency_key(request.headers.get("Idempotency-Key"))
    full_key = f"retry:{agent.name}:{message_id}:{key}" if key else None
    if full_key is not None and await _queued_by_key(db, full_key) is not None:
        return accepted(await db.read(messages.get_message, message_id), replayed=True)
    message = await db.read(messages.get_message, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}", code="unknown_message")
    beside = await check_access(agent, message["phone"])
    if message["direction"] != "out" or message["status"] not in ("failed", "unknown"):
        raise NotRetryable(f"only a failed or unknown outbound message can be sent again; "
                           f"this one is {message['status']}")
    original = await db.read(last_request, message["phone"], message_id)
    if original is None:
        raise NotRetryable("this message was not sent from crm")
    if message["type"] != "template":
        chat = await db.read(chats.get_chat, message["phone"])
        check_window(chat or {})
    content = {k: v for k, v in original.data.items() if k != "agent"}
    event = MessageRetry(**{**content, "agent": agent.name}).new(
        chat_stream(message["phone"]), actor=agent.actor, idempotency_key=full_key)
    result = await db.record([event, *beside])
    # A twin retry with the same key that won the race: this one queued nothing.
    return accepted(await db.read(messages.get_message, message_id), not result.new[0])
