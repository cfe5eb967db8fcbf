"""``crm simulate``: a customer writes to a running server, signed like Meta signs it.

So a new user sees a conversation appear without a Meta account::

    crm simulate --from 85291234567 --name "Ana" --text "Hi, is the kayak free on Saturday?"

The webhook goes to ``--url``, else to the server running on this data folder (the URL
``crm serve`` keeps in ``CRM_DATA_DIR/server.json``), else to ``CRM_HOST``/``CRM_PORT``
(read from the environment and ``.env`` as ``crm serve`` reads them); it is signed with
the sandbox's secret from the data folder, never with ``WHATSAPP_APP_SECRET``: the
server accepts it only while it runs against the sandbox, so a production server never
takes a simulated customer for a real one. ``--image FILE`` first uploads the file to
the running sandbox, so the server can fetch it by media id exactly as it would from
Meta; the customer's name goes to the sandbox's control API with its token.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import logging
import mimetypes
import sys
import time
from pathlib import Path

PATH = "/webhook/whatsapp"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("simulate", help="post a customer's message to a running server")
    parser.add_argument("--from", dest="sender", required=True,
                        help="the customer's number, digits only (e.g. 85291234567)")
    parser.add_argument("--name", help="the customer's WhatsApp profile name")
    parser.add_argument("--text", help="what the customer writes")
    parser.add_argument("--image", type=Path, help="an image the customer sends")
    parser.add_argument("--caption", help="the image's caption")
    parser.add_argument("--ago", type=float, default=0.0,
                        help="hours ago the customer wrote (Meta's timestamp)")
    parser.add_argument("--url", help="the server (default: the crm serve running on "
                        f"CRM_DATA_DIR, else http://CRM_HOST:CRM_PORT{PATH})")
    parser.set_defaults(run=run)


def webhook_url(given: str | None, host: str, port: int, data_dir: Path | None = None) -> str:
    from crm.cli import running

    given = given or (running.server_url(data_dir) if data_dir is not None else None)
    if given:
        given = given.rstrip("/")
        return given if given.endswith(PATH) else given + PATH
    return f"http://{running.connect_host(host)}:{port}{PATH}"


def _name_for_sandbox(data_dir: Path, sender: str, name: str) -> None:
    """The sandbox customer's automatic answers keep the name given here (best effort:
    without a running sandbox there are no automatic answers)."""
    import httpx

    from crm.sandbox.launcher import control_headers, running_url

    control = running_url(data_dir, "control")
    if control is not None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{control}/_sandbox/customer", json={"from": sender, "name": name},
                       headers=control_headers(data_dir), timeout=5).raise_for_status()


def _upload(data_dir: Path, image: Path) -> dict[str, str]:
    import httpx

    from crm.sandbox import PHONE_NUMBER_ID
    from crm.sandbox.launcher import running_url
    from crm.whatsapp.graph import SANDBOX_TOKEN

    graph = running_url(data_dir)
    if graph is None:
        raise SystemExit("crm: --image needs the sandbox that crm serve starts without "
                         "WHATSAPP_* settings (or with CRM_SANDBOX=on), and none is running")
    content = image.read_bytes()
    mime = mimetypes.guess_type(image.name)[0] or "image/jpeg"
    answer = httpx.post(f"{graph}/{PHONE_NUMBER_ID}/media",
                        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
                        data={"messaging_product": "whatsapp", "type": mime},
                        files={"file": (image.name, content, mime)}, timeout=30)
    answer.raise_for_status()
    # Webhooks carry the SHA-256 in base64 (GET /{media-id} gives hex).
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    return {"id": str(answer.json()["id"]), "mime_type": mime, "sha256": digest}


def run(args: argparse.Namespace) -> int:
    import httpx

    from crm.config import load_settings
    from crm.sandbox import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID, payloads
    from crm.sandbox.launcher import signing_secret

    if not args.sender.isdigit() or not 8 <= len(args.sender) <= 15:
        print("crm: --from must be a number in international form, digits only",
              file=sys.stderr)
        return 2
    if not args.text and not args.image:
        print("crm: say something: --text and/or --image", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings()
    secret = signing_secret(settings, create=False)
    if secret is None:
        print(f"crm: no sandbox secret in the data folder ({settings.data_dir}): start crm "
              "serve first, against the sandbox (no WHATSAPP_* setting, or CRM_SANDBOX=on)",
              file=sys.stderr)
        return 1
    at = time.time() - args.ago * 3600
    image = _upload(settings.data_dir, args.image) if args.image else None
    message = payloads.inbound_message(args.sender, text=args.text, image=image,
                                       caption=args.caption or (args.text if image else None),
                                       at=at)
    body = payloads.encode(payloads.envelope(
        settings.whatsapp_waba_id or WABA_ID,
        settings.whatsapp_phone_number_id or PHONE_NUMBER_ID, DISPLAY_PHONE_NUMBER,
        {"contacts": [payloads.contact(args.sender, args.name)], "messages": [message]}))
    url = webhook_url(args.url, settings.host, settings.port, settings.data_dir)
    if args.name:
        _name_for_sandbox(settings.data_dir, args.sender, args.name)
    try:
        answer = httpx.post(url, content=body, timeout=10, headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": payloads.sign(secret, body)})
    except httpx.HTTPError as exc:
        print(f"crm: could not reach {url}: {exc}", file=sys.stderr)
        return 1
    if answer.status_code != 200:
        print(f"crm: {url} answered {answer.status_code}: {answer.text[:300]}", file=sys.stderr)
        return 1
    print(f"crm: {args.name or args.sender} wrote to {url} ({message['id']})", file=sys.stderr)
    return 0
