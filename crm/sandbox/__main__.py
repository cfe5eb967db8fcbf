"""``python -m crm.sandbox``: run the sandbox on its own.

``crm serve`` starts it this way when no ``WHATSAPP_*`` setting is present; tests and
benchmarks start it themselves. It prints one JSON line, ``{"url": ...}``, once it is
listening. The webhook secret comes from ``CRM_SANDBOX_SECRET`` and the control API's
token from ``CRM_SANDBOX_CONTROL_TOKEN`` (never the command line, which other users of
the machine can read). With ``--parent PID`` it exits when
that process is gone, so a killed server never leaves a sandbox behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

from crm.sandbox import DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID, WABA_ID
from crm.sandbox.server import SandboxServer
from crm.sandbox.state import Sandbox


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm.sandbox",
                                     description="a local fake of the WhatsApp Graph API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--webhook", help="where to post webhooks (also settable later)")
    parser.add_argument("--phone-number-id", default=PHONE_NUMBER_ID)
    parser.add_argument("--waba-id", default=WABA_ID)
    parser.add_argument("--display-phone-number", default=DISPLAY_PHONE_NUMBER)
    parser.add_argument("--status-delay", type=float, default=0.2)
    parser.add_argument("--no-auto-reply", action="store_true")
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    secret = os.environ.get("CRM_SANDBOX_SECRET", "")
    if not secret:
        print("crm sandbox: CRM_SANDBOX_SECRET (the webhook signing secret) is required",
              file=sys.stderr)
        return 2
    sandbox = Sandbox(secret, args.phone_number_id, args.waba_id, args.display_phone_number)
    sandbox.configure({"webhook_url": args.webhook, "status_delay": args.status_delay,
                       "auto_reply": not args.no_auto_reply})
    token = os.environ.get("CRM_SANDBOX_CONTROL_TOKEN", "")
    if not token:
        print("crm sandbox: CRM_SANDBOX_CONTROL_TOKEN (the control API's token) is required",
              file=sys.stderr)
        return 2
    server = SandboxServer((args.host, args.port), sandbox, token)
    if args.parent:
        threading.Thread(target=_watch_parent, args=(args.parent,), daemon=True).start()
    print(json.dumps({"url": sandbox.base_url}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
