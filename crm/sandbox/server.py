"""The sandbox's HTTP side: the Graph API routes crm calls, and the control API.

Graph routes (any ``/vNN.N`` prefix): ``POST /{phone-number-id}/messages`` (send or
mark read), ``POST /{phone-number-id}/media`` (multipart upload), ``GET /{media-id}``
and the download URL it gives, ``DELETE /{media-id}``, ``GET
/{waba-id}/message_templates``. Control routes: ``POST /_sandbox/behaviour``,
``POST /_sandbox/reset``, ``POST /_sandbox/inbound``, ``POST /_sandbox/customer``
(``from`` and ``name``: the name its automatic answers carry), ``GET /_sandbox/messages``,
``/requests``, ``/reads``, ``/typing``, ``/state``, ``/webhooks``.

``POST /_sandbox/behaviour`` takes, each optional: ``fail`` (answer with Meta's error
``code``, ``times`` times, -1 for always; ``on`` one of messages, media, download,
templates, read), ``fail_async`` (accept, then post a ``failed`` status with the
code), ``slow`` (``seconds`` before answering), ``drop`` (close the connection without
an answer), a list of any of those, ``clear_faults``, ``auto_reply``, ``status_delay``,
``statuses`` and ``webhook_url``.

The control routes need ``Authorization: Bearer <control token>`` (401 without, 403
with another): they forge customers and show every reply agents sent, so another
user of the machine must not reach them. ``crm serve`` keeps the token in a mode-600
file of the data folder; a server made without one generates its own
(``SandboxServer.control_token``), so the control API is never open.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import secrets
import socket
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crm.sandbox.state import Fault, Sandbox

VERSION = re.compile(r"^v\d+(\.\d+)?$")
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sandbox: Sandbox,
                 control_token: str | None = None) -> None:
        super().__init__(address, Handler)
        self.sandbox = sandbox
        self.control_token = control_token or secrets.token_urlsafe(32)
        host, port = self.socket.getsockname()[:2]
        sandbox.base_url = f"http://{host}:{port}"


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[bytes, str | None,
                                                                       str | None]]:
    """``name -> (bytes, filename, content type)`` of a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}
    fields = {}
    for part in body.split(b"--" + match.group(1).encode())[1:-1]:
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (data.removesuffix(b"\r\n"),
                                     filename.group(1) if filename else None,
                                     headers.get("content-type"))
    return fields


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Headers and body are separate writes: without this, Nagle's algorithm and the
    #: client's delayed ACK add 40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib's name
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # -- plumbing ----------------------------------------------------------------------

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _dispatch(self, method: str) -> None:
        self.note: dict[str, Any] = {}
        self.async_fault: Fault | None = None
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        self.query = dict(urllib.parse.parse_qsl(url.query))
        parts = [p for p in url.path.split("/") if p]
        sandbox = self.server.sandbox
        try:
            if parts and parts[0] == "_sandbox":
                if self._controller():
                    self._control(method, parts[1:])
                return
            if parts and VERSION.match(parts[0]):
                parts = parts[1:]
            self._graph(method, parts, sandbox)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _controller(self) -> bool:
        """Whether the request carries the control token; answers it if not."""
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            self._reply(401, {"error": "the control API needs 'Authorization: Bearer "
                                       "<token>' (CRM_DATA_DIR/sandbox_control_token)"})
            return False
        if not hmac.compare_digest(given.strip().encode(),
                                   self.server.control_token.encode()):
            self._reply(403, {"error": "wrong control token"})
            return False
        return True

    def _error(self, code: int, details: str, status: int = 400) -> None:
        self._reply(*Fault("error", code=code, details=details, http_status=status)
                    .error_body())

    def _record(self, endpoint: str, outcome: str, **extra: Any) -> None:
        self.server.sandbox.record(endpoint, outcome, **extra, **self.note)

    def _faulted(self, endpoint: str, to: str | None = None, **extra: Any) -> bool:
        """Apply the next fault of this endpoint; True if the request is answered."""
        sandbox = self.server.sandbox
        fault = sandbox.take_fault(endpoint, to)
        if fault is None:
            return False
        if fault.kind == "drop":
            self._record(endpoint, "dropped", **extra)
            self._drop()
            return True
        if fault.kind == "async":  # accepted now, failed by webhook a moment later
            self.note["fails_async"] = fault.code
            self.async_fault = fault
            return False
        if fault.kind == "slow":  # then answer as usual: one record, marked slow
            self.note["slow"] = fault.seconds
            with sandbox.lock:
                sandbox.holding.append(extra.get("message_id"))
            time.sleep(fault.seconds)
            with sandbox.lock:
                sandbox.holding.remove(extra.get("message_id"))
            return False
        self._record(endpoint, f"error:{fault.code}", **extra)
        self._reply(*fault.error_body())
        return True

    # -- the Graph API -------------------------------------------------------------------

    def _graph(self, method: str, parts: list[str], sandbox: Sandbox) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer "):].strip():
            self._error(190, "Invalid OAuth access token: none was given", 401)
            return
        if len(parts) == 2 and method == "POST" and parts[1] in ("messages", "media"):
            if parts[0] != sandbox.phone_number_id:
                self._error(100, f"Unsupported post request. Object with ID '{parts[0]}' "
                                 "does not exist")
            elif parts[1] == "messages":
                self._messages(sandbox)
            else:
                self._upload(sandbox)
        elif len(parts) == 2 and method == "GET" and parts[1] == "message_templates":
            if parts[0] != sandbox.waba_id:
                self._error(100, f"Object with ID '{parts[0]}' does not exist")
            elif not self._faulted("templates"):
                self._record("templates", "ok")
                self._reply(200, {"data": sandbox.templates(), "paging": {"cursors": {
                    "before": "QVFIU", "after": "QVFIU"}}})
        elif len(parts) == 2 and method == "GET" and parts[0] == "lookaside":
            self._download(sandbox, parts[1])
        elif len(parts) == 1 and parts[0].isdigit():
            self._media(method, sandbox, parts[0])
        else:
            self._error(100, f"Unknown path components: /{'/'.join(parts)}")

    def _messages(self, sandbox: Sandbox) -> None:
        payload = self._json()
        if payload.get("status") == "read":
            if self._faulted("read"):
                return
            wamid = payload.get("message_id")
            if not isinstance(wamid, str) or not wamid:
                self._error(100, "The parameter message_id is required.")
                return
            typing = payload.get("typing_indicator")
            if typing is not None and typing != {"type": "text"}:
                self._error(100, 'typing_indicator must be {"type": "text"}.')
                return
            with sandbox.lock:
                (sandbox.typing if typing else sandbox.reads).append(wamid)
            self._record("typing" if typing else "read", "ok", wamid=wamid)
            self._reply(200, {"success": True})
            return
        opaque = payload.get("biz_opaque_callback_data")
        to = str(payload.get("to") or payload.get("recipient") or "").lstrip("+") or None
        if self._faulted("messages", to, message_id=opaque):
            return
        problem = _invalid(payload, sandbox)
        if problem is not None:
            code, details = problem
            self._record("messages", f"error:{code}", message_id=opaque)
            self._error(code, details)
            return
        wamid = sandbox.accept(payload, self.async_fault)
        self._record("messages", "accepted", message_id=opaque, wamid=wamid)
        # As Meta: ``to`` wins over ``recipient``; the answer names the customer the way
        # it was addressed (``wa_id`` for a phone, ``user_id`` for a business-scoped id).
        if payload.get("to"):
            recipient = str(payload["to"])
            contact = {"input": recipient, "wa_id": recipient.lstrip("+")}
        else:
            recipient = str(payload.get("recipient") or "")
            contact = {"input": recipient, "user_id": recipient}
        answer: dict[str, Any] = {"messaging_product": "whatsapp", "contacts": [contact],
                                  "messages": [{"id": wamid}]}
        if payload.get("type") == "template":
            answer["messages"][0]["message_status"] = "accepted"
        self._reply(200, answer)

    def _upload(self, sandbox: Sandbox) -> None:
        if self._faulted("media"):
            return
        fields = parse_multipart(self.body, self.headers.get("Content-Type", ""))
        if "file" not in fields or fields.get("messaging_product", (b"",))[0] != b"whatsapp":
            self._error(100, "The parameters file and messaging_product=whatsapp are required")
            return
        content, filename, declared = fields["file"]
        mime = (fields.get("type", (b"",))[0].decode() or declared or
                "application/octet-stream")
        media_id = sandbox.store_media(content, mime, filename)
        self._record("media", "ok", media_id=media_id, size=len(content))
        self._reply(200, {"id": media_id})

    def _media(self, method: str, sandbox: Sandbox, media_id: str) -> None:
        with sandbox.lock:
            media = sandbox.media.get(media_id)
            if method == "DELETE" and media is not None:
                del sandbox.media[media_id]
        if media is None:
            self._error(100, f"Unsupported get request. Object with ID '{media_id}' does not "
                             "exist", 404 if method == "GET" else 400)
            return
        if method == "DELETE":
            self._reply(200, {"success": True})
            return
        if self._faulted("download"):
            return
        self._reply(200, {"messaging_product": "whatsapp", "id": media_id,
                          "url": f"{sandbox.base_url}/lookaside/{media_id}"
                                 f"?ext={int(time.time()) + 300}",
                          "mime_type": media["mime_type"], "sha256": media["sha256"],
                          "file_size": media["size"]})

    def _download(self, sandbox: Sandbox, media_id: str) -> None:
        with sandbox.lock:
            media = sandbox.media.get(media_id)
        expires = self.query.get("ext", "0")
        if media is None or not expires.isdigit() or int(expires) < time.time():
            self._reply(404, b"Not Found", "text/plain")
            return
        if self._faulted("download"):
            return
        self._reply(200, media["content"], media["mime_type"])

    # -- control -------------------------------------------------------------------------

    def _control(self, method: str, parts: list[str]) -> None:
        sandbox = self.server.sandbox
        name = parts[0] if parts else ""
        if method == "POST" and name == "behaviour":
            try:
                sandbox.configure(self._json())
            except (ValueError, TypeError) as exc:
                self._reply(400, {"error": str(exc)})
                return
            self._reply(200, {"ok": True, "state": sandbox.snapshot()})
        elif method == "POST" and name == "reset":
            sandbox.reset()
            self._reply(200, {"ok": True})
        elif method == "POST" and name == "inbound":
            body = self._json()
            sender = str(body.get("from") or "")
            if not sender:
                self._reply(400, {"error": "from is required"})
                return
            image = {"id": body["media_id"], "mime_type": body.get("mime_type", "image/jpeg")} \
                if body.get("media_id") else None
            wamid = sandbox.customer_says(sender, body.get("name"), body.get("text"),
                                          at=body.get("timestamp"), image=image,
                                          caption=body.get("caption"))
            self._reply(200, {"wamid": wamid})
        elif method == "POST" and name == "customer":
            body = self._json()
            if not body.get("from") or not body.get("name"):
                self._reply(400, {"error": "from and name are required"})
                return
            sandbox.remember(str(body["from"]), str(body["name"]))
            self._reply(200, {"ok": True})
        elif method == "GET" and name in ("messages", "requests", "reads", "typing"):
            with sandbox.lock:
                items = list(getattr(sandbox, name))
            self._reply(200, {name: items})
        elif method == "GET" and name == "state":
            self._reply(200, sandbox.snapshot())
        elif method == "GET" and name == "webhooks":
            self._reply(200, {"bodies": list(sandbox.poster.delivery.bodies)})
        else:
            self._reply(404, {"error": f"no control route {method} /_sandbox/{name}"})


