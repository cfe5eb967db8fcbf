"""The sandbox's memory: what it received, what it will do next, and its templates.

Faults are queued per endpoint (``messages``, ``media`` (upload), ``download``,
``templates``, ``read``) and
consumed in order, one per request: ``{"code": 130429, "times": 2}`` fails the next
two sends with Meta's throughput error, then sends succeed again.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from crm.sandbox import payloads
from crm.sandbox.poster import Poster

ENDPOINTS = ("messages", "media", "download", "templates", "read")

#: Meta's titles for the codes tests ask for most; any other code gets a generic one.
TITLES = {
    0: "AuthException", 1: "API Unknown", 2: "API Service", 4: "API Too Many Calls",
    100: "Invalid parameter", 190: "Access token has expired",
    130429: "Rate limit hit", 131000: "Something went wrong",
    131016: "Service unavailable", 131026: "Message undeliverable",
    131031: "Account has been locked", 131047: "Re-engagement message",
    131053: "Media upload error", 131056: "(Business Account, Consumer Account) pair rate "
    "limit hit", 132001: "Template name does not exist in the translation",
}
DETAILS = {
    131047: "More than 24 hours have passed since the recipient last replied to the "
            "sender number.",
    190: "Error validating access token: Session has expired.",
    131026: "Message failed to send because the recipient is not on WhatsApp.",
    131062: "Business-scoped user ID (BSUID) recipients are not supported for this message.",
}

TEMPLATES: list[dict[str, Any]] = [
    {"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
     "id": "900000000000001", "components": [
         {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
         {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates "
                                  "your ability to send a WhatsApp message notification "
                                  "from the Cloud API, hosted by Meta."},
         {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}]},
    {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
     "id": "900000000000002", "components": [
         {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is on its way.",
          "example": {"body_text": [["Ana", "#123"]]}}]},
    {"name": "booking_reminder", "language": "es", "status": "APPROVED",
     "category": "UTILITY", "id": "900000000000003", "components": [
         {"type": "BODY", "text": "Hola {{1}}, te esperamos el {{2}}.",
          "example": {"body_text": [["Ana", "sábado"]]}},
         {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Confirmar"}]}]},
    {"name": "summer_sale", "language": "en_US", "status": "REJECTED", "category": "MARKETING",
     "id": "900000000000004", "components": [{"type": "BODY", "text": "50% off kayaks!"}]},
]


@dataclass
class Fault:
    """What to do instead of answering normally, ``times`` times (-1: always)."""

    kind: str  # error | async (accepted, then a failed status) | slow | drop
    times: int = 1
    code: int = 131000
    http_status: int | None = None
    title: str | None = None
    details: str | None = None
    seconds: float = 0.0
    #: Only requests to this recipient (digits) meet the fault; None: any request.
    to: str | None = None

    def error_body(self) -> tuple[int, dict[str, Any]]:
        title = self.title or TITLES.get(self.code, "Sandbox error")
        status = self.http_status or (401 if self.code in (0, 190) else
                                      500 if self.code in (1, 2, 131000, 131016) else 400)
        body = {"error": {"message": f"(#{self.code}) {title}", "type": "OAuthException",
                          "code": self.code,
                          "error_data": {"messaging_product": "whatsapp",
                                         "details": self.details or DETAILS.get(
                                             self.code, f"sandbox error {self.code}")},
                          "fbtrace_id": "Sbx" + secrets.token_urlsafe(12)}}
        return status, body


class Sandbox:
    def __init__(self, secret: str, phone_number_id: str, waba_id: str, display: str) -> None:
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self.lock = threading.Lock()
        self.poster = Poster(secret, (waba_id, phone_number_id, display))
        self.base_url = ""
        self.auto_reply = True
        self.status_delay = 0.2
        self.statuses = ["sent", "delivered", "read"]
        #: Templates a test adds beside the standard ones (an authentication one, say).
        self.extra_templates: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.faults: dict[str, list[Fault]] = {e: [] for e in ENDPOINTS}
            self.requests: list[dict[str, Any]] = []
            self.messages: list[dict[str, Any]] = []
            self.reads: list[str] = []
            #: Messages the typing indicator was shown on (``typing_indicator``).
            self.typing: list[str] = []
            self.media: dict[str, dict[str, Any]] = {}
            self.replied: set[str] = set()
            #: The profile name each customer was given (``crm simulate --name``, the
            #: inbound control): the sandbox customer keeps it in its own answers.
            self.names: dict[str, str] = {}
            #: Requests being held by a ``slow`` fault right now (their message ids).
            self.holding: list[Any] = []
        self.poster.clear()

    # -- control ---------------------------------------------------------------------

    def configure(self, body: dict[str, Any]) -> None:
        """``POST /_sandbox/behaviour``: faults to add and settings to change."""
        with self.lock:
            for kind in ("fail", "fail_async", "slow", "drop"):
                given = body.get(kind)
                for spec in given if isinstance(given, list) else [given] if given else []:
                    spec = spec if isinstance(spec, dict) else {}
                    endpoint = spec.get("on", "messages")
                    if endpoint not in ENDPOINTS:
                        raise ValueError(f"unknown endpoint {endpoint!r}")
                    self.faults[endpoint].append(Fault(
                        kind={"fail": "error", "fail_async": "async"}.get(kind, kind),
                        times=int(spec.get("times", 1)),
                        code=int(spec.get("code", 131000)), http_status=spec.get("http_status"),
                        title=spec.get("title"), details=spec.get("details"),
                        seconds=float(spec.get("seconds", 0.0)),
                        to=str(spec["to"]).lstrip("+") if spec.get("to") else None))
            if "clear_faults" in body:
                self.faults = {e: [] for e in ENDPOINTS}
            if "auto_reply" in body:
                self.auto_reply = bool(body["auto_reply"])
            if "status_delay" in body:
                self.status_delay = max(0.0, float(body["status_delay"]))
            if "statuses" in body:
                self.statuses = [s for s in body["statuses"] if isinstance(s, str)]
        if body.get("webhook_url"):
            with self.poster._cond:
                self.poster.url = str(body["webhook_url"])
                self.poster._cond.notify()
        if body.get("secret"):
            self.poster.secret = str(body["secret"])

    def take_fault(self, endpoint: str, to: str | None = None) -> Fault | None:
        """The next fault of ``endpoint`` that applies to a request to ``to``."""
        with self.lock:
            queue = self.faults[endpoint]
            fault = next((f for f in queue if f.to is None or f.to == to), None)
            if fault is None:
                return None
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    queue.remove(fault)
            return fault

    def record(self, endpoint: str, outcome: str, **extra: Any) -> None:
        with self.lock:
            self.requests.append({"at": time.time(), "endpoint": endpoint, "outcome": outcome,
                                  **extra})

    # -- the Graph API ---------------------------------------------------------------

    def accept(self, payload: dict[str, Any], fault: Fault | None = None) -> str:
        """A valid send: a new wamid, and statuses (and a reply) scheduled; with an
        ``async`` fault, a ``failed`` status carrying its error instead."""
        wamid = payloads.new_wamid()
        recipient = str(payload.get("to") or payload.get("recipient") or "").lstrip("+")
        opaque = payload.get("biz_opaque_callback_data")
        kind = payload.get("type", "text")
        with self.lock:
            self.messages.append({"wamid": wamid, "to": recipient, "type": kind,
                                  "message_id": opaque, "payload": payload, "at": time.time()})
            first = recipient not in self.replied
            self.replied.add(recipient)
            delay, statuses, reply = self.status_delay, list(self.statuses), self.auto_reply
            name = self.names.get(recipient)
        if fault is not None:
            _, body = fault.error_body()
            error = body["error"]
            failed = payloads.status(wamid, "failed", recipient, opaque=opaque)
            failed["errors"] = [{"code": fault.code, "title": fault.title or TITLES.get(
                fault.code, "Sandbox error"), "message": error["message"],
                "error_data": error["error_data"],
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/"
                        "error-codes/"}]
            self.poster.schedule(delay, "statuses", failed)
            return wamid
        now = time.time()
        for step, state in enumerate(statuses, start=1):
            self.poster.schedule(delay * step, "statuses", payloads.status(
                wamid, state, recipient, opaque=opaque, template=kind == "template",
                at=now + delay * step))
        if reply and first and recipient.isdigit():
            said = ((payload.get("text") or {}).get("body") or kind)[:200]
            # Meta's timestamps are whole seconds: a reply in the same second would
            # sort before the message it answers.
            self.customer_says(recipient, name, f"(sandbox customer) Got it: {said}",
                               delay=max(1.5, delay * (len(statuses) + 1)))
        return wamid

    def customer_says(self, sender: str, name: str | None, text: str | None, *,
                      delay: float = 0.0, at: float | None = None,
                      image: dict[str, Any] | None = None, caption: str | None = None) -> str:
        if name:
            self.remember(sender, name)
        # Meta stamps a message when the customer sends it: ``delay`` from now.
        message = payloads.inbound_message(sender, text=text, image=image, caption=caption,
                                           at=at if at is not None else time.time() + delay)
        self.poster.schedule(delay, "messages", {"contact": payloads.contact(sender, name),
                                                 "message": message})
        return message["id"]

    def remember(self, sender: str, name: str) -> None:
        with self.lock:
            self.names[sender] = name

    def store_media(self, content: bytes, mime_type: str, filename: str | None) -> str:
        media_id = str(10**15 + secrets.randbelow(9 * 10**15))
        with self.lock:
            self.media[media_id] = {"content": content, "mime_type": mime_type,
                                    "filename": filename, "size": len(content),
                                    "sha256": hashlib.sha256(content).hexdigest()}
        return media_id

    def templates(self) -> list[dict[str, Any]]:
        return [dict(t) for t in (*TEMPLATES, *self.extra_templates)]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            delivery = self.poster.delivery
            return {"messages": len(self.messages), "requests": len(self.requests),
                    "reads": len(self.reads), "typing": len(self.typing), "media": len(self.media),
                    "webhooks": {"url": self.poster.url, "posted": delivery.posted,
                                 "failed": delivery.failed, "retried": delivery.retried,
                                 "pending": self.poster.pending(),
                                 "last_error": delivery.last_error},
                    "auto_reply": self.auto_reply, "status_delay": self.status_delay,
                    "statuses": list(self.statuses),
                    "faults": {endpoint: [{"kind": f.kind, "code": f.code, "times": f.times,
                                           "seconds": f.seconds} for f in queue]
                               for endpoint, queue in self.faults.items() if queue}}
