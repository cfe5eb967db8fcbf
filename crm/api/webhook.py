"""``/webhook/whatsapp``: where Meta delivers every message, status and account update.

The promise: every update Meta sends is in the log exactly once, and nothing forged
gets in. So the POST answers 200 only after its events are durably committed (Meta
retries anything else for up to 7 days), refuses unsigned or wrongly signed bodies
with 401, and keeps a signed body it cannot read (``webhook.unparsed``) rather than
refusing it, since a refusal would only bring the same body back all week.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sqlite3
from collections.abc import Iterable

from quart import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from crm.api.errors import (
    ApiError,
    Forbidden,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
)
from crm.api.guard import public
from crm.api.services import SecretSource, services
from crm.campaigns.keywords import keyword_events
from crm.config import Settings
from crm.events import utcnow
from crm.projections import webhooks
from crm.whatsapp import SignatureError, parse_webhook, verify_signature

log = logging.getLogger("crm.webhook")

blueprint = Blueprint("webhook", __name__)

PATH = "/webhook/whatsapp"
ACCEPTED = b'{"ok":true}'

#: Bodies larger than this are parsed on a thread so the event loop keeps serving.
PARSE_INLINE_MAX = 64 * 1024

def webhook_secrets(settings: Settings, sources: Iterable[SecretSource]) -> list[str]:
    """The secrets webhook bodies may be signed with: ``WHATSAPP_APP_SECRET`` (Meta's)
    and those of the further ``sources`` (the sandbox's own, while it runs: with
    ``CRM_SANDBOX=on`` beside Meta's settings both are accepted)."""
    found = []
    configured = settings.whatsapp_app_secret
    if configured is not None and configured.get_secret_value():
        found.append(configured.get_secret_value())
    for source in sources:
        secret = source(settings)
        if secret and secret not in found:
            found.append(secret)
    return found


def check_signature(secrets: list[str], body: bytes, header: str | None) -> None:
    """``SignatureError`` unless one of ``secrets`` signed ``body``."""
    error: SignatureError | None = None
    for secret in secrets:
        try:
            verify_signature(secret, body, header)
            return
        except SignatureError as exc:
            error = exc
    assert error is not None
    raise error


def unparsed_fact(conn: sqlite3.Connection) -> dict[str, int]:
    """``/healthz``: signed webhooks kept but not understood."""
    return {"unparsed_webhooks": webhooks.count(conn, "webhook.unparsed")}


@blueprint.get(PATH)
@public
async def verify() -> Response:
    """Meta's subscription handshake: echo ``hub.challenge`` if the token matches."""
    expected = services().settings.whatsapp_verify_token
    mode = request.args.get("hub.mode")
    token = request.args.get("hub.verify_token")
    challenge = request.args.get("hub.challenge")
    if expected is None or not expected.get_secret_value():
        log.warning("webhook handshake refused: WHATSAPP_VERIFY_TOKEN is not set")
        raise Forbidden("WHATSAPP_VERIFY_TOKEN is not configured", code="not_configured")
    if (mode != "subscribe" or token is None or challenge is None
            or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())):
        log.warning("webhook handshake refused: wrong mode, token or no challenge")
        raise Forbidden("verification failed", code="verification_failed")
    response = Response(challenge, status=200, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.post(PATH)
@public
async def receive() -> Response:
    """Verify, record, then answer: 200 means the events are committed."""
    crm = services()
    secrets = webhook_secrets(crm.settings, crm.secret_sources)
    if not secrets:
        raise ServiceUnavailable(
            "WHATSAPP_APP_SECRET is not configured: webhooks cannot be verified, so none "
            "are accepted", code="not_configured")
    try:
        body = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    except RequestEntityTooLarge:
        log.warning("webhook refused: body over %d bytes", request.max_content_length or 0)
        raise PayloadTooLarge("webhook body is larger than 4 MB") from None
    try:
        check_signature(secrets, body, request.headers.get("X-Hub-Signature-256"))
    except SignatureError as exc:
        log.warning("webhook refused from %s: %s", request.remote_addr, exc)
        raise Unauthorized(str(exc), code="bad_signature") from None

    received_at = utcnow()
    # Changes for another of the account's numbers stay in the log, out of the inbox.
    ours = crm.settings.whatsapp_phone_number_id
    if len(body) > PARSE_INLINE_MAX:
        events = await asyncio.to_thread(parse_webhook, body, received_at, ours)
    else:
        events = parse_webhook(body, received_at, ours)
    # A whole-message STOP (or START) beside the message: see crm.campaigns.keywords.
    events = [*events, *keyword_events(events, crm.settings.opt_out_keywords)]
    if events:
        try:
            await crm.db.record(events)
        except Exception:
            log.exception("webhook not recorded; Meta will deliver it again")
            raise ApiError("the webhook could not be recorded", code="not_recorded",
                           status=500) from None
    return Response(ACCEPTED, status=200, content_type="application/json")