def _invalid(payload: dict[str, Any], sandbox: Sandbox) -> tuple[int, str] | None:
    """Meta's refusal of a malformed send, as (code, details), or None."""
    if payload.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required."
    if not payload.get("to") and not payload.get("recipient"):
        return 100, "The parameter to is required."
    kind = payload.get("type", "text")
    if kind == "text":
        body = (payload.get("text") or {}).get("body")
        if not isinstance(body, str) or not body:
            return 100, "The parameter text['body'] is required."
        if len(body) > 4096:
            return 100, "Param text['body'] must be at most 4096 characters long."
    elif kind in MEDIA_KINDS:
        media = payload.get(kind) or {}
        if not media.get("id") and not media.get("link"):
            return 100, f"The parameter {kind}['id'] is required."
        with sandbox.lock:
            known = media.get("link") or media.get("id") in sandbox.media
        if not known:
            return 131053, f"Media upload error: unknown media id {media.get('id')}"
    elif kind == "template":
        template = payload.get("template") or {}
        language = (template.get("language") or {}).get("code")
        found = [t for t in sandbox.templates() if t["name"] == template.get("name")
                 and t["language"] == language and t["status"] == "APPROVED"]
        if not found:
            return 132001, (f"template name ({template.get('name')}) does not exist in "
                            f"{language}")
        if found[0]["category"] == "AUTHENTICATION" and not payload.get("to"):
            return 131062, ("Authentication templates cannot be sent to a business-scoped "
                            "user ID; send to the phone number instead.")
        return _header_problem(found[0], template.get("components") or [], sandbox)
    else:
        return 100, f"Unsupported message type {kind!r} in the sandbox"
    return None


def _header_problem(template: dict[str, Any], components: list[Any],
                    sandbox: Sandbox) -> tuple[int, str] | None:
    """As Meta: a media header needs its file (an uploaded id or a link) in every send."""
    header = next((c for c in template.get("components", [])
                   if c.get("type") == "HEADER"), None)
    kind = str((header or {}).get("format", "")).lower()
    if kind not in ("image", "video", "document"):
        return None
    sent = next((c for c in components if isinstance(c, dict)
                 and str(c.get("type")).lower() == "header"), {})
    parameters = sent.get("parameters") or [{}]
    media = parameters[0].get(kind) if parameters[0].get("type") == kind else None
    if not isinstance(media, dict):
        return 132012, (f"Parameter format does not match format in the created template: "
                        f"the header needs a {kind}")
    with sandbox.lock:
        known = media.get("link") or media.get("id") in sandbox.media
    if not known:
        return 131053, f"Media upload error: unknown media id {media.get('id')}"
    return None
